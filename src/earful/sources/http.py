"""The only place Earful talks HTTP to sources.

``HttpClient`` wraps an injected ``httpx.Client`` (tests pass ``httpx.MockTransport`` or respx)
and adds what every connector needs: a descriptive User-Agent, timeouts, a response-size cap
(checked as the body is decompressed, chunk by chunk, so a gzip bomb stops at the cap),
conditional GET, retries with exponential backoff and jitter on timeouts/5xx/429 (honouring
Retry-After), per-host politeness and a per-origin circuit breaker (both kept by the injected
:class:`~earful.sources.limits.Limits`: this process's, or Redis shared by all workers), and one
mapping of transport and status errors onto the Earful error tree.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from earful.errors import (
    ParseError,
    SourceAuthError,
    SourceError,
    SourceGoneError,
    TransientSourceError,
)
from earful.settings import Settings
from earful.sources.limits import Limits, LocalLimits, read_rate_limit

logger = logging.getLogger(__name__)

# A Retry-After longer than this is not slept through inside a poll: the error carries it and
# the scheduler moves the source's next poll instead of blocking a worker.
MAX_INLINE_WAIT_S = 30.0
# Decompressed bytes produced per step: memory stays near the cap even for a 1000:1 body.
_INFLATE_STEP = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What an origin's breaker counts: no answer at all, or a 5xx. A 4xx, a 429 or a body that
# does not parse is the origin answering.
_TRANSPORT_FAILURES = frozenset({"timeout", "connect", "network", "deadline"})


@dataclass(slots=True)
class HttpResponse:
    status: int
    url: str
    headers: httpx.Headers
    body: bytes
    not_modified: bool = False

    @property
    def url_for_messages(self) -> str:
        """``url`` without its query string, which may carry an API key (YouTube's ?key=)."""
        return self.url.split("?", 1)[0]

    @property
    def etag(self) -> str | None:
        value: str | None = self.headers.get("etag")
        return value

    @property
    def last_modified(self) -> str | None:
        value: str | None = self.headers.get("last-modified")
        return value

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.body)
        except RecursionError as exc:
            where = self.url_for_messages
            raise ParseError(f"{where}: JSON nested too deeply", reason="json_depth") from exc
        except ValueError as exc:
            where = self.url_for_messages
            raise ParseError(f"{where}: response is not JSON: {exc}", reason="json") from exc


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def origin_of(url: str) -> tuple[str, str]:
    """(host, origin) of ``url``: politeness is per host, the breaker per scheme://host:port
    (the scheme's default port when none is given)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a port out of range: httpx refuses the URL itself
        port = None
    return host, f"{parts.scheme}://{host}:{port or ''}"


def counts_against_breaker(exc: SourceError) -> bool | None:
    """True: a failure the breaker counts (transport, 5xx); False: the origin answered;
    None: says nothing about the origin (a shutdown, an unsupported redirect)."""
    reason = exc.reason
    if reason in _TRANSPORT_FAILURES or (reason.startswith("http_5") and len(reason) == 8):
        return True
    if reason.startswith("http_") or reason in ("rate_limited", "too_large"):
        return False
    return None


class _Inflater:
    """Undoes one Content-Encoding (identity, gzip, deflate) with the output bounded per step."""

    def __init__(self, encoding: str, label: str, source: str) -> None:
        self.label, self.source = label, source
        self._started = False
        self._raw_fallback = False  # deflate: some servers send raw deflate, not zlib-wrapped
        coding = encoding.strip().lower()
        if coding in ("", "identity"):
            self._z: Any = None
        elif coding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif coding == "deflate":
            self._z = zlib.decompressobj()
            self._raw_fallback = True
        else:
            raise SourceError(
                f"{label}: unsupported Content-Encoding {encoding[:40]!r}",
                source=source,
                reason="bad_encoding",
            )

    def feed(self, data: bytes, room: int) -> Iterator[bytes]:
        """Decoded pieces of ``data``, never more than ``room + 1`` bytes in all (one byte past
        the cap is enough to know it is exceeded)."""
        if self._z is None:
            yield data
            return
        while data and not self._z.eof and room >= 0:
            try:
                out = self._z.decompress(data, min(_INFLATE_STEP, room + 1))
            except zlib.error as exc:
                if not self._started and self._raw_fallback:
                    self._raw_fallback = False
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise SourceError(
                    f"{self.label}: body does not decompress: {exc}",
                    source=self.source,
                    reason="bad_encoding",
                ) from exc
            self._started = True
            room -= len(out)
            data = self._z.unconsumed_tail
            if out:
                yield out

    @property
    def compressed(self) -> bool:
        return self._z is not None

    def flush(self) -> bytes:
        return b"" if self._z is None else bytes(self._z.flush())


class HttpClient:
    def __init__(
        self,
        client: httpx.Client,
        *,
        max_body_bytes: int,
        max_retries: int = 3,
        host_min_interval_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        deadline_s: float = 60.0,
        stop: threading.Event | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.client = client
        # Quotas, politeness and breakers: this process's own unless shared ones are given.
        self.limits: Limits = limits or LocalLimits(monotonic=monotonic)
        self.host_min_interval_s = host_min_interval_s
        self.deadline_s = deadline_s
        # Set on shutdown (SIGTERM): requests in flight end at their next chunk or retry.
        self.stop = stop
        self._monotonic = monotonic
        self.max_body_bytes = max_body_bytes
        self.max_retries = max_retries
        self._sleep = sleep
        self._wall = wall
        self.bytes_received = 0
        self.requests = 0

    def close(self) -> None:
        self.client.close()
        self.limits.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        source: str = "",
    ) -> HttpResponse:
        """GET with conditional headers; a 304 comes back as ``not_modified`` with no body."""
        hdrs = dict(headers or {})
        if etag:
            hdrs["If-None-Match"] = etag
        if last_modified:
            hdrs["If-Modified-Since"] = last_modified
        return self.request("GET", url, params=params, headers=hdrs, source=source)

    def post(
        self,
        url: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        source: str = "",
    ) -> HttpResponse:
        return self.request("POST", url, json=json, data=data, headers=headers, source=source)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        source: str = "",
    ) -> HttpResponse:
        """One logical request, retried on transient failures with backoff and jitter.

        The whole of it — politeness waits, connects, every read, every retry — ends within
        ``deadline_s``: a source that trickles one byte at a time cannot hold a poll (per-read
        timeouts restart with every byte, so they alone never fire).
        """
        # The breaker is per origin (scheme, host, port): a failing feed on one port does not hide
        # its healthy neighbours' real errors. It counts transport failures and 5xx only.
        host, origin = origin_of(url)
        deadline = self._monotonic() + self.deadline_s
        attempt = 0
        while True:
            attempt += 1
            self._check_stop(source or url, source)
            self._wait_turn(host, origin, source or url, source)
            try:
                response = self._send_once(
                    method, url, params, headers, json, data, source, deadline
                )
            except SourceError as exc:
                counted = counts_against_breaker(exc)
                if counted is not None:
                    self.limits.record(origin, ok=not counted)
                if not isinstance(exc, TransientSourceError):
                    raise
                wait = self._backoff(attempt, exc.retry_after)
                if exc.reason == "deadline":
                    raise
                if wait is not None and self._monotonic() + wait >= deadline:
                    raise TransientSourceError(
                        f"{source or url}: no time left for a retry within the "
                        f"{self.deadline_s:.0f}s deadline ({exc})",
                        source=source,
                        reason="deadline",
                    ) from exc
                if attempt > self.max_retries or wait is None:
                    raise
                if self.stop is not None and self.stop.is_set():
                    raise
                logger.info("%s (attempt %s), retrying in %.1fs", exc, attempt, wait)
                self._sleep(wait)
                continue
            self.limits.record(origin, ok=True)  # answered: not a transport failure
            return response

    def _wait_turn(self, host: str, origin: str, label: str, source: str) -> None:
        """Refuse while ``origin``'s breaker is open; else wait for ``host``'s politeness slot."""
        open_for = self.limits.breaker_wait(origin)
        if open_for > 0:
            raise TransientSourceError(
                f"{origin}: circuit open after repeated failures; retrying in {open_for:.0f}s",
                source=source,
                reason="circuit_open",
                retry_after=open_for,
            )
        if self.host_min_interval_s > 0:
            wait = self.limits.reserve_slot(host, self.host_min_interval_s)
            if wait > 0:
                logger.debug("%s: waiting %.2fs for %s's politeness slot", label, wait, host)
                self._sleep(wait)

    def _backoff(self, attempt: int, retry_after: float | None) -> float | None:
        if retry_after is not None:
            return retry_after if retry_after <= MAX_INLINE_WAIT_S else None
        base: float = min(MAX_INLINE_WAIT_S, 0.5 * 2 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)  # jitter so retries do not align

    def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        json: Any,
        data: Mapping[str, str] | None,
        source: str,
        deadline: float,
    ) -> HttpResponse:
        label = source or url
        self.requests += 1
        left = deadline - self._monotonic()
        if left <= 0:
            raise self._deadline_error(label, source)
        try:
            request = self.client.build_request(
                method, url, params=params, headers=headers, json=json, data=data
            )
            timeouts = request.extensions.get("timeout") or {}
            request.extensions["timeout"] = {
                k: min(v, left) if v is not None else left
                for k, v in {
                    **dict.fromkeys(("connect", "read", "write", "pool")),
                    **timeouts,
                }.items()
            }
            response = self.client.send(request, stream=True)
        except httpx.TooManyRedirects as exc:
            raise SourceError(
                f"{label}: too many redirects (a redirect loop?)",
                source=source,
                reason="redirect_loop",
            ) from exc
        except httpx.UnsupportedProtocol as exc:
            raise SourceError(
                f"{label}: redirected to an unsupported URL scheme ({exc}); only http(s) is "
                "followed",
                source=source,
                reason="bad_redirect",
            ) from exc
        except httpx.TimeoutException as exc:
            if self._monotonic() >= deadline:
                raise self._deadline_error(label, source) from exc
            raise TransientSourceError(
                f"{label}: timed out", source=source, reason="timeout"
            ) from exc
        except httpx.ConnectError as exc:
            reason = "tls" if "SSL" in str(exc) or "certificate" in str(exc) else "connect"
            if reason == "tls":
                raise SourceError(
                    f"{label}: TLS error: {exc}", source=source, reason=reason
                ) from exc
            raise TransientSourceError(
                f"{label}: cannot connect ({exc}); check the URL and DNS",
                source=source,
                reason="connect",
            ) from exc
        except httpx.TransportError as exc:
            raise TransientSourceError(
                f"{label}: network error: {exc}", source=source, reason="network"
            ) from exc
        try:
            if response.status_code == 304:
                return HttpResponse(304, str(response.url), response.headers, b"", True)
            self._raise_for_status(response, label, source)
            body = self._read_capped(response, label, source, deadline)
        finally:
            response.close()
        return HttpResponse(response.status_code, str(response.url), response.headers, body)

    def _check_stop(self, label: str, source: str) -> None:
        if self.stop is not None and self.stop.is_set():
            raise TransientSourceError(
                f"{label}: stopped (shutting down)", source=source, reason="stopped"
            )

    def _deadline_error(self, label: str, source: str) -> TransientSourceError:
        return TransientSourceError(
            f"{label}: timed out: no complete answer within the {self.deadline_s:.0f}s deadline",
            source=source,
            reason="deadline",
        )

    def _read_capped(
        self, response: httpx.Response, label: str, source: str, deadline: float
    ) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise SourceError(
                f"{label}: body of {declared} bytes exceeds the {self.max_body_bytes}-byte cap",
                source=source,
                reason="too_large",
            )
        chunks: list[bytes] = []
        size = 0
        # A response built in memory (a MockTransport's) arrives read and decoded already.
        in_memory = response.is_stream_consumed
        coding = "" if in_memory else response.headers.get("content-encoding", "")
        inflater = _Inflater(coding, label, source)

        def keep(piece: bytes) -> None:
            nonlocal size
            size += len(piece)
            self.bytes_received += len(piece)
            if size > self.max_body_bytes:
                raise SourceError(
                    f"{label}: body exceeds the {self.max_body_bytes}-byte cap"
                    + (" once decompressed" if inflater.compressed else ""),
                    source=source,
                    reason="too_large",
                )
            chunks.append(piece)

        try:
            # Raw bytes, decompressed here a bounded step at a time: httpx's own decoder
            # inflates a whole network chunk at once (64 KiB of gzip can be 64 MiB).
            for raw in response.iter_bytes() if in_memory else response.iter_raw():
                for piece in inflater.feed(raw, self.max_body_bytes - size):
                    keep(piece)
                if self._monotonic() >= deadline:
                    raise self._deadline_error(label, source)
                self._check_stop(label, source)
            keep(inflater.flush())
        except httpx.TimeoutException as exc:
            if self._monotonic() >= deadline:
                raise self._deadline_error(label, source) from exc
            raise TransientSourceError(
                f"{label}: timed out reading the body", source=source, reason="timeout"
            ) from exc
        except httpx.TransportError as exc:
            raise TransientSourceError(
                f"{label}: connection lost reading the body: {exc}", source=source, reason="network"
            ) from exc
        return b"".join(chunks)

    def _raise_for_status(self, response: httpx.Response, label: str, source: str) -> None:
        code = response.status_code
        if code < 400:
            return
        if code == 429 or code >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"), self._wall())
            raise TransientSourceError(
                f"{label}: HTTP {code}",
                source=source,
                reason=f"http_{code}",
                retry_after=retry_after,
            )
        if code == 403 and (
            response.headers.get("x-ratelimit-remaining") == "0"
            or "retry-after" in response.headers
        ):
            # GitHub-style rate limiting answers 403, not 429: a wait, not a credentials problem.

            limit = read_rate_limit(response.headers, now_epoch=self._wall())
            retry_after = parse_retry_after(response.headers.get("retry-after"), self._wall())
            raise TransientSourceError(
                f"{label}: HTTP 403 rate limit exhausted",
                source=source,
                reason="rate_limited",
                retry_after=retry_after if retry_after is not None else limit.reset_seconds,
            )
        if code in (401, 403):
            raise SourceAuthError(
                f"{label}: HTTP {code}: access refused; check the source's credentials",
                source=source,
                reason=f"http_{code}",
            )
        if code == 410:
            raise SourceGoneError(
                f"{label}: HTTP 410 Gone: the source was removed; it is disabled until the "
                "config is fixed",
                source=source,
                reason="http_410",
                permanent=True,
            )
        if code == 404:
            raise SourceGoneError(
                f"{label}: HTTP 404 Not Found; check the URL", source=source, reason="http_404"
            )
        raise SourceError(f"{label}: HTTP {code}", source=source, reason=f"http_{code}")


def make_client(
    settings: Settings,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    host_min_interval_s: float | None = None,
    stop: threading.Event | None = None,
    limits: Limits | None = None,
) -> HttpClient:
    """An ``HttpClient`` configured from settings; pass ``transport`` to mock the outside world
    and ``limits`` to share quotas, politeness and breakers (default: this process's own).
    The client owns ``limits`` and closes them with itself."""
    client = httpx.Client(
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        timeout=httpx.Timeout(settings.http_timeout_s, connect=min(10.0, settings.http_timeout_s)),
        follow_redirects=True,
        transport=transport,
    )
    return HttpClient(
        client,
        max_body_bytes=settings.max_body_bytes,
        max_retries=settings.max_retries,
        deadline_s=settings.http_deadline_s,
        stop=stop,
        limits=limits,
        host_min_interval_s=(
            settings.host_min_interval_s if host_min_interval_s is None else host_min_interval_s
        ),
        sleep=sleep,
    )
