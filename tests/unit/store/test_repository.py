"""Storage: idempotent upserts, stories across sources, brand links, snapshots, source health."""

from __future__ import annotations

import random
import sqlite3
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from earful.errors import SourceGoneError, TransientSourceError
from earful.mention import Engagement, RawMention
from earful.store import mentions as mention_store
from earful.store import repository as repo
from earful.store.models import EngagementSnapshot, Mention, MentionBrand, SourceState, Story

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


@dataclass
class Score:
    neg: float = 0.5
    neu: float = 0.5
    pos: float = 0.0
    compound: float = -0.6
    label: str = "negative"
    raw_compound: float = -0.5


def raw(
    ext: str,
    *,
    source: str = "rss",
    url: str | None = None,
    likes: int | None = None,
    text: str = "Acme broke my order",
) -> RawMention:
    return RawMention(
        source=source,
        external_id=ext,
        url=url or f"https://example.com/{ext}",
        text=text,
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
        engagement=Engagement(likes=likes),
    )


def scored(r: RawMention, *brands: str) -> repo.ScoredMention:
    hits = [repo.BrandHit(b, b == "Globex") for b in (brands or ("Acme",))]
    return repo.ScoredMention(r, hits, Score(), "feed-1")


def count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.COM/a/?utm_source=x&id=3#frag", "https://example.com/a?id=3"),
        ("https://example.com/a/?fbclid=1&gclid=2", "https://example.com/a"),
        ("http://example.com:80/x/", "http://example.com/x"),
        ("mailto:someone@example.com", None),
        (None, None),
    ],
)
def test_canonical_url(url: str | None, expected: str | None) -> None:
    assert repo.canonical_url(url) == expected


