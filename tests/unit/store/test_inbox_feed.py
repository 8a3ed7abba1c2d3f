"""``feed_mentions``: keyset pages in (published_at desc nulls last, id desc) order; with ``q``
a page stops scanning at ``scan_cap`` and the next page goes on from there, so nothing is
skipped however rare the matches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.store.inbox import FeedKey, MentionFilter, feed_mentions
from earful.store.models import Mention

T0 = datetime(2025, 3, 11, 14, 0, 0, 123456, tzinfo=UTC)


def _store(engine: Engine, n: int) -> dict[int, int]:
    rows = {}
    with Session(engine) as s, s.begin():
        for i in range(n):
            when = None if i % 9 == 8 else T0 - timedelta(microseconds=i // 3)
            text = "the gate ate my bag" if i % 10 == 0 else "all fine"
            rows[i] = Mention(
                source="rss", external_id=str(i), text=text, published_at=when, fetched_at=T0
            )
        s.add_all(rows.values())
        s.flush()
        return {i: m.id for i, m in rows.items() if m.id is not None}


def _walk(engine: Engine, f: MentionFilter, **kw: int) -> list[list[int]]:
    pages: list[list[int]] = []
    after: FeedKey | None = None
    with Session(engine) as s:
        while True:
            page = feed_mentions(s, f, after=after, **kw)
            pages.append([r.mention.id for r in page.rows if r.mention.id is not None])
            if page.next is None:
                return pages
            after = page.next
            assert len(pages) < 500


def test_pages_cover_everything_once_in_feed_order(sqlite_engine: Engine) -> None:
    ids = _store(sqlite_engine, 50)
    pages = _walk(sqlite_engine, MentionFilter(), limit=7)
    seen = [i for p in pages for i in p]
    assert len(seen) == len(set(seen)) == 50 and set(seen) == set(ids.values())
    # Newest first (three share each microsecond: ties by id desc), undated last by id desc.
    dated = sorted((i for i in ids if i % 9 != 8), key=lambda i: (i // 3, -ids[i]))
    assert seen[: len(dated)] == [ids[i] for i in dated]
    assert seen[len(dated) :] == sorted((ids[i] for i in ids if i % 9 == 8), reverse=True)
    assert [len(p) for p in pages] == [7] * 7 + [1]


def test_a_rare_q_is_scanned_in_capped_steps_without_gaps(sqlite_engine: Engine) -> None:
    ids = _store(sqlite_engine, 50)
    f = MentionFilter(q='"ate my bag"')
    pages = _walk(sqlite_engine, f, limit=2, scan_cap=6)
    seen = [i for p in pages for i in p]
    assert sorted(seen) == sorted(ids[i] for i in ids if i % 10 == 0)
    assert len(seen) == len(set(seen))
    assert [] in pages  # some pages only scanned (and said where to go on)
    assert _walk(sqlite_engine, MentionFilter(q="nowhere"), limit=5, scan_cap=1000) == [[]]
