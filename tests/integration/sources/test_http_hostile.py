"""Hostile sources on a real HTTP server on 127.0.0.1: a trickle that would never trip a
per-read timeout, a redirect loop, a redirect to file://, a 100,000-deep JSON array. Each ends
as one SourceError with a reason, never a hang or a traceback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from earful.config.models import SourceConfig
from earful.errors import ParseError, SourceError, TransientSourceError
from earful.settings import Settings
from earful.sources.base import PollState
from earful.sources.feed import connector as feed
from earful.sources.http import make_client

pytestmark = pytest.mark.integration

DEEP = b"[" * 100_000 + b"]" * 100_000


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(100_000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.3)
            except OSError:
                return
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/feed+json")
            self.send_header("Content-Length", str(len(DEEP)))
            self.end_headers()
            self.wfile.write(DEEP)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _fetch(url: str, **settings: float) -> object:
    source = SourceConfig(name="hostile", kind="rss", url=url)
    with make_client(Settings(**settings), host_min_interval_s=0.0) as client:  # type: ignore[arg-type]
        return feed.fetch(client, source, PollState())


@pytest.mark.timeout(60)
def test_trickling_source_ends_at_the_total_deadline(base: str) -> None:
    # One byte every 0.3 s never trips the 5 s read timeout; only the total deadline ends it.
    with pytest.raises(TransientSourceError) as err:
        _fetch(f"{base}/trickle", http_timeout_s=5.0, http_deadline_s=2.0)
    assert err.value.reason == "deadline"
    assert "deadline" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.timeout(60)
def test_redirect_loop_and_non_http_redirect_are_permanent_errors(base: str) -> None:
    with pytest.raises(SourceError) as loop:
        _fetch(f"{base}/loop")
    assert loop.value.reason == "redirect_loop" and not isinstance(loop.value, TransientSourceError)
    with pytest.raises(SourceError) as scheme:
        _fetch(f"{base}/file")
    assert scheme.value.reason == "bad_redirect" and not isinstance(
        scheme.value, TransientSourceError
    )


@pytest.mark.timeout(60)
def test_deeply_nested_json_is_a_parse_error(base: str) -> None:
    with pytest.raises(ParseError) as err:
        _fetch(f"{base}/deep")
    assert err.value.reason == "json" and "\n" not in str(err.value)


@pytest.mark.timeout(60)
def test_shutdown_ends_a_request_in_flight(base: str) -> None:
    # The deadline alone would hold this request for 50 s; setting stop (SIGTERM) ends it.
    stop = threading.Event()
    source = SourceConfig(name="hostile", kind="rss", url=f"{base}/trickle")
    settings = Settings(http_deadline_s=50.0)  # type: ignore[call-arg]
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    with (
        make_client(settings, host_min_interval_s=0.0, stop=stop) as client,
        pytest.raises(TransientSourceError) as err,
    ):
        feed.fetch(client, source, PollState())
    timer.join()
    assert err.value.reason == "stopped"
