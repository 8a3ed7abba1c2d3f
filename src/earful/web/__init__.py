"""``earful web``: the FastAPI app (``app.create_app``) — acknowledge links, digests."""
