"""The feed connector against a real HTTP server on 127.0.0.1 (conditional GET end to end)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from earful.config.models import SourceConfig
from earful.errors import ParseError
from earful.settings import Settings
from earful.sources.base import PollState
from earful.sources.feed import connector as feed
from earful.sources.http import make_client
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.integration

ETAG = '"qemu-v1"'
LAST_MODIFIED = "Wed, 08 Oct 2025 23:46:50 GMT"


@dataclass
class FeedServer:
    base: str
    routes: dict[str, tuple[bytes, str]]
    requests: list[dict[str, str]] = field(default_factory=list)


def make_handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append({k.lower(): v for k, v in self.headers.items()})
            route = server.routes.get(self.path)
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, content_type = route
            if self.headers.get("If-None-Match") == ETAG:
                self.send_response(304)
                self.send_header("ETag", ETAG)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", ETAG)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            return

    return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    routes = {
        "/feed.xml": (fixture_bytes("atom", "netnewswire_qemu.atom"), "application/atom+xml"),
        # A Latin-1 body without a declaration; the HTTP charset is the only honest hint.
        "/uol.rss": (
            fixture_bytes("rss", "rss-parser_uolNoticias.rss"),
            "application/rss+xml; charset=ISO-8859-1",
        ),
        "/page.html": (b"<!doctype html><html><body>Sign in</body></html>", "text/html"),
    }
    state = FeedServer(base="", routes=routes)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def settings() -> Settings:
    return Settings(max_retries=0, host_min_interval_s=0.0, http_timeout_s=10.0)


def test_second_poll_is_not_modified_and_transfers_no_body(feed_server: FeedServer) -> None:
    source = SourceConfig(name="qemu", kind="rss", url=f"{feed_server.base}/feed.xml")
    with make_client(settings()) as client:
        first = feed.fetch(client, source, PollState())
        after_first = client.bytes_received
        second = feed.fetch(
            client, source, PollState(etag=first.etag, last_modified=first.last_modified)
        )
        after_second = client.bytes_received
    assert len(first.mentions) == 10 and not first.not_modified
    assert first.etag == ETAG and first.last_modified == LAST_MODIFIED
    assert first.bytes_received == len(fixture_bytes("atom", "netnewswire_qemu.atom"))
    # Relative links resolve against the URL the body was fetched from.
    assert first.mentions[0].url == f"{feed_server.base}/2025/08/26/qemu-10-1-0/"
    assert second.not_modified and second.mentions == []
    assert second.bytes_received == 0 and after_second == after_first
    assert second.etag == ETAG and second.last_modified == LAST_MODIFIED
    assert feed_server.requests[1]["if-none-match"] == ETAG
    assert feed_server.requests[1]["if-modified-since"] == LAST_MODIFIED
    assert "Earful" in feed_server.requests[0]["user-agent"]


def test_latin1_feed_over_http(feed_server: FeedServer) -> None:
    source = SourceConfig(name="uol", kind="rss", url=f"{feed_server.base}/uol.rss")
    with make_client(settings()) as client:
        result = feed.fetch(client, source, PollState())
    assert len(result.mentions) == 15
    assert "simulações" in (result.mentions[0].title or "")


def test_html_instead_of_a_feed_is_a_parse_error(feed_server: FeedServer) -> None:
    source = SourceConfig(name="login-wall", kind="rss", url=f"{feed_server.base}/page.html")
    with make_client(settings()) as client, pytest.raises(ParseError, match="HTML page"):
        feed.fetch(client, source, PollState())
