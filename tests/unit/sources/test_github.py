"""GitHub issue/PR search: parse (own fixture in the API's shape), token from the environment,
paging from the cursor, the 1,000-result cap, quota from headers, 403 rate limit as a
transient error with retry_after from X-RateLimit-Reset; refresh per issue."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from earful.config.models import SourceConfig
from earful.errors import SourceAuthError, TransientSourceError
from earful.sources import github
from earful.sources.base import PollState, RefreshItem
from earful.sources.http import HttpClient

SEARCH_URL = "https://api.github.com/search/issues"


def issue(n: int, created: str = "2025-03-04T10:11:12Z", **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "url": f"https://api.github.com/repos/acme/widget/issues/{n}",
        "repository_url": "https://api.github.com/repos/acme/widget",
        "html_url": f"https://github.com/acme/widget/issues/{n}",
        "id": 2_000_000_000 + n,
        "node_id": f"I_kwDO{n}",
        "number": n,
        "title": f"Widget crashes on start ({n})",
        "user": {"login": "octocat", "id": 1, "type": "User"},
        "labels": [{"name": "bug"}],
        "state": "open",
        "locked": False,
        "comments": 4,
        "created_at": created,
        "updated_at": created,
        "closed_at": None,
        "author_association": "NONE",
        "body_text": "Since 2.3 the widget crashes.\nSteps: open List<String> view.",
        "reactions": {
            "url": f"https://api.github.com/repos/acme/widget/issues/{n}/reactions",
            "total_count": 7,
            "+1": 5,
            "-1": 1,
            "laugh": 0,
            "hooray": 0,
            "confused": 1,
            "heart": 0,
            "rocket": 0,
            "eyes": 0,
        },
        "score": 1.0,
    }
    item.update(changes)
    return item


def search_body(items: list[dict[str, Any]], total: int | None = None) -> bytes:
    body = {"total_count": len(items) if total is None else total, "incomplete_results": False}
    body["items"] = items  # type: ignore[assignment]
    return json.dumps(body).encode()


def source(**params: Any) -> SourceConfig:
    return SourceConfig(name="gh", kind="github", params={"query": "widget is:issue", **params})


# ------------------------------------------------------------------------ parse


def test_search_items_parse() -> None:
    pr = issue(8, "2025-03-05T00:00:00Z", pull_request={"url": "x"}, reactions=None, comments=0)
    pr["html_url"] = "https://github.com/acme/widget/pull/8"
    result = github.parse(search_body([issue(7), pr]))
    assert result.problems == []
    first, second = result.mentions
    assert first.external_id == "2000000007"
    assert first.url == "https://github.com/acme/widget/issues/7"
    assert first.title == "Widget crashes on start (7)"
    assert first.text == "Since 2.3 the widget crashes.\nSteps: open List<String> view."
    assert first.author == "octocat" and first.author_followers is None
    assert first.published_at == datetime(2025, 3, 4, 10, 11, 12, tzinfo=UTC)
    assert first.engagement.likes == 7 and first.engagement.comments == 4
    assert first.extra["repo"] == "acme/widget" and first.extra["reactions"]["+1"] == 5
    assert second.extra["is_pull_request"] is True
    assert second.engagement.likes is None and second.engagement.comments == 0


def test_markdown_body_keeps_code_and_drops_template_comments() -> None:
    raw = issue(9, body_text=None)
    del raw["body_text"]
    raw["body"] = "<!-- describe the bug -->\r\nIt breaks `Map<K, V>` parsing"
    [mention] = github.parse(search_body([raw])).mentions
    assert mention.text == "It breaks `Map<K, V>` parsing"


def test_single_issue_object_parses() -> None:
    [mention] = github.parse(json.dumps(issue(3)).encode()).mentions
    assert mention.external_id == "2000000003"


# ------------------------------------------------------------------------ fetch


def test_first_poll_sends_token_and_reports_quota(
    client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    with respx.mock() as router:
        route = router.get(SEARCH_URL).respond(
            200,
            content=search_body([issue(2, "2025-03-06T00:00:00Z"), issue(1)], total=500),
            headers={"X-RateLimit-Remaining": "29", "X-RateLimit-Reset": str(int(time.time()))},
        )
        result = github.fetch(client, source(token="${GITHUB_TOKEN}"), PollState())
    request = route.calls[0].request
    assert request.headers["Authorization"] == "Bearer ghp_test"
    assert request.headers["Accept"] == "application/vnd.github.text+json"
    assert request.url.params["q"] == "widget is:issue"
    assert request.url.params["sort"] == "created" and request.url.params["order"] == "desc"
    assert route.call_count == 1
    assert result.quota_left == 29
    assert result.cursor == "2025-03-06T00:00:00Z"
    assert len(result.mentions) == 2


def test_no_token_no_authorization_header(client: HttpClient) -> None:
    with respx.mock() as router:
        route = router.get(SEARCH_URL).respond(200, content=search_body([issue(1)]))
        github.fetch(client, source(), PollState())
    assert "Authorization" not in route.calls[0].request.headers


def test_cursor_poll_pages_with_created_qualifier(client: HttpClient) -> None:
    page1 = search_body([issue(n, "2025-03-07T00:00:00Z") for n in range(2)], total=3)
    page2 = search_body([issue(9, "2025-03-06T12:00:00Z")], total=3)
    with respx.mock() as router:
        route = router.get(SEARCH_URL).mock(
            side_effect=[httpx.Response(200, content=page1), httpx.Response(200, content=page2)]
        )
        result = github.fetch(client, source(per_page=2), PollState(cursor="2025-03-06T00:00:00Z"))
    assert route.call_count == 2
    assert route.calls[0].request.url.params["q"] == (
        "widget is:issue created:>2025-03-06T00:00:00Z"
    )
    assert [c.request.url.params["page"] for c in route.calls] == ["1", "2"]
    assert len(result.mentions) == 3
    assert result.cursor == "2025-03-07T00:00:00Z"


def test_stops_at_the_thousand_result_cap(client: HttpClient) -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [issue(page * 1000 + n) for n in range(100)]
        return httpx.Response(200, content=search_body(items, total=4321))

    with respx.mock() as router:
        route = router.get(SEARCH_URL).mock(side_effect=pages)
        result = github.fetch(client, source(), PollState(cursor="2025-01-01T00:00:00Z"))
    assert route.call_count == 10
    assert len(result.mentions) == 1000
    assert any("1,000-result cap" in p for p in result.problems)


def test_403_rate_limited_is_transient_with_reset(client: HttpClient) -> None:
    reset = int(time.time()) + 1800
    with respx.mock() as router:
        route = router.get(SEARCH_URL).respond(
            403,
            json={"message": "API rate limit exceeded"},
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        )
        with pytest.raises(TransientSourceError) as info:
            github.fetch(client, source(), PollState())
    assert route.call_count == 1  # half an hour is not slept through inline
    assert info.value.reason == "rate_limited"
    assert info.value.retry_after is not None and 1700 < info.value.retry_after <= 1800


def test_403_without_rate_limit_is_an_auth_error(client: HttpClient) -> None:
    with respx.mock() as router:
        router.get(SEARCH_URL).respond(
            403, json={"message": "Bad credentials"}, headers={"X-RateLimit-Remaining": "10"}
        )
        with pytest.raises(SourceAuthError):
            github.fetch(client, source(), PollState())


def test_5xx_retried(client: HttpClient) -> None:
    with respx.mock() as router:
        route = router.get(SEARCH_URL).mock(
            side_effect=[httpx.Response(502), httpx.Response(200, content=search_body([issue(1)]))]
        )
        result = github.fetch(client, source(), PollState())
    assert route.call_count == 2 and len(result.mentions) == 1


# ------------------------------------------------------------------------ refresh


def test_refresh_reads_each_issue(client: HttpClient) -> None:
    items = [
        RefreshItem(
            mention_id=1,
            source="gh",
            external_id="2000000007",
            url="https://github.com/acme/widget/issues/7",
        ),
        RefreshItem(mention_id=2, source="gh", external_id="x", url="https://example.org/"),
    ]
    updated = issue(7, comments=12)
    with respx.mock() as router:
        route = router.get("https://api.github.com/repos/acme/widget/issues/7").respond(
            200, json=updated
        )
        [fresh] = github.refresh(client, source(), items)
    assert route.call_count == 1
    assert fresh.external_id == "2000000007" and fresh.engagement.comments == 12
