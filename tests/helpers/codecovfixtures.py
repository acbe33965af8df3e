"""A fake Codecov upload API for real runs of codecov-cli (standard library only).

No Codecov server can run here (it is a hosted service with no local build), so
:class:`CodecovServer` implements exactly the endpoints that ``codecovcli upload-process``
calls (codecov-cli 11.x, see ``docs/test-infra.md`` "codecov-cli"), and nothing else:

1. ``POST /upload/<service>/<org>::::<repo>/commits``: create the commit;
2. ``POST .../commits/<sha>/reports``: create the report;
3. ``POST .../commits/<sha>/reports/<code>/uploads``: answers JSON whose absolute
   ``raw_upload_location`` points back to this server (``/storage/<n>``);
4. ``PUT /storage/<n>``: the JSON envelope; ``coverage_files[].data`` is each file,
   zlib-compressed and base64-encoded.

Every request is recorded (:class:`Recorded`: method, path, headers, decoded JSON body, and for
the PUT the decoded coverage files). :meth:`CodecovServer.fail` makes one endpoint answer an
error status; :meth:`CodecovServer.hang` makes it accept the request and never answer, until the
server stops (codecov-cli sets no request timeout, so this is how a dead server looks to it).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
import threading
import urllib.parse
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

COMMITS = "commits"
REPORTS = "reports"
UPLOADS = "uploads"
STORAGE = "storage"
ENDPOINTS = (COMMITS, REPORTS, UPLOADS, STORAGE)
"""Names of the four endpoints, in the order codecov-cli calls them."""

TOKEN_SENTINEL = "cc-token-SECRET-do-not-log-9f3e"
"""A Codecov token that must reach the server's Authorization header and nowhere else."""

_ROUTES = (
    (COMMITS, "POST", re.compile(r"/upload/(?P<service>[^/]+)/(?P<slug>[^/]+)/commits\Z")),
    (
        REPORTS,
        "POST",
        re.compile(r"/upload/(?P<service>[^/]+)/(?P<slug>[^/]+)/commits/(?P<sha>[^/]+)/reports\Z"),
    ),
    (
        UPLOADS,
        "POST",
        re.compile(
            r"/upload/(?P<service>[^/]+)/(?P<slug>[^/]+)/commits/(?P<sha>[^/]+)"
            r"/reports/(?P<code>[^/]+)/uploads\Z"
        ),
    ),
    (STORAGE, "PUT", re.compile(r"/storage/(?P<n>[0-9]+)\Z")),
)


def codecov_cli_path() -> str | None:
    """Return the ``codecovcli`` of this environment (next to the interpreter) or on PATH."""
    here = Path(sys.executable).parent / "codecovcli"
    return str(here) if here.is_file() else shutil.which("codecovcli")


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    """URL path, percent-decoded (e.g. ``/upload/github/org::::repo/commits``)."""
    endpoint: str
    """One of :data:`ENDPOINTS`, or ``""`` for a path codecov-cli should never ask for."""
    params: dict[str, str]
    """Parts of the path: ``service``, ``slug`` (``org::::repo``), ``sha``, ``code``."""
    headers: dict[str, str]
    """Request headers, names lower-cased."""
    body: Any
    """The JSON body (commits, reports, uploads, the PUT envelope); None when not JSON."""
    files: dict[str, str] = field(default_factory=dict)
    """PUT only: coverage file name -> the file's text (base64 + zlib decoded)."""

    @property
    def org_repo(self) -> tuple[str, str]:
        """``(org, repo)`` from the encoded slug ``org::::repo``."""
        org, _, repo = self.params.get("slug", "").partition("::::")
        return org, repo


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: CodecovServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request log."""

    def _handle(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        endpoint, params = _route(self.command, path)
        record = _record(self.command, path, endpoint, params, dict(self.headers.items()), raw)
        owner._add(record)
        if endpoint in owner.hanging:
            owner._released.wait()  # accept, read, never answer
            self.close_connection = True
            return
        if not endpoint:
            self._send(404, {"detail": "Not found."})
        elif endpoint in owner.failing:
            status, detail = owner.failing[endpoint]
            self._send(status, {"detail": detail})
        elif endpoint == COMMITS:
            self._send(201, {"commitid": (record.body or {}).get("commitid"), "state": "pending"})
        elif endpoint == REPORTS:
            self._send(201, {"external_id": f"report-{params['sha'][:12]}", "code": "default"})
        elif endpoint == UPLOADS:
            location = f"{owner.url}/storage/{owner._next_storage()}"
            self._send(201, {"raw_upload_location": location, "url": f"{owner.url}/ui"})
        else:
            self._send(200, None)

    def _send(self, status: int, payload: Any) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = _handle  # noqa: N815 - http.server names


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    for name, verb, pattern in _ROUTES:
        match = pattern.match(path)
        if match and method == verb:
            return name, match.groupdict()
    return "", {}


def _record(
    method: str,
    path: str,
    endpoint: str,
    params: dict[str, str],
    headers: dict[str, str],
    raw: bytes,
) -> Recorded:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    files = {}
    if endpoint == STORAGE and isinstance(body, dict):
        for item in body.get("coverage_files", []):
            files[item["filename"]] = zlib.decompress(base64.b64decode(item["data"])).decode()
    lowered = {k.lower(): v for k, v in headers.items()}
    return Recorded(method, path, endpoint, params, lowered, body, files)


class CodecovServer:
    """The fake Codecov API on 127.0.0.1 at a free port; use as a context manager.

    Requests are in :attr:`requests`, in arrival order.
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.failing: dict[str, tuple[int, str]] = {}
        self.hanging: set[str] = set()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._storage = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: codecov-cli's ``-u`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def fail(self, endpoint: str, status: int, detail: str = "injected failure") -> None:
        """Answer every request to `endpoint` with `status` and ``{"detail": detail}``."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        self.failing[endpoint] = (status, detail)

    def hang(self, endpoint: str) -> None:
        """Accept every request to `endpoint` and never answer (until :meth:`stop`)."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        self.hanging.add(endpoint)

    def of(self, endpoint: str) -> list[Recorded]:
        """The recorded requests to `endpoint`."""
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def _add(self, record: Recorded) -> None:
        with self._lock:
            self.requests.append(record)

    def _next_storage(self) -> int:
        with self._lock:
            self._storage += 1
            return self._storage

    def stop(self) -> None:
        """Release hanging requests and stop serving."""
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> CodecovServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
