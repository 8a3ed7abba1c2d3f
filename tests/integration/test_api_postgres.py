"""``/api/mentions`` keyset paging on a real PostgreSQL server: a token from ``earful tokens
create`` lists every one of 1,234 mentions once (microsecond ties, undated rows, rows arriving
mid-paging), and ``q=`` selects what the query language says."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.store.models import Mention
from tests.unit.web.api_factories import bearer, cli_token, store_mentions
from tests.unit.web.test_api_mentions import ids_of, walk
from tests.unit.web.web_factories import T0, make_client

pytestmark = pytest.mark.integration


def test_keyset_paging_on_postgres(pg_url: str, pg_engine: Engine) -> None:
    stored = store_mentions(pg_engine, 1200)
    with Session(pg_engine) as s, s.begin():  # ties at microsecond precision
        tied = [
            Mention(
                source="rss",
                external_id=f"tie{n}",
                text="Acme tie",
                published_at=T0 - timedelta(microseconds=1 + n // 5),
                fetched_at=T0,
            )
            for n in range(34)
        ]
        s.add_all(tied)
        s.flush()
        tied_ids = {m.id for m in tied}
    token = cli_token(pg_url, pg_engine, "bot", "analyst")
    client = make_client(pg_engine)
    headers = bearer(token)

    first = client.get("/api/mentions", params={"limit": 100}, headers=headers).json()
    with Session(pg_engine) as s, s.begin():  # arrivals while the client pages
        s.add(Mention(source="rss", external_id="late1", published_at=T0, fetched_at=T0))
        s.add(Mention(source="rss", external_id="late2", fetched_at=T0))
    late = store_mentions(pg_engine, 30, start=5000)
    rest = walk(client, headers, limit=100, cursor=first["next"])
    seen = [m["id"] for m in first["items"]] + ids_of(rest)
    assert len(seen) == len(set(seen))
    expected = set(stored.values()) | tied_ids
    assert expected <= set(seen)

    bags = walk(client, headers, q='"lost my bag" -refund', limit=100)
    everything = {**stored, **late}
    assert set(ids_of(bags)) == {everything[i] for i in everything if i % 3 == 0 and i % 5 != 0}
