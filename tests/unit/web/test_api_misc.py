"""The API around the data: ``/openapi.json`` describes the API routes (and only those),
errors are ``{"error": {"code", "message"}}``, digests, source health, ``/docs``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.config.models import AppConfig
from earful.store.models import SourceState
from earful.store.users import create_token, revoke_token
from tests.unit.web.api_factories import bearer, store_mentions, token_for
from tests.unit.web.web_factories import T0, login, make_client, make_user


def test_openapi_describes_the_api_and_not_the_pages(sqlite_engine: Engine) -> None:
    headers = bearer(token_for(sqlite_engine, "bot", "analyst"))
    client = make_client(sqlite_engine)
    assert client.get("/openapi.json").status_code == 401  # neither session nor token
    schema = client.get("/openapi.json", headers=headers).json()
    paths = schema["paths"]
    for path in (
        "/api/mentions",
        "/api/mentions/{id}",
        "/api/escalations",
        "/api/escalations/{id}",
        "/api/escalations/{id}/ack",
        "/api/escalations/{id}/resolve",
        "/api/escalations/{id}/dismiss",
        "/api/escalations/{id}/assign",
        "/api/incidents/{id}",
        "/api/digests/{brand}/{day}",
        "/api/sources",
    ):
        assert path in paths, path
    assert all(p.startswith("/api/") for p in paths)  # no /mentions, /login, /ack/...
    assert {"get", "patch"} <= set(paths["/api/mentions/{id}"])
    params = {p["name"] for p in paths["/api/mentions"]["get"]["parameters"]}
    assert {"q", "brand", "source", "sentiment", "status", "tag", "since", "until"} <= params
    assert {"limit", "cursor"} <= params
    assert "MentionList" in schema["components"]["schemas"]
    assert "422" in paths["/api/mentions"]["get"]["responses"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_wrong_revoked_or_missing_tokens_are_401_json(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "bot", "analyst")
    with Session(sqlite_engine) as s, s.begin():
        row, token = create_token(s, name="bot", label="x", now=T0)
        assert row.id is not None
        revoke_token(s, token_id=row.id, now=T0)
    client = make_client(sqlite_engine)
    for headers in (
        {},
        {"Authorization": "Bearer earful_wrong"},
        {"Authorization": "Bearer nonsense"},
        bearer(token),  # revoked
    ):
        answer = client.get("/api/mentions", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["error"]["code"] == "unauthorized"
        assert set(answer.json()["error"]) == {"code", "message"}
        assert answer.headers["www-authenticate"] == "Bearer"


def test_unknown_routes_and_methods_are_json(sqlite_engine: Engine) -> None:
    headers = bearer(token_for(sqlite_engine, "bot", "admin"))
    client = make_client(sqlite_engine)
    missing = client.get("/api/nothing-here", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/mentions", headers=headers)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_digest_json_and_source_health(sqlite_engine: Engine) -> None:
    store_mentions(sqlite_engine, 10)
    config = AppConfig.model_validate(
        {
            "brands": [{"name": "Acme"}],
            "sources": [
                {"name": "feed", "kind": "rss", "url": "https://example.com/feed"},
                {"name": "quiet", "kind": "rss", "url": "https://example.com/q", "enabled": False},
            ],
        }
    )
    with Session(sqlite_engine) as s, s.begin():
        s.add(
            SourceState(
                name="feed",
                kind="rss",
                last_polled_at=T0,
                last_error_at=T0,
                last_error="feed: HTTP 503",
                last_error_reason="http_5xx",
                consecutive_failures=3,
            )
        )
        s.add(SourceState(name="old", kind="hackernews", last_polled_at=T0 - timedelta(days=9)))
    headers = bearer(token_for(sqlite_engine, "bot", "analyst"))
    client = make_client(sqlite_engine, config)
    digest = client.get("/api/digests/Acme/2025-03-11", headers=headers).json()
    assert digest["brand"] == "Acme" and digest["date"] == "2025-03-11"
    assert digest["volume"] == 5 and set(digest["sentiment"]) == {"positive", "neutral", "negative"}
    bad_day = client.get("/api/digests/Acme/yesterday", headers=headers)
    assert bad_day.status_code == 422 and bad_day.json()["error"]["code"] == "validation"

    sources = {s["name"]: s for s in client.get("/api/sources", headers=headers).json()}
    assert list(sources) == ["feed", "quiet", "old"]
    assert sources["feed"]["status"] == "failing" and sources["feed"]["consecutive_failures"] == 3
    assert "HTTP 503" in sources["feed"]["detail"] and sources["feed"]["in_config"] is True
    assert sources["quiet"]["status"] == "disabled" and sources["quiet"]["enabled"] is False
    assert sources["old"]["status"] == "stale" and sources["old"]["in_config"] is False


def test_docs_need_a_session_and_allow_only_swagger(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "ana", "analyst")
    client = make_client(sqlite_engine)
    assert client.get("/docs").status_code == 303  # to /login
    login(client, "ana")
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    policy = docs.headers["content-security-policy"]
    assert "script-src https://cdn.jsdelivr.net 'sha256-" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert client.get("/openapi.json").status_code == 200  # the session reads the schema
