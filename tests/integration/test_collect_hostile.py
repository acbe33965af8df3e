"""`collect` against hostile coverage servers (a real HTTP server on loopback that says
whatever a compromised process could): nothing escapes the collection, nothing is
trusted unchecked, no credential is sent, every refusal is named by address."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from coverage_collector import collect

H = "0123456789abcdef0123456789abcdef"
META = bytes(24) + bytes.fromhex(H) + bytes(16)
COUNTERS = bytes(8) + bytes.fromhex(H) + bytes(8)
Answer = Callable[[BaseHTTPRequestHandler], None]


def identity(handler: BaseHTTPRequestHandler, binary: str = "evil") -> None:
    handler.send_header("X-Art-Coverage-Server", "1")
    handler.send_header("X-Art-Coverage-Pid", "7")
    handler.send_header("X-Art-Coverage-Binary", binary)


def json_answer(**fields: object) -> Answer:
    data = {
        "meta_filename": f"covmeta.{H}",
        "meta_data": base64.b64encode(META).decode(),
        "counters_filename": f"covcounters.{H}.7.1",
        "counters_data": base64.b64encode(COUNTERS).decode(),
        "timestamp": 1,
    }
    data.update(fields)
    payload = json.dumps(data).encode()

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        identity(handler)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    return answer


def huge(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    identity(handler)
    handler.send_header("Content-Length", str(1 << 40))
    handler.end_headers()


def endless(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    identity(handler)
    handler.end_headers()  # no length: the body goes on past the cap
    try:
        for _ in range(200):
            handler.wfile.write(b"x" * 65536)
    except ConnectionError:
        pass  # the collector hung up at its cap


def redirect(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(302)
    identity(handler)
    handler.send_header("Location", "http://169.254.169.254/latest/meta-data/")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def silent(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(3)  # accepts, never answers in time


def flaky(failures: int) -> Answer:
    """503 for the first `failures` requests, then a valid answer."""
    seen = [0]
    valid = json_answer()

    def answer(handler: BaseHTTPRequestHandler) -> None:
        seen[0] += 1
        if seen[0] <= failures:
            handler.send_response(503)
            identity(handler)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            valid(handler)

    return answer


class Hostile:
    """One server per answer; records every request's headers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.servers: list[ThreadingHTTPServer] = []

    def serve(self, answer: Answer, binary: str = "evil") -> str:
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                requests.append(dict(self.headers))
                self.send_response(200)
                identity(self, binary)
                self.end_headers()

            def do_GET(self) -> None:
                requests.append(dict(self.headers))
                answer(self)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    found = Hostile()
    yield found
    found.close()


def test_hostile_answers_are_refused_by_address(
    hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # credentials and a proxy in the environment must never reach a coverage server
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRET-SENTINEL")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    cases = {
        hostile.serve(json_answer(meta_filename="covmeta.../../../etc/x")): "not Go's",
        hostile.serve(json_answer(counters_filename=f"covcounters.{H}.7.1/../../x")): "not Go's",
        hostile.serve(json_answer(meta_data="%%%")): "not valid base64",
        hostile.serve(json_answer(counters_filename=f"covcounters.{H}.8.1")): "server's pid 7",
        hostile.serve(huge): "answer of 1099511627776 bytes",
        hostile.serve(endless): "answer over",
        hostile.serve(redirect): "HTTP 302",
        hostile.serve(json_answer(), binary="../../escape"): "not a file name",
    }
    options = collect.Options(
        collection=str(tmp_path / "c"),
        targets=tuple(cases),
        once=True,
        host="n",
        max_response_bytes=1 << 20,
        timeout=5,
    )
    summary = collect.run(options)
    assert not summary.ok and summary.exit_status == 1
    failures = dict(summary.failures)
    for url, message in cases.items():
        assert message in failures.get(url, ""), (url, failures.get(url))
    assert summary.snapshots == 0
    written = [p for p in (tmp_path / "c").rglob("*") if p.is_file()]
    assert written == []  # nothing refused was written, nowhere outside either
    assert not (tmp_path / "escape").exists()
    for headers in hostile.requests:
        assert not {"Authorization", "Cookie", "Proxy-Authorization"} & set(headers)
        assert "SECRET-SENTINEL" not in json.dumps(headers)


def test_a_well_formed_answer_is_written(hostile: Hostile, tmp_path: Path) -> None:
    # the same fake server with a valid (if tiny) answer: the files land in one entry
    url = hostile.serve(json_answer())
    options = collect.Options(collection=str(tmp_path / "c"), targets=(url,), once=True, host="n")
    summary = collect.run(options)
    assert summary.ok and summary.snapshots == 1
    entry = tmp_path / "c" / "coverage" / "n-evil"
    assert (entry / f"covmeta.{H}").read_bytes() == META
    [counters] = entry.glob("covcounters.*")
    assert counters.read_bytes() == COUNTERS and counters.name.startswith(f"covcounters.{H}.7.")


def test_transient_failures_are_retried_and_silence_times_out(
    hostile: Hostile, tmp_path: Path
) -> None:
    recovers, never, mute = hostile.serve(flaky(2)), hostile.serve(flaky(99)), hostile.serve(silent)
    options = collect.Options(
        collection=str(tmp_path / "c"),
        targets=(recovers, never, mute),
        once=True,
        host="n",
        timeout=0.5,
    )
    started = time.monotonic()
    summary = collect.run(options)
    assert time.monotonic() - started < 15
    assert summary.snapshots == 1  # two 503s, then the answer: retried with backoff
    failures = dict(summary.failures)
    assert set(failures) == {never, mute}
    assert failures[never].endswith("HTTP 503")
    assert failures[mute].endswith("timed out")
