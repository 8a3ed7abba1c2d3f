"""Hostile sources on a real HTTP server on 127.0.0.1: a trickle that would never trip a
per-read timeout, a redirect loop, a redirect to file:// or gopher://, a 100,000-deep JSON
array, a gzip bomb. Each ends as one SourceError with a reason, never a hang or a traceback —
in the HTTP layer and through `earful sources test`."""

from __future__ import annotations

import functools
import os
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from earful.config.models import SourceConfig
from earful.errors import ParseError, SourceError, TransientSourceError
from earful.settings import Settings
from earful.sources.base import PollState
from earful.sources.feed import connector as feed
from earful.sources.http import make_client
from tests.conftest import run_earful

pytestmark = pytest.mark.integration

DEEP = b"[" * 100_000 + b"]" * 100_000


@functools.cache
def bomb() -> bytes:
    """200 MB of spaces as ~200 KB of gzip (twenty times the default cap), built a MB at a
    time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b" " * 1_000_000
    return b"".join(packer.compress(block) for _ in range(200)) + packer.flush()


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
        elif self.path in ("/file", "/gopher"):
            self.send_response(302)
            where = "file:///etc/passwd" if self.path == "/file" else "gopher://127.0.0.1:70/1"
            self.send_header("Location", where)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/bomb":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(bomb())))
            self.end_headers()
            try:
                self.wfile.write(bomb())
            except OSError:
                return  # the client stopped reading at the cap
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
    for path in ("/file", "/gopher"):
        with pytest.raises(SourceError) as scheme:
            _fetch(f"{base}{path}")
        assert scheme.value.reason == "bad_redirect" and not isinstance(
            scheme.value, TransientSourceError
        )


@pytest.mark.timeout(60)
def test_gzip_bomb_stops_at_the_cap(base: str) -> None:
    with make_client(Settings(), host_min_interval_s=0.0) as client:  # type: ignore[call-arg]
        source = SourceConfig(name="hostile", kind="rss", url=f"{base}/bomb")
        with pytest.raises(SourceError) as err:
            feed.fetch(client, source, PollState())
        assert client.bytes_received <= Settings().max_body_bytes + 1  # type: ignore[call-arg]
    assert err.value.reason == "too_large" and not isinstance(err.value, TransientSourceError)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/loop", "too many redirects"),
        ("/gopher", "unsupported URL scheme"),
        ("/deep", "JSON"),
        ("/bomb", "once decompressed"),
    ],
)
def test_sources_test_prints_one_line_and_no_traceback(
    base: str, tmp_path: Path, path: str, words: str
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "brands.yaml").write_text("brands:\n  - name: Acme\n    queries: ['acme']\n")
    (config / "sources.yaml").write_text(
        f"sources:\n  - name: hostile\n    kind: rss\n    url: {base}{path}\n"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "EARFUL_MAX_RETRIES": "0"}
    result = run_earful("--config", str(config), "sources", "test", "hostile", env=env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("earful: hostile: "), result.stderr
    assert words in lines[0], lines[0]


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