def test_upsert_is_idempotent_and_keeps_latest_engagement(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s, s.begin():
        first = repo.upsert_mentions(s, [scored(raw("1", likes=1)), scored(raw("2"))], now=NOW)
    assert len(first.new_ids) == 2 and first.updated_ids == []
    with Session(sqlite_engine) as s, s.begin():
        again = repo.upsert_mentions(
            s, [scored(raw("1", likes=7)), scored(raw("2"))], now=NOW + timedelta(hours=1)
        )
    assert again.new_ids == [] and sorted(again.updated_ids) == sorted(first.new_ids)
    with Session(sqlite_engine) as s:
        assert count(s, Mention) == 2
        m1 = s.exec(select(Mention).where(Mention.external_id == "1")).one()
        assert m1.likes == 7
        assert m1.sentiment_label == "negative" and m1.raw_compound == -0.5
        assert count(s, MentionBrand) == 2
        # first sight only: one snapshot (mention 1 had counts), none for mention 2
        assert count(s, EngagementSnapshot) == 1


def test_same_url_from_two_sources_is_one_story(sqlite_engine: Engine) -> None:
    a = raw("a1", source="rss", url="https://news.example.com/story?utm_medium=rss")
    b = raw("b1", source="hackernews", url="https://NEWS.example.com/story/#comments")
    with Session(sqlite_engine) as s, s.begin():
        repo.upsert_mentions(s, [scored(a), scored(b, "Acme", "Globex")], now=NOW)
    with Session(sqlite_engine) as s:
        assert count(s, Story) == 1
        story_ids = set(s.exec(select(Mention.story_id)).all())
        assert len(story_ids) == 1 and None not in story_ids
        links = s.exec(select(MentionBrand).where(MentionBrand.brand == "Globex")).all()
        assert [link.is_competitor for link in links] == [True]


def test_duplicates_inside_one_call_are_stored_once(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s, s.begin():
        rep = repo.upsert_mentions(
            s, [scored(raw("1", likes=1)), scored(raw("1", likes=2))], now=NOW
        )
    assert len(rep.new_ids) == 1
    with Session(sqlite_engine) as s:
        assert s.exec(select(Mention.likes)).all() == [2]


def test_hostile_text_is_stored_as_text(sqlite_engine: Engine) -> None:
    body = "<script>alert(1)</script>\x00 Acme " + "x" * 1_000_000 + "\ud800"
    with Session(sqlite_engine) as s, s.begin():
        repo.upsert_mentions(s, [scored(raw("h", text=body))], now=NOW)
    with Session(sqlite_engine) as s:
        text = s.exec(select(Mention.text)).one()
    assert text.startswith("<script>alert(1)</script>\ufffd Acme")
    assert len(text) > 1_000_000


def test_long_external_ids_stay_distinct(sqlite_engine: Engine) -> None:
    a, b = "x" * 600 + "a", "x" * 600 + "b"
    with Session(sqlite_engine) as s, s.begin():
        rep = repo.upsert_mentions(s, [scored(raw(a)), scored(raw(b))], now=NOW)
    assert len(rep.new_ids) == 2


def test_poll_ok_and_failure_backoff(sqlite_engine: Engine) -> None:
    interval = timedelta(minutes=10)
    with Session(sqlite_engine) as s, s.begin():
        st = repo.record_poll_ok(
            s, name="f", kind="rss", now=NOW, interval=interval, etag='"v1"', item_count=3
        )
        assert st.next_poll_at == NOW + interval and st.last_nonempty_at == NOW
    delays = []
    for i in range(1, 4):
        with Session(sqlite_engine) as s, s.begin():
            st = repo.record_poll_failure(
                s,
                name="f",
                kind="rss",
                now=NOW,
                interval=interval,
                error=TransientSourceError("boom", reason="http_500"),
            )
            assert st.consecutive_failures == i
            delays.append(st.next_poll_at - NOW)  # type: ignore[operator]
    assert delays == [interval, 2 * interval, 4 * interval]
    with Session(sqlite_engine) as s, s.begin():
        st = repo.record_poll_ok(
            s, name="f", kind="rss", now=NOW, interval=interval, not_modified=True
        )
        assert st.consecutive_failures == 0 and st.etag == '"v1"'
        assert st.last_error == "boom" and st.last_error_reason == "http_500"


def test_retry_after_is_honoured() -> None:
    assert repo.backoff_delay(timedelta(minutes=1), 1, 3600) == timedelta(hours=1)
    assert repo.backoff_delay(timedelta(minutes=1), 30, None) == timedelta(hours=6)


def test_gone_disables_and_enable_restores(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s, s.begin():
        st = repo.record_poll_failure(
            s,
            name="g",
            kind="rss",
            now=NOW,
            interval=timedelta(minutes=5),
            error=SourceGoneError("HTTP 410 Gone", reason="http_410", permanent=True),
        )
        assert not st.enabled and "410" in (st.disabled_reason or "")
    with Session(sqlite_engine) as s, s.begin():
        assert repo.enable_source(s, name="g")
    with Session(sqlite_engine) as s:
        st2 = s.exec(select(SourceState).where(SourceState.name == "g")).one()
        assert st2.enabled and st2.disabled_reason is None


def test_claim_source_is_exclusive_until_the_lease_expires(sqlite_engine: Engine) -> None:
    lease = timedelta(minutes=5)
    with Session(sqlite_engine) as s, s.begin():
        repo.get_or_create_source_state(s, name="c", kind="rss")
        assert repo.claim_source(s, "c", owner="a", now=NOW, lease=lease)
    with Session(sqlite_engine) as s, s.begin():
        assert not repo.claim_source(s, "c", owner="b", now=NOW + timedelta(minutes=1), lease=lease)
    with Session(sqlite_engine) as s, s.begin():
        assert repo.claim_source(s, "c", owner="b", now=NOW + timedelta(minutes=6), lease=lease)
    with Session(sqlite_engine) as s, s.begin():
        repo.release_source(s, "c", owner="b")
        assert repo.claim_source(s, "c", owner="a", now=NOW + timedelta(minutes=7), lease=lease)


def test_list_mentions_filters(sqlite_engine: Engine) -> None:
    items = [
        scored(raw("1", text="Acme is awful 100% of the time")),
        scored(raw("2", source="hackernews", text="Globex shipped"), "Globex"),
    ]
    with Session(sqlite_engine) as s, s.begin():
        repo.upsert_mentions(s, items, now=NOW)
    with Session(sqlite_engine) as s:
        assert [r.mention.external_id for r in repo.list_mentions(s, brand="acme")] == ["1"]
        assert [r.brands for r in repo.list_mentions(s, source="hackernews")] == [["Globex"]]
        assert len(repo.list_mentions(s, source="feed-1")) == 2
        assert [r.mention.external_id for r in repo.list_mentions(s, search="100%")] == ["1"]
        assert repo.list_mentions(s, search="1_0") == []
        assert len(repo.list_mentions(s, sentiment="negative", limit=1)) == 1
        assert repo.list_mentions(s, since=NOW) == []


def test_canonical_url_shortcut_equals_the_parsed_path() -> None:
    # canonical_url takes a regex shortcut for plain http(s)://host/path URLs; it must give what
    # the urlsplit path gives on every URL, plain or not.
    rng = random.Random(5)
    pieces = [
        "http",
        "https",
        "HTTPS",
        "ftp",
        "://",
        ":/",
        "//",
        "/",
        "a",
        "B",
        "ex",
        "-",
        ".",
        "@",
        ":",
        "80",
        "443",
        "8080",
        "?",
        "#",
        "&",
        "=",
        "utm_x",
        "id",
        "%20",
        " ",
        "\t",
        "\n",
        "\\",
        "[",
        "]",
        "é",
        "K",
        "ſ",
        "~",
        "!",
        "$",
        "'",
        "(",
        ")",
        "*",
        "+",
        ",",
        ";",
        "_",
        "<",
        '"',
        "\x00",
        "\x7f",
        "com",
        "www",
        "..",
        "0",
    ]
    urls = [
        "https://bench.example.com/p/g1",
        "HTTP://Example.COM/A/B/",
        "https://example.com",
        "https://example.com/",
        "https://example.com//",
        "https://example.com//x//",
        "https://exa_mple.com/x",
        "https://example.com./x",
        "https://-a.com/x",
        "https://a-.com/x",
        "https://ex\u212aample.com/x",
        "https://example.com/\u00e9",
        "https://example.com/a b",
        "https://example.com/a\\b",
        "https://example.com/a;b=c/@x",
        " https://example.com/x",
    ]
    for _ in range(20_000):
        tail = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        urls.append(rng.choice(["https://", "http://", "HTTP://a", ""]) + tail)
    near_plain = string.ascii_letters + string.digits + ".-/_~!$&'()*+,;=:@%?#[]\\ é"
    for _ in range(20_000):
        host = "".join(rng.choice(string.ascii_letters + string.digits + ".-") for _ in range(6))
        path = "".join(rng.choice(near_plain) for _ in range(rng.randint(0, 10)))
        urls.append(f"{rng.choice(['http', 'HTTPS'])}://{host}/{path}")
    plain = sum(mention_store._PLAIN_URL.fullmatch(u) is not None for u in urls)
    assert plain > 5_000  # the shortcut is exercised, not just the general path
    for url in urls:
        assert repo.canonical_url(url) == mention_store._canonical_url_parsed(url), url


def _all_rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    tables = ("story", "mention", "mention_brand", "engagement_snapshot")
    with engine.connect() as conn:
        return {
            t: [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in tables
        }


def test_sqlite_driver_path_stores_what_sqlalchemy_stores(tmp_path: Path) -> None:
    # upsert_mentions writes through the sqlite3 driver on SQLite; fast=False forces the
    # SQLAlchemy Core statements used on PostgreSQL. Both must leave identical tables.
    def batch(round_: int) -> list[repo.ScoredMention]:
        out = []
        for i in range(40):
            r = raw(
                f"{i % 30}",
                source="rss" if i % 3 else "hackernews",
                url=None if i % 7 == 0 else f"https://Ex.com/{i % 5}/?utm_source=x&q={i % 4}",
                likes=None if i % 2 else i + round_,
                text=f"Acme\x00 {'x' * i} \ud800 {round_}",
            )
            r.rating = 4 if i % 4 == 0 else None
            r.author_followers = i * 10 if i % 5 == 0 else None
            out.append(scored(r, "Acme", "Globex") if i % 3 == 0 else scored(r))
        return out

    tables = []
    reports = []
    for fast in (True, False):
        from earful.store.db import init_db, make_engine

        engine = make_engine(f"sqlite:///{tmp_path / f'{fast}.db'}")
        init_db(engine)
        for round_ in range(2):
            with Session(engine) as s, s.begin():
                rep = repo.upsert_mentions(
                    s, batch(round_), now=NOW + timedelta(hours=round_), fast=fast
                )
                reports.append((sorted(rep.new_ids), sorted(rep.updated_ids), rep.ids))
        tables.append(_all_rows(engine))
        engine.dispose()
    assert tables[0]["mention"] and tables[0]["engagement_snapshot"]
    assert tables[0] == tables[1]
    assert reports[:2] == reports[2:]


def test_a_locked_database_is_reported_like_sqlalchemy_reports_it(tmp_path: Path) -> None:
    # The driver-level path maps sqlite3 errors to SQLAlchemy's, so run_in_transaction still
    # retries "database is locked" and then raises StorageError (not a bare sqlite3 error).
    from sqlalchemy import create_engine

    from earful.errors import StorageError
    from earful.store.db import init_db, run_in_transaction

    path = tmp_path / "locked.db"
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    init_db(engine)
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError, match="database is locked") as info:
            run_in_transaction(
                engine,
                lambda s: repo.upsert_mentions(s, [scored(raw("1"))], now=NOW),
                attempts=2,
                pause_s=0.01,
            )
        assert isinstance(info.value.__cause__, OperationalError)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()


def test_driver_level_writes_roll_back_with_the_callers_transaction(
    sqlite_engine: Engine,
) -> None:
    with pytest.raises(RuntimeError), Session(sqlite_engine) as s, s.begin():
        repo.upsert_mentions(s, [scored(raw("1", likes=3))], now=NOW)
        assert count(s, Mention) == 1  # visible inside the transaction
        raise RuntimeError("the caller fails after the write")
    with Session(sqlite_engine) as s:
        assert count(s, Mention) == 0 and count(s, Story) == 0
        assert count(s, MentionBrand) == 0 and count(s, EngagementSnapshot) == 0
