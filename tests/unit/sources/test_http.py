"""The HTTP layer: conditional GET, retries and Retry-After, size cap, error mapping."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest

from earful.errors import SourceAuthError, SourceError, SourceGoneError, TransientSourceError
from earful.settings import get_settings
from earful.sources.http import HttpClient, make_client, parse_retry_after
from earful.sources.limits import LocalLimits


def client_for(
    handler, *, max_body: int = 1_000_000, sleeps: list[float] | None = None
) -> HttpClient:  # type: ignore[no-untyped-def]
    record = sleeps if sleeps is not None else []
    settings = get_settings(max_body_bytes=max_body, max_retries=3)
    return make_client(
        settings,
        transport=httpx.MockTransport(handler),
        sleep=record.append,
        host_min_interval_s=0.0,
    )


def test_sends_user_agent_and_conditional_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304)

    resp = client_for(handler).get("https://example.org/feed", etag='"abc"', last_modified="Mon")
    assert resp.not_modified and resp.body == b""
    assert seen[0].headers["If-None-Match"] == '"abc"'
    assert seen[0].headers["If-Modified-Since"] == "Mon"
    assert seen[0].headers["User-Agent"].startswith("Earful/")


def test_retries_5xx_then_succeeds() -> None:
    calls = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503) if len(calls) < 3 else httpx.Response(200, content=b"ok")

    resp = client_for(handler, sleeps=sleeps).get("https://example.org/x")
    assert resp.body == b"ok"
    assert len(calls) == 3
    assert len(sleeps) == 2 and sleeps[1] > 0


def test_429_honours_retry_after() -> None:
    calls = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200, content=b"{}")

    client_for(handler, sleeps=sleeps).get("https://api.example.org/x")
    assert sleeps == [7.0]


def test_long_retry_after_is_not_slept_through() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "3600"})

    sleeps: list[float] = []
    with pytest.raises(TransientSourceError) as info:
        client_for(handler, sleeps=sleeps).get("https://api.example.org/x")
    assert info.value.retry_after == 3600.0
    assert sleeps == []


def test_gives_up_after_max_retries() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    with pytest.raises(TransientSourceError) as info:
        client_for(handler).get("https://example.org/x")
    assert info.value.reason == "http_500"


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (401, SourceAuthError, "http_401"),
        (403, SourceAuthError, "http_403"),
        (404, SourceGoneError, "http_404"),
        (410, SourceGoneError, "http_410"),
        (400, SourceError, "http_400"),
    ],
)
def test_status_mapping(status: int, error: type[Exception], reason: str) -> None:
    with pytest.raises(error) as info:
        client_for(lambda r: httpx.Response(status)).get("https://example.org/x")
    assert info.value.reason == reason  # type: ignore[attr-defined]
    if status == 410:
        assert info.value.permanent  # type: ignore[attr-defined]


def test_body_over_cap_is_refused() -> None:
    body = b"x" * 5000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    with pytest.raises(SourceError) as info:
        client_for(handler, max_body=1000).get("https://example.org/big")
    assert info.value.reason == "too_large"


def test_timeout_is_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TransientSourceError) as info:
        client_for(handler).get("https://example.org/slow")
    assert info.value.reason == "timeout"


def test_circuit_opens_after_repeated_failures() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(502)

    client = client_for(handler)
    for _ in range(2):
        with pytest.raises(TransientSourceError):
            client.get("https://flaky.example.org/x")
    sent = len(calls)
    with pytest.raises(TransientSourceError) as info:
        client.get("https://flaky.example.org/x")
    assert info.value.reason == "circuit_open"
    assert len(calls) == sent  # nothing sent while the circuit is open


def test_parse_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412500.0) == 10.0
    assert parse_retry_after("soon", now=0.0) is None


def test_not_json_error_never_shows_the_query_string() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>oops</html>")

    resp = client_for(handler).get("https://api.example.org/v3/search", params={"key": "SECRET"})
    with pytest.raises(SourceError) as info:
        resp.json()
    assert "SECRET" not in str(info.value)
    assert "https://api.example.org/v3/search" in str(info.value)


def test_breaker_is_per_origin_and_ignores_4xx() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.port == 8001:
            return httpx.Response(502)
        if request.url.path == "/missing":
            return httpx.Response(404)
        return httpx.Response(200, content=b"ok")

    client = client_for(handler)
    for _ in range(2):
        with pytest.raises(TransientSourceError):
            client.get("http://shared.example.org:8001/feed")
    with pytest.raises(TransientSourceError) as info:
        client.get("http://shared.example.org:8001/feed")
    assert info.value.reason == "circuit_open"
    # A neighbour on another port of the same host still answers with its own status.
    assert client.get("http://shared.example.org:8002/feed").body == b"ok"
    for _ in range(8):  # 404s are answers, not transport failures: the breaker stays shut
        with pytest.raises(SourceGoneError):
            client.get("http://shared.example.org:8002/missing")
    assert client.get("http://shared.example.org:8002/feed").body == b"ok"


class Chunks(httpx.SyncByteStream):
    """A body that arrives over the wire in these raw chunks (not read up front)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from self.chunks


