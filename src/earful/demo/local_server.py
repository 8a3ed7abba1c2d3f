"""A real HTTP server on 127.0.0.1 (a free port), served from a daemon thread.

The demo's feed server, its simulated social world and its webhook receiver are all this: a
``BaseHTTPRequestHandler`` subclass bound to an ephemeral port, started on ``__enter__`` and
shut down on ``__exit__``. Subclasses build their handler class and call :meth:`_serve` in
``__init__``.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LocalServer:
    """Base of the demo's local servers: ``base_url`` and the context-manager lifecycle."""

    httpd: ThreadingHTTPServer
    _thread: threading.Thread

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        """Bind ``handler`` to a free port on 127.0.0.1 (served once entered)."""
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def send_body(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer ``status`` with ``body`` (Content-Type, Content-Length, then ``headers``)."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)
