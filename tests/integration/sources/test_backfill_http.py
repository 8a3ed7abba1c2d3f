"""``earful sources backfill`` against real HTTP servers on 127.0.0.1.

The servers emulate the search APIs (Hacker News Algolia ``search_by_date`` with
``numericFilters``/``page``; Stack Exchange ``search/advanced`` with ``fromdate``/``todate``/
``page``) over a history made from the *recorded* bodies in ../shared/fixtures/real: each
recorded hit/item is the template of several, with its id, time (and SE link) changed, one
every six hours (Mastodon: statuses of the recorded public timeline, ``max_id`` paging). The
command runs through the real entry point, in a fresh interpreter.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, func, select

from earful.demo.local_server import LocalServer, send_body
from earful.sources.mastodon import snowflake_at
from earful.store.backfill import BackfillProgress
from earful.store.models import Mention
from tests.conftest import fixture_bytes, run_earful

pytestmark = pytest.mark.integration

NEWEST = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
STEP = timedelta(hours=6)
HN_HITS = 25  # one every 6 h back from NEWEST
SE_ITEMS = 12


@dataclass
class Api:
    """One emulated API: what it answers and what it was asked."""

    answer: Callable[[dict[str, str]], Any]
    path: str
    requests: list[dict[str, str]] = field(default_factory=list)
    fail: Callable[[dict[str, str]], bool] = lambda q: False
    base: str = ""

    def pages_asked(self) -> list[str]:
        return [q.get("page", "?") for q in self.requests]


class ApiServer(LocalServer):
    """``api`` on 127.0.0.1: its answers as JSON, a 500 where it says to fail."""

    def __init__(self, api: Api) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                api.requests.append(query)
                if url.path != api.path:
                    status, body = 404, b"{}"
                elif api.fail(query):
                    status, body = 500, b'{"message": "internal error"}'
                else:
                    status, body = 200, json.dumps(api.answer(query)).encode()
                send_body(self, status, body, "application/json")

            def log_message(self, format: str, *args: object) -> None:
                return

        self._serve(Handler)


def serve(api: Api) -> Iterator[Api]:
    with ApiServer(api) as server:
        api.base = server.base_url
        yield api


def hn_history() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The recorded response frame, and HN_HITS hits made from the recorded story and comment."""
    frame = json.loads(fixture_bytes("hn_algolia", "search_story_theoretical_biologist.json"))
    comment = json.loads(
        fixture_bytes("hn_algolia", "search_comment_query_java_page1_truncated.json")
    )
    templates = [*frame["hits"], *comment["hits"]]
    hits = []
    for i in range(HN_HITS):
        hit = copy.deepcopy(templates[i % len(templates)])
        when = NEWEST - i * STEP
        hit["objectID"] = str(40_000_000 + i)
        hit["created_at_i"] = int(when.timestamp())
        hit["created_at"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        hits.append(hit)
    return frame, hits


def algolia(frame: dict[str, Any], hits: list[dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def answer(q: dict[str, str]) -> dict[str, Any]:
        per_page, page = int(q.get("hitsPerPage", 20)), int(q.get("page", 0))
        found = hits
        for cond in filter(None, q.get("numericFilters", "").split(",")):
            if cond.startswith("created_at_i>="):
                low = int(cond.split(">=")[1])
                found = [h for h in found if h["created_at_i"] >= low]
            elif cond.startswith("created_at_i<"):
                high = int(cond.split("<")[1])
                found = [h for h in found if h["created_at_i"] < high]
        found = sorted(found, key=lambda h: -h["created_at_i"])
        body = {k: v for k, v in frame.items() if k != "hits"}
        body.update(
            hits=found[page * per_page : (page + 1) * per_page],
            nbHits=len(found),
            nbPages=-(-len(found) // per_page),
            page=page,
            hitsPerPage=per_page,
        )
        return body

    return answer


@pytest.fixture
def hn_api() -> Iterator[Api]:
    frame, hits = hn_history()
    yield from serve(Api(answer=algolia(frame, hits), path="/api/v1/search_by_date"))


def se_history() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    frame = json.loads(fixture_bytes("stackexchange", "search_java_withbody_total.json"))
    items = []
    for i in range(SE_ITEMS):
        item = copy.deepcopy(frame["items"][i % len(frame["items"])])
        qid = 60_000_000 + i
        item["question_id"] = qid
        item["creation_date"] = item["last_activity_date"] = int((NEWEST - i * STEP).timestamp())
        item["link"] = f"https://stackoverflow.com/questions/{qid}/backfilled-{i}"
        items.append(item)
    return frame, items


@pytest.fixture
def se_api() -> Iterator[Api]:
    frame, items = se_history()
    quota = {"left": 300}

    def answer(q: dict[str, str]) -> dict[str, Any]:
        size, page = int(q.get("pagesize", 30)), int(q.get("page", 1))
        found = [i for i in items if i["creation_date"] >= int(q.get("fromdate", 0))]
        if "todate" in q:
            found = [i for i in found if i["creation_date"] <= int(q["todate"])]
        found.sort(key=lambda i: -i["creation_date"])
        quota["left"] -= 1
        return {
            **{k: v for k, v in frame.items() if k != "items"},
            "items": found[(page - 1) * size : page * size],
            "has_more": page * size < len(found),
            "quota_remaining": quota["left"],
            "total": len(found),
        }

    yield from serve(Api(answer=answer, path="/2.3/search/advanced"))


def mastodon_history() -> list[dict[str, Any]]:
    """12 statuses made from the recorded public timeline, ids as real snowflakes of their
    times (so ``max_id`` paging orders them as a server would)."""
    recorded = json.loads(
        fixture_bytes("mastodon", "mastodonpy_test_public_tl_anonymous__timelines_public.json")
    )
    statuses = []
    for i in range(12):
        status = copy.deepcopy(recorded[i % len(recorded)])
        when = NEWEST - i * STEP
        status["id"] = str(int(snowflake_at(when)) + 7)
        status["created_at"] = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        status["url"] = f"https://mastodon.test/@someone/{status['id']}"
        status["uri"] = f"https://mastodon.test/users/someone/statuses/{status['id']}"
        status["reblog"] = None
        statuses.append(status)
    return statuses


@pytest.fixture
def mastodon_api() -> Iterator[Api]:
    statuses = mastodon_history()

    def answer(q: dict[str, str]) -> Any:
        found = sorted(statuses, key=lambda s: -int(s["id"]))
        if "max_id" in q:
            found = [s for s in found if int(s["id"]) < int(q["max_id"])]
        return found[: int(q.get("limit", 20))]

    yield from serve(Api(answer=answer, path="/api/v1/timelines/tag/acme"))


def write_config(tmp_path: Path, sources: str) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "brands.yaml").write_text("brands:\n  - name: Acme\n    queries: ['acme']\n")
    (config / "sources.yaml").write_text("sources:\n" + sources)
    return config


ENV = {
    "PATH": "/usr/bin:/bin",
    "COLUMNS": "200",
    "EARFUL_MAX_RETRIES": "1",
    "EARFUL_HOST_MIN_INTERVAL_S": "0",
}


def earful(config: Path, db: str, *args: str) -> Any:
    return run_earful("--config", str(config), "--db", db, "sources", "backfill", *args, env=ENV)


def stored(db: str, source: str) -> int:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            query = select(func.count()).select_from(Mention).where(Mention.source == source)  # type: ignore[arg-type]
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def progress_rows(db: str) -> list[Any]:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(BackfillProgress)).all())  # type: ignore[call-overload]
    finally:
        engine.dispose()


def test_hackernews_backfill_pages_back_resumes_after_failure_and_stores_once(
    tmp_path: Path, hn_api: Api
) -> None:
    config = write_config(
        tmp_path,
        f"  - name: hn\n    kind: hackernews\n    url: {hn_api.base}/api/v1\n"
        "    about: Acme\n    params: {query: acme, hits_per_page: 5}\n",
    )
    db = f"sqlite:///{tmp_path / 'e.db'}"
    # 20 of the 25 hits are at or after --since: 4 pages of 5, the last ones older are not read.
    since = NEWEST - 19 * STEP
    failing = {"on": True}
    hn_api.fail = lambda q: failing["on"] and q.get("page") == "2"

    first = earful(config, db, "hn", "--since", since.isoformat())
    assert first.returncode == 1, first.stderr
    assert "backfill stopped at page 3" in first.stderr
    assert "run the same command again to resume at page 3" in first.stderr
    assert "HTTP 500" in first.stderr
    assert stored(db, "hackernews") == 10
    assert hn_api.pages_asked() == ["0", "1", "2", "2"]  # page 3 retried once, then given up
    filters = {q["numericFilters"] for q in hn_api.requests}
    [window] = filters  # one window for every page: since, and the moment the backfill began
    assert window.startswith(f"created_at_i>={int(since.timestamp())},created_at_i<")

    failing["on"] = False
    hn_api.requests.clear()
    second = earful(config, db, "hn", "--since", since.isoformat(), "--json")
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert hn_api.pages_asked() == ["2", "3"]  # resumed at page 3: pages 1-2 never asked again
    assert {q["numericFilters"] for q in hn_api.requests} == filters  # the same window
    assert summary["resumed_at_page"] == 3 and summary["done"] is True
    assert summary["pages"] == 2 and summary["pages_total"] == 4
    assert summary["new"] == 10 and summary["oldest"] == since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert stored(db, "hackernews") == 20

    hn_api.requests.clear()
    third = earful(config, db, "hn", "--since", since.isoformat())
    assert third.returncode == 0, third.stderr
    assert "already complete" in third.stdout and hn_api.requests == []

    again = earful(config, db, "hn", "--since", since.isoformat(), "--restart", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["new"] == 0 and json.loads(again.stdout)["fetched"] == 20
    assert stored(db, "hackernews") == 20
    [row] = progress_rows(db)
    assert row.done and row.pages == 4 and row.source == "hn"


def test_stackexchange_backfill_over_a_window_then_nothing_new(tmp_path: Path, se_api: Api) -> None:
    config = write_config(
        tmp_path,
        f"  - name: so\n    kind: stackexchange\n    url: {se_api.base}/2.3\n"
        "    about: Acme\n    params: {q: acme, pagesize: 4}\n",
    )
    db = f"sqlite:///{tmp_path / 'e.db'}"
    since, until = NEWEST - 10 * STEP, NEWEST - STEP  # items 2..10 (until exclusive)
    result = earful(
        config, db, "so", "--since", since.isoformat(), "--until", until.isoformat(), "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["pages"] == 3 and summary["new"] == 9 and summary["done"]
    assert se_api.pages_asked() == ["1", "2", "3"]
    assert {q["fromdate"] for q in se_api.requests} == {str(int(since.timestamp()))}
    assert {q["todate"] for q in se_api.requests} == {str(int(until.timestamp()) - 1)}
    assert stored(db, "stackexchange") == 9

    again = earful(
        config, db, "so", "--since", since.isoformat(), "--until", until.isoformat(), "--restart"
    )
    assert again.returncode == 0, again.stderr
    assert stored(db, "stackexchange") == 9


def test_a_kind_that_cannot_search_the_past_exits_2(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "  - name: blog\n    kind: rss\n    url: http://127.0.0.1:9/feed.xml\n"
    )
    result = earful(config, f"sqlite:///{tmp_path / 'e.db'}", "blog", "--since", "2025-01-01")
    assert result.returncode == 2
    assert "blog: kind 'rss' cannot search the past" in result.stderr
    assert "bluesky, github, hackernews, lemmy, mastodon, stackexchange, youtube" in result.stderr


def test_mastodon_backfill_pages_with_max_id_to_since(tmp_path: Path, mastodon_api: Api) -> None:
    config = write_config(
        tmp_path,
        "  - name: toots\n    kind: mastodon\n    about: Acme\n"
        f"    params: {{instances: ['{mastodon_api.base}'], hashtags: [acme], limit: 4}}\n",
    )
    db = f"sqlite:///{tmp_path / 'e.db'}"
    since, until = NEWEST - 9 * STEP, NEWEST - STEP  # statuses 2..9: until is exclusive
    result = earful(
        config, db, "toots", "--since", since.isoformat(), "--until", until.isoformat(), "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    # pages [2-5] [6-9] [10-11]: the third is short, so the timeline is done; 10-11 are older
    assert summary["done"] and summary["new"] == 8 and summary["outside_window"] == 2
    max_ids = [q.get("max_id") for q in mastodon_api.requests]
    assert max_ids[0] == str(int(snowflake_at(until)))  # --until as a snowflake id
    assert len(max_ids) == 3 and len(set(max_ids)) == 3  # each page below the one before
    assert stored(db, "mastodon") == 8