def _encoded(body: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.compress(body)
    if coding == "deflate-zlib":
        return zlib.compress(body)
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return raw.compress(body) + raw.flush()


@pytest.mark.parametrize("coding", ["gzip", "deflate-zlib", "deflate-raw"])
def test_compressed_bodies_are_decoded_across_chunks(coding: str) -> None:
    body = b"<rss>" + b"caf\xc3\xa9 " * 50_000 + b"</rss>"
    wire = _encoded(body, coding)
    header = coding.split("-")[0]

    def handler(request: httpx.Request) -> httpx.Response:
        pieces = [wire[i : i + 100] for i in range(0, len(wire), 100)]
        return httpx.Response(200, headers={"Content-Encoding": header}, stream=Chunks(pieces))

    assert client_for(handler).get("https://example.org/feed").body == body


def test_gzip_bomb_stops_at_the_cap_while_decompressing() -> None:
    # 200 MB of zeros in ~200 KB of gzip; one raw chunk would inflate to ~64 MB at once.
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)
    cap = 1_000_000

    def handler(request: httpx.Request) -> httpx.Response:
        pieces = [bomb[i : i + 65536] for i in range(0, len(bomb), 65536)]
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=Chunks(pieces))

    client = client_for(handler, max_body=cap)
    with pytest.raises(SourceError) as info:
        client.get("https://example.org/bomb")
    assert info.value.reason == "too_large" and not isinstance(info.value, TransientSourceError)
    assert "once decompressed" in str(info.value) and "\n" not in str(info.value)
    assert client.bytes_received <= cap + 1  # never inflated past the cap


@pytest.mark.parametrize(
    ("coding", "wire"), [("gzip", b"\x1f\x8bnot gzip at all"), ("br", b"\x0b\x02\x80")]
)
def test_undecodable_or_unsupported_encoding_is_one_permanent_error(
    coding: str, wire: bytes
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": coding}, stream=Chunks([wire]))

    calls = []
    with pytest.raises(SourceError) as info:
        client_for(lambda r: calls.append(1) or handler(r)).get("https://example.org/x")
    assert info.value.reason == "bad_encoding" and not isinstance(info.value, TransientSourceError)
    assert len(calls) == 1 and "\n" not in str(info.value)


def test_breaker_counts_transport_failures_and_default_port_is_one_origin() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = client_for(handler)
    for _ in range(2):  # 2 requests x 4 attempts: the threshold of 5 is passed
        with pytest.raises(TransientSourceError):
            client.get("https://down.example.org/feed")
    with pytest.raises(TransientSourceError) as info:
        client.get("https://down.example.org:443/other")  # the same origin as without :443
    assert info.value.reason == "circuit_open"
    assert client.limits.breaker_wait("https://down.example.org:443") > 0
    assert client.limits.breaker_wait("http://down.example.org:80") == 0


def test_parse_errors_and_4xx_never_open_the_breaker() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/bad":
            return httpx.Response(400)
        return httpx.Response(200, content=b"not json")

    client = client_for(handler)
    for _ in range(10):
        with pytest.raises(SourceError):
            client.get("https://picky.example.org/bad")
        with pytest.raises(SourceError):
            client.get("https://picky.example.org/x").json()
    assert client.limits.breaker_wait("https://picky.example.org:443") == 0


def test_politeness_waits_come_from_the_limits() -> None:
    sleeps: list[float] = []
    now = [100.0]
    limits = LocalLimits(monotonic=lambda: now[0])
    settings = get_settings(max_retries=0)
    client = make_client(
        settings,
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"ok")),
        sleep=sleeps.append,
        host_min_interval_s=2.0,
        limits=limits,
    )
    for _ in range(3):
        client.get("https://polite.example.org/x")
    client.get("https://other.example.org/x")  # another host has its own gap
    assert sleeps == [2.0, 4.0]
