"""Stack Exchange: real payloads parse (HTML bodies to text, entities in titles, reputation is
not followers); fetch pages with has_more from the cursor, reports quota, obeys backoff across
polls, retries 5xx; refresh batches question ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from earful.config.models import SourceConfig
from earful.errors import ParseError, TransientSourceError
from earful.sources import stackexchange
from earful.sources.base import PollState, RefreshItem
from earful.sources.http import HttpClient
from tests.conftest import fixture_bytes

SEARCH = "search_java_withbody_total.json"
VOTES = "questions_sort_votes_OrderQuestions.json"
API = "https://api.stackexchange.com/2.3"


def se(name: str) -> bytes:
    return fixture_bytes("stackexchange", name)


def with_fields(body: bytes, **changes: Any) -> bytes:
    data = json.loads(body)
    data.update(changes)
    return json.dumps(data).encode()


def source(**params: Any) -> SourceConfig:
    return SourceConfig(name="so", kind="stackexchange", params={"q": "java", **params})


# ------------------------------------------------------------------------ parse


def test_search_with_bodies() -> None:
    result = stackexchange.parse(se(SEARCH))
    assert result.problems == []
    first, second = result.mentions
    assert first.external_id == "stackoverflow.com:53554542"
    assert first.url == (
        "https://stackoverflow.com/questions/53554542/"
        "a-fatal-error-has-been-detected-by-the-java-runtime-environment-sigbus-0x7"
    )
    assert first.title == (
        "A fatal error has been detected by the Java Runtime Environment (SIGBUS (0x7))"
    )
    assert first.author == "Praneeth Vadlakonda"
    assert first.author_followers is None
    assert first.published_at == datetime(2018, 11, 30, 9, 19, 11, tzinfo=UTC)
    assert (first.engagement.likes, first.engagement.comments, first.engagement.views) == (0, 0, 5)
    assert first.text.startswith("We have written JMH custom bench marking to our test cases")
    assert "SIGBUS (0x7) at pc=0xx" in first.text
    assert "<p>" not in first.text and "<blockquote>" not in first.text
    assert second.external_id == "stackoverflow.com:53539146"
    assert second.author == "Satya G"
    assert second.engagement.views == 9
    assert second.published_at == datetime(2018, 11, 29, 12, 31, 20, tzinfo=UTC)
    assert 'prf.setPreference("browser.helperApps.neverAsk.openFile","application/jnlp");' in (
        second.text
    )
    assert "<br>" not in second.text


def test_questions_by_votes_decode_titles_and_keep_reputation_apart() -> None:
    mentions = stackexchange.parse(se(VOTES)).mentions
    assert len(mentions) == 10
    top = mentions[0]
    assert top.external_id == "stackoverflow.com:11227809"
    assert top.author == "GManNickG"
    assert (top.engagement.likes, top.engagement.comments, top.engagement.views) == (
        21619,
        21,
        1223408,
    )
    assert top.published_at == datetime(2012, 6, 27, 13, 51, 36, tzinfo=UTC)
    assert top.author_followers is None
    assert top.extra["author_reputation"] == 287481
    titles = [m.title for m in mentions]
    assert "What is the difference between 'git pull' and 'git fetch'?" in titles
    assert 'What does the "yield" keyword do?' in titles
    assert 'What is the "-->" operator in C++?' in titles
    assert all("&#39;" not in (t or "") and "&quot;" not in (t or "") for t in titles)
    # no body requested in this capture: the title is the text
    assert mentions[3].text == "What is the difference between 'git pull' and 'git fetch'?"
    assert mentions[3].extra["tags"] == ["git", "git-pull", "git-fetch"]


def test_error_wrapper_is_a_parse_error() -> None:
    body = b'{"error_id": 502, "error_message": "too many requests", "error_name": "throttle"}'
    with pytest.raises(ParseError, match="throttle"):
        stackexchange.parse(body)


# ------------------------------------------------------------------------ fetch


def test_first_poll_reports_quota_and_sets_cursor(
    client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACKEXCHANGE_KEY", "key-abc")
    with respx.mock() as router:
        route = router.get(f"{API}/search/advanced").respond(200, content=se(SEARCH))
        result = stackexchange.fetch(client, source(key="${STACKEXCHANGE_KEY}"), PollState())
    params = route.calls[0].request.url.params
    assert params["q"] == "java" and params["site"] == "stackoverflow"
    assert params["sort"] == "creation" and params["order"] == "desc"
    assert params["filter"] == "withbody" and params["key"] == "key-abc"
    assert "fromdate" not in params
    assert route.call_count == 1  # has_more, but a first poll reads the newest page only
    assert result.quota_left == 296
    assert len(result.mentions) == 2
    assert json.loads(result.cursor or "{}") == {"fromdate": 1543569551}


def test_cursor_poll_pages_while_has_more(client: HttpClient) -> None:
    last = with_fields(se(VOTES), has_more=False, quota_remaining=294)
    with respx.mock() as router:
        route = router.get(f"{API}/search/advanced").mock(
            side_effect=[httpx.Response(200, content=se(SEARCH)), httpx.Response(200, content=last)]
        )
        result = stackexchange.fetch(
            client, source(), PollState(cursor=json.dumps({"fromdate": 1543000000}))
        )
    pages = [c.request.url.params["page"] for c in route.calls]
    assert pages == ["1", "2"]
    assert route.calls[0].request.url.params["fromdate"] == "1543000001"
    assert "key" not in route.calls[0].request.url.params
    assert len(result.mentions) == 12
    assert result.quota_left == 294
    assert json.loads(result.cursor or "{}")["fromdate"] == 1543569551


def test_backoff_stops_paging_and_delays_the_next_poll(client: HttpClient) -> None:
    body = with_fields(se(SEARCH), backoff=10)
    with respx.mock() as router:
        route = router.get(f"{API}/search/advanced").respond(200, content=body)
        result = stackexchange.fetch(
            client, source(), PollState(cursor=json.dumps({"fromdate": 1543000000}))
        )
        assert route.call_count == 1
        assert any("backoff of 10s" in p for p in result.problems)
        with pytest.raises(TransientSourceError) as info:
            stackexchange.fetch(client, source(), PollState(cursor=result.cursor))
        assert route.call_count == 1  # the early poll did not call the API
    assert info.value.reason == "backoff"
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 10


def test_5xx_is_retried(client: HttpClient) -> None:
    with respx.mock() as router:
        route = router.get(f"{API}/search/advanced").mock(
            side_effect=[httpx.Response(503), httpx.Response(200, content=se(SEARCH))]
        )
        result = stackexchange.fetch(client, source(), PollState())
    assert route.call_count == 2
    assert len(result.mentions) == 2


def test_429_with_retry_after_beyond_inline_limit_raises_with_it(client: HttpClient) -> None:
    with respx.mock() as router:
        router.get(f"{API}/search/advanced").respond(429, headers={"Retry-After": "120"})
        with pytest.raises(TransientSourceError) as info:
            stackexchange.fetch(client, source(), PollState())
    assert info.value.retry_after == 120.0


# ------------------------------------------------------------------------ refresh


def test_refresh_groups_ids_by_site(client: HttpClient) -> None:
    items = [
        RefreshItem(mention_id=1, source="so", external_id="stackoverflow.com:11227809", url=None),
        RefreshItem(mention_id=2, source="so", external_id="stackoverflow.com:927358", url=None),
        RefreshItem(mention_id=3, source="so", external_id="superuser.com:42", url=None),
    ]
    with respx.mock() as router:
        so = router.get(f"{API}/questions/11227809;927358").respond(200, content=se(VOTES))
        su = router.get(f"{API}/questions/42").respond(200, content=b'{"items": []}')
        fresh = stackexchange.refresh(client, source(), items)
    assert so.calls[0].request.url.params["site"] == "stackoverflow.com"
    assert su.calls[0].request.url.params["site"] == "superuser.com"
    assert fresh[0].external_id == "stackoverflow.com:11227809"
    assert fresh[0].engagement.views == 1223408
