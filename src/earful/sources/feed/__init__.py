"""RSS, Atom and JSON Feed: ``connector`` (parse/fetch for kind ``rss``) over a fast
reader (``fast``, ``fast_atom``) with feedparser as the fallback for what it cannot read."""
