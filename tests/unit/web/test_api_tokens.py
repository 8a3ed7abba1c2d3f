"""API tokens: ``/api/*`` answers a live bearer token as its user; a revoked or unknown one
is 401; a token never opens pages or passes a form's CSRF check."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.store.models import Mention
from earful.store.users import ApiToken, create_token, revoke_token
from tests.unit.web.web_factories import T0, login, make_client, make_user


def test_bearer_token_reads_the_api_until_revoked(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "bot", "analyst")
    with Session(sqlite_engine) as s, s.begin():
        s.add(Mention(source="rss", external_id="1", text="Acme lost my bag", fetched_at=T0))
        row, token = create_token(s, name="bot", label="dashboards", now=T0)
        token_id = row.id
        assert row.token_hash != token and token not in row.token_hash
    client = make_client(sqlite_engine)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/escalations", headers=auth).status_code == 200
    found = client.get("/api/mentions", params={"q": '"lost my bag"'}, headers=auth).json()
    assert [m["text"] for m in found["items"]] == ["Acme lost my bag"]
    bad = client.get("/api/mentions", params={"q": '"open'}, headers=auth)
    assert bad.status_code == 422 and "position" in bad.json()["error"]["message"]
    assert client.get("/mentions", headers=auth).status_code == 303  # pages need a session
    assert (
        client.get("/api/escalations", headers={"Authorization": "Bearer earful_x"}).status_code
        == 401
    )
    with Session(sqlite_engine) as s, s.begin():
        assert token_id is not None
        assert s.get(ApiToken, token_id).last_used_at == T0  # type: ignore[union-attr]
        revoke_token(s, token_id=token_id, now=T0)
    assert client.get("/api/escalations", headers=auth).status_code == 401


def test_api_needs_a_session_or_token(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "ana", "analyst")
    client = make_client(sqlite_engine)
    assert client.get("/api/mentions").status_code == 401
    login(client, "ana")
    assert client.get("/api/mentions").json() == {"items": [], "next": None}
