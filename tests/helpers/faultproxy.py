"""A fault-injecting HTTP proxy for S3 tests (standard library only).

:class:`FaultProxy` listens on 127.0.0.1 at a free port and forwards every request (method, path
with query, headers including ``Authorization`` and the client's ``Host``, body) to a target
endpoint such as moto's server, then relays the response. A deterministic share of the requests
(a seeded random sequence, drawn in arrival order) instead gets an S3-style ``500 InternalError``
or has its connection closed without any response. Point boto3 (or the program under test) at
:attr:`FaultProxy.endpoint`: moto does not check SigV4 signatures, and the ``Host`` header the
client signed is passed through unchanged.

Every request is recorded in :attr:`FaultProxy.requests` (method, path, query, outcome, status),
so tests can also use the proxy with ``fail_ratio=0, drop_ratio=0`` to count which objects a
program fetched.

Random faults are absorbed by a client's retries. To reach the code that runs when retries are
exhausted, ``fail_always`` names request paths (``/bucket/key``, see :func:`object_path`) that get
an S3 error with a chosen status on EVERY request: ``500 InternalError`` (retried until the
client gives up) or ``403 AccessDenied`` (not retried: the failure is reported at once).
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)

INTERNAL_ERROR_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>InternalError</Code>"
    b"<Message>We encountered an internal error. Please try again.</Message>"
    b"<RequestId>FAULTPROXY0000001</RequestId><HostId>faultproxy</HostId></Error>"
)

S3_ERRORS: dict[int, tuple[str, str]] = {
    403: ("AccessDenied", "Access Denied"),
    404: ("NoSuchKey", "The specified key does not exist."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}
"""Status -> (S3 error code, message) of the errors ``fail_always`` can answer."""


def error_body(status: int) -> bytes:
    """The S3 XML error document for ``status`` (one of :data:`S3_ERRORS`)."""
    code, message = S3_ERRORS[status]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>FAULTPROXY0000002</RequestId><HostId>faultproxy</HostId></Error>"
    ).encode()


def object_path(bucket: str, key: str) -> str:
    """The path-style request path of an object, as :attr:`RequestRecord.path` records it."""
    return f"/{bucket}/{key}"


FORWARDED = "forwarded"
FAILED = "failed"
DROPPED = "dropped"


@dataclass(frozen=True)
class RequestRecord:
    """One request seen by the proxy."""

    method: str
    path: str
    """URL path, percent-decoded (e.g. ``/bucket/key with space``)."""
    query: str
    """Raw query string (``""`` when none)."""
    outcome: str
    """:data:`FORWARDED`, :data:`FAILED` or :data:`DROPPED`."""
    status: int
    """Status sent to the client (0 when dropped; 502 when the target was unreachable)."""

    @property
    def is_object_get(self) -> bool:
        """A GET of an object (path-style ``/bucket/key``, not a listing)."""
        return self.method == "GET" and self.path.count("/") >= 2 and "list-type" not in self.query


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    methods: ClassVar[tuple[str, ...]] = ("GET", "HEAD", "PUT", "POST", "DELETE")

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request log."""

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self._read_body()
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        outcome = proxy._decide(self.command, path)
        always = proxy.fail_always.get(path)
        if always is not None:  # after the draw: the random sequence stays the same
            proxy._record(RequestRecord(self.command, path, split.query, FAILED, always))
            self._send(always, [("Content-Type", "application/xml")], error_body(always))
            return
        if outcome == DROPPED and not proxy.drop_after_forward:
            proxy._record(RequestRecord(self.command, path, split.query, DROPPED, 0))
            self._drop()
            return
        if outcome == FAILED:
            proxy._record(RequestRecord(self.command, path, split.query, FAILED, 500))
            self._send(500, [("Content-Type", "application/xml")], INTERNAL_ERROR_BODY)
            return
        try:
            status, headers, payload = self._forward(body)
        except OSError:
            proxy._record(RequestRecord(self.command, path, split.query, FORWARDED, 502))
            self._send(502, [("Content-Type", "text/plain")], b"target unreachable\n")
            return
        if outcome == DROPPED:  # drop_after_forward: the target saw it, the client gets nothing
            proxy._record(RequestRecord(self.command, path, split.query, DROPPED, 0))
            self._drop()
            return
        proxy._record(RequestRecord(self.command, path, split.query, FORWARDED, status))
        self._send(status, headers, payload)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        proxy = self.server.proxy
        conn = http.client.HTTPConnection(proxy.target_host, proxy.target_port, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() in HOP_BY_HOP or name.lower() in ("content-length", "expect"):
                    continue
                conn.putheader(name, value)
            if body or self.command in ("PUT", "POST"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            payload = resp.read()
            headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            return resp.status, headers, payload
        finally:
            conn.close()

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response_only(status)
        has_length = False
        for name, value in headers:
            if name.lower() == "content-length":
                if self.command != "HEAD":
                    continue  # set from the relayed body below
                has_length = True
            if name.lower() == "server":
                continue
            self.send_header(name, value)
        if self.command != "HEAD" or not has_length:
            self.send_header("Content-Length", str(0 if self.command == "HEAD" else len(payload)))
        self.send_header("Server", "faultproxy")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _handle  # noqa: N815 - http.server names


class FaultProxy:
    """Forward HTTP requests to ``target_endpoint``, failing or dropping a seeded share of them.

    ``fail_ratio``: share answered ``500 InternalError`` (S3 XML body) without forwarding.
    ``drop_ratio``: share whose connection is closed without a response (before forwarding, or
    after it when ``drop_after_forward`` is true, i.e. the target applied the request).
    ``fault_filter(method, path)``: when given, only matching requests may get a fault.
    ``fail_always``: request path (``/bucket/key``) -> the status (a key of :data:`S3_ERRORS`)
    that every request for it gets, whatever the ratios and the filter say.
    Ratios, the filter and ``fail_always`` may be changed while running (``proxy.fail_ratio = 0``).
    """

    def __init__(
        self,
        target_endpoint: str,
        fail_ratio: float = 0.3,
        drop_ratio: float = 0.1,
        seed: int = 1234,
        *,
        drop_after_forward: bool = False,
        fault_filter: Callable[[str, str], bool] | None = None,
        fail_always: Mapping[str, int] | None = None,
    ) -> None:
        target = urllib.parse.urlsplit(target_endpoint)
        if target.scheme != "http" or not target.hostname:
            raise ValueError(f"need an http:// target endpoint, got {target_endpoint!r}")
        self.target_host: str = target.hostname
        self.target_port: int = target.port or 80
        self.fail_ratio = fail_ratio
        self.drop_ratio = drop_ratio
        self.drop_after_forward = drop_after_forward
        self.fault_filter = fault_filter
        self.fail_always: dict[str, int] = dict(fail_always or {})
        unknown = set(self.fail_always.values()) - set(S3_ERRORS)
        if unknown:
            raise ValueError(f"fail_always statuses must be in {sorted(S3_ERRORS)}: {unknown}")
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.requests: list[RequestRecord] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.port: int = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def endpoint(self) -> str:
        """The proxy's endpoint URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    def _decide(self, method: str, path: str) -> str:
        with self._lock:
            draw = self._rng.random()  # drawn for every request: the sequence stays seeded
            if self.fault_filter is not None and not self.fault_filter(method, path):
                return FORWARDED
            if draw < self.fail_ratio:
                return FAILED
            if draw < self.fail_ratio + self.drop_ratio:
                return DROPPED
            return FORWARDED

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def _count(self, outcome: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.outcome == outcome)

    @property
    def forwarded(self) -> int:
        """Requests relayed to the client with the target's answer."""
        return self._count(FORWARDED)

    @property
    def failed(self) -> int:
        """Requests answered with an injected 500."""
        return self._count(FAILED)

    @property
    def dropped(self) -> int:
        """Requests whose connection was closed without a response."""
        return self._count(DROPPED)

    def requests_for(self, path: str) -> list[RequestRecord]:
        """The recorded requests of one path (``/bucket/key``)."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    @property
    def total(self) -> int:
        """All requests seen."""
        with self._lock:
            return len(self.requests)

    def reset_counters(self) -> None:
        """Forget the recorded requests (the random sequence continues)."""
        with self._lock:
            self.requests.clear()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
