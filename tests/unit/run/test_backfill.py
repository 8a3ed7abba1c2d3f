"""``run.backfill.backfill_source`` over httpx.MockTransport: the window filter, the API's
backoff and quota, the loop guard, and what a kind without ``backfill_page`` gets."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.models import AppConfig, SourceConfig
from earful.errors import ConfigError
from earful.pipeline import build_context
from earful.run.backfill import backfill_source
from earful.settings import Settings
from earful.sources.base import BackfillWindow
from earful.sources.http import make_client
from earful.store.backfill import BackfillProgress

T0 = datetime(2025, 3, 1, tzinfo=UTC)
WINDOW = BackfillWindow(since=T0 - timedelta(days=10), until=T0)


def config(source: dict[str, Any]) -> AppConfig:
    return AppConfig.model_validate(
        {"brands": [{"name": "Acme", "queries": ["acme"]}], "sources": [source]}
    )


def se_item(qid: int, when: datetime) -> dict[str, Any]:
    return {
        "question_id": qid,
        "link": f"https://stackoverflow.com/questions/{qid}/q",
        "title": f"acme question {qid}",
        "body": "<p>acme broke</p>",
        "creation_date": int(when.timestamp()),
        "owner": {"display_name": "someone"},
        "score": 0,
        "answer_count": 0,
        "view_count": 1,
    }


def run(
    engine: Engine, source: dict[str, Any], answer: Callable[[httpx.Request], httpx.Response]
) -> tuple[Any, list[float]]:
    cfg = config(source)
    sleeps: list[float] = []
    http = make_client(
        Settings(max_retries=0),
        transport=httpx.MockTransport(answer),
        host_min_interval_s=0,
        sleep=sleeps.append,
    )
    with http:
        report = backfill_source(
            engine,
            http,
            cfg.sources[0],
            build_context(cfg, SimulatedClock(T0)),
            window=WINDOW,
            sleep=sleeps.append,
        )
    return report, sleeps


SE = {"name": "so", "kind": "stackexchange", "params": {"q": "acme", "pagesize": 2}}


def test_items_outside_the_window_are_left_out_and_backoff_is_obeyed(
    sqlite_engine: Engine,
) -> None:
    pages = {
        "1": {
            "items": [se_item(1, T0 + timedelta(hours=1)), se_item(2, T0 - timedelta(days=1))],
            "has_more": True,
            "backoff": 7,
            "quota_remaining": 100,
        },
        "2": {"items": [se_item(3, T0 - timedelta(days=2))], "has_more": False},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params["page"]])

    report, sleeps = run(sqlite_engine, SE, answer)
    assert report.done and report.error is None
    assert report.pages == 2 and report.new == 2 and report.outside_window == 1
    assert sleeps == [7.0]  # the API's backoff between page 1 and 2
    assert report.oldest == T0 - timedelta(days=2)


def test_a_used_up_quota_stops_resumably(sqlite_engine: Engine) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"items": [se_item(1, T0 - timedelta(days=1))] * 2, "has_more": True}
        return httpx.Response(200, json=body | {"quota_remaining": 0})

    report, _ = run(sqlite_engine, SE, answer)
    assert report.reason == "quota" and not report.done and report.pages == 1
    with Session(sqlite_engine) as session:
        [row] = session.exec(select(BackfillProgress)).all()
    assert json.loads(row.cursor or "") == {"page": 2} and not row.done


def test_the_same_cursor_twice_stops_instead_of_looping(sqlite_engine: Engine) -> None:
    when = (T0 - timedelta(days=1)).isoformat()
    statuses = [
        {
            "id": str(110_000_000_000_000_000 + n),
            "uri": f"https://m.test/users/a/statuses/{n}",
            "url": f"https://m.test/@a/{n}",
            "content": "<p>acme</p>",
            "created_at": when,
            "account": {"acct": "a", "url": "https://m.test/@a"},
        }
        for n in (1, 2)
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=statuses)  # max_id ignored: the same page for ever

    params = {"instances": ["m.test"], "hashtags": ["acme"], "limit": 2}
    report, _ = run(sqlite_engine, {"name": "m", "kind": "mastodon", "params": params}, answer)
    assert report.reason == "no_progress" and report.pages == 2 and report.new == 2


def test_a_kind_without_backfill_page_is_refused(sqlite_engine: Engine) -> None:
    cfg = config({"name": "blog", "kind": "rss", "url": "https://blog.test/feed"})
    with (
        make_client(Settings()) as http,
        pytest.raises(ConfigError, match="kind 'rss' cannot search the past"),
    ):
        backfill_source(
            sqlite_engine,
            http,
            SourceConfig(name="blog", kind="rss", url="https://blog.test/feed"),
            build_context(cfg, SimulatedClock(T0)),
            window=WINDOW,
        )
