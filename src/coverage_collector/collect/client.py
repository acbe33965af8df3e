"""Talking to coverage servers over plain HTTP: `HEAD /health` and `GET /coverage`.

`http.client` directly, on purpose: the servers are unauthenticated and untrusted, so no
credential may ever reach them. No environment proxy, no `.netrc`, no cookies, no
redirects, no `Authorization` header: a request carries only its method, path and
`Host`. Every request has a timeout, every body a size cap (a larger answer is refused
without reading it), and a transient failure (a reset, a 503 while the process is busy)
is retried with backoff before it counts.
"""

from __future__ import annotations

import http.client
import socket
import time
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from coverage_collector.collect.protocol import ServerIdentity, parse_identity

MAX_RESPONSE_BYTES = 256 << 20
"""Bytes in one `/coverage` answer: base64 of a meta file and counters (MBs for large binaries)."""
ATTEMPTS = 3
BACKOFF = 0.2
"""Seconds before the second attempt; doubled before each next."""
_RETRIED_STATUSES = frozenset({502, 503, 504})


class ServerError(Exception):
    """A request failed (after its retries); the message says how, in one line."""


class Tunnel(Protocol):
    """How to reach an endpoint that is not on this machine's network (a pod's port
    through the API server's port-forward)."""

    def connect(self, port: int, timeout: float) -> socket.socket: ...


@dataclass(frozen=True)
class Endpoint:
    """Where a coverage server listens: `host:port`, or a pod's port (`host` is then
    `namespace/pod`, reached through `tunnel`)."""

    host: str
    port: int
    tunnel: Tunnel | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """`http://HOST:PORT` (a path is ignored); ValueError for anything else."""
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme != "http" or not parts.hostname or parts.username or parts.password:
            raise ValueError(f"not an http://HOST:PORT address: {url}")
        return cls(parts.hostname, parts.port or 80)

    @property
    def url(self) -> str:
        """The endpoint as messages name it: its URL, or `pod NAMESPACE/POD:PORT`."""
        if self.tunnel is not None:
            return f"pod {self.host}:{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    """Names lower-cased; a repeated header keeps its first value."""
    body: bytes


def request(
    endpoint: Endpoint, method: str, path: str, *, timeout: float, cap: int = MAX_RESPONSE_BYTES
) -> Response:
    """One request, retried on transient failures; ServerError when it cannot be made."""
    delay = BACKOFF
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = _once(endpoint, method, path, timeout, cap)
        except ConnectionRefusedError:
            raise ServerError(f"{endpoint.url}: connection refused") from None
        except (OSError, http.client.HTTPException) as exc:
            failure = f"{endpoint.url}{path}: {_reason(exc)}"
        else:
            if response.status not in _RETRIED_STATUSES:
                return response
            failure = f"{endpoint.url}{path}: HTTP {response.status}"
        if attempt < ATTEMPTS:
            time.sleep(delay)
            delay *= 2
    raise ServerError(failure)


class _TunneledConnection(http.client.HTTPConnection):
    """An HTTP connection over a tunnel's socket (`Host` names the server's own port)."""

    def __init__(self, endpoint: Endpoint, timeout: float) -> None:
        super().__init__("127.0.0.1", endpoint.port, timeout=timeout)
        self.endpoint = endpoint

    def connect(self) -> None:
        assert self.endpoint.tunnel is not None
        self.sock = self.endpoint.tunnel.connect(self.endpoint.port, self.timeout or 30.0)


def _once(endpoint: Endpoint, method: str, path: str, timeout: float, cap: int) -> Response:
    connection = (
        _TunneledConnection(endpoint, timeout)
        if endpoint.tunnel is not None
        else http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout)
    )
    try:
        connection.request(method, path, headers={"Accept-Encoding": "identity"})
        reply = connection.getresponse()
        headers: dict[str, str] = {}
        for name, value in reply.getheaders():
            headers.setdefault(name.lower(), value)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            raise ServerError(f"{endpoint.url}{path}: answer of {length} bytes (cap {cap})")
        body = b"" if method == "HEAD" else reply.read(cap + 1)
        if len(body) > cap:
            raise ServerError(f"{endpoint.url}{path}: answer over {cap} bytes")
        return Response(reply.status, headers, body)
    finally:
        connection.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def probe(endpoint: Endpoint, *, timeout: float = 3.0) -> ServerIdentity:
    """`HEAD /health`: the server's identity; ServerError if nothing answers, ProtocolError
    if what answers is not a coverage server."""
    response = request(endpoint, "HEAD", "/health", timeout=timeout)
    return parse_identity(response.headers)


def coverage(
    endpoint: Endpoint, *, nometa: bool, timeout: float = 30.0, cap: int = MAX_RESPONSE_BYTES
) -> Response:
    """`GET /coverage[?nometa=1]`; ServerError unless it answers 200."""
    path = "/coverage?nometa=1" if nometa else "/coverage"
    response = request(endpoint, "GET", path, timeout=timeout, cap=cap)
    if response.status != 200:
        first = response.body[:200].decode("utf-8", "replace").splitlines()[:1]
        said = f": {first[0]}" if first else ""
        raise ServerError(f"{endpoint.url}{path}: HTTP {response.status}{said}")
    return response
