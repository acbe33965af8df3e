"""Real coverage servers for the producer side's tests: the `served` program, injected with
the shipped coverage server by `inject`, built with `go build -cover`, run on loopback.

`tests/goprograms/served` is copied to a scratch tree (inject writes into it), injected,
and built into `server` (long-running, optionally ticking, exec'ing or exiting) and
`other` (what `server` becomes when it exec's); `plain` is `server` built without
`-cover`, whose server answers 500. `Served` starts them with a chosen first port, bound to
127.0.0.1, and stops them. Snapshots are fetched here with urllib, independently of the
code under test, so a test can hand exactly what a server served to `go tool covdata`.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from coverage_collector import compile, inject
from coverage_collector.compile import DEFAULT_EXCLUDES
from tests.helpers.clusterfixtures import Expected, covdata_numbers, stored_numbers
from tests.helpers.gofixtures import PROGRAMS, cache_root, go_env

PORT_HEADER = "X-Art-Coverage-Server"


@dataclass(frozen=True)
class Binaries:
    """The built programs and the injected source tree they came from."""

    tree: Path
    server: Path
    other: Path
    plain: Path


def build_served(go: Path, work: Path) -> Binaries:
    """Copy, inject and build the `served` program (Go's build cache makes this cheap)."""
    tree = work / "served"
    shutil.copytree(PROGRAMS / "served", tree)
    summary = inject.run(inject.Options(dirs=(str(tree),)))
    assert summary.ok, summary.lines()
    env = go_env(cache_root())
    bins = work / "bin"
    built = {}
    for name, target, flags in (
        ("server", "./cmd/server", ["-cover", "-covermode=atomic"]),
        ("other", "./cmd/other", ["-cover", "-covermode=atomic"]),
        ("plain", "./cmd/server", []),
    ):
        built[name] = bins / name
        subprocess.run(
            [str(go), "build", *flags, "-o", str(built[name]), target],
            cwd=tree,
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )
    return Binaries(tree, built["server"], built["other"], built["plain"])


def free_port_block(size: int = 60) -> int:
    """A first port with `size` free ports after it (best effort: ports are probed).

    Blocks are looked for below the kernel's ephemeral range first: right after a run of
    many connections, hundreds of its ports sit in TIME_WAIT for a minute, scattered so
    that a block of 200 ports inside it is rarely free."""
    low = _ephemeral_low()
    candidates = [random.randrange(10_000, max(low - size, 10_001)) for _ in range(50)]
    for start in candidates:
        if start + size < 65000 and all(_free(p) for p in range(start, start + size)):
            return start
    raise RuntimeError("no block of free ports")


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (32768 when it can't be read)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free(port: int) -> bool:
    """Whether a server could listen on `port` now: Go's listeners set SO_REUSEADDR, so a
    port held only by connections in TIME_WAIT (a previous run's) counts as free."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class Process:
    """One started server process."""

    binary: Path
    popen: subprocess.Popen[bytes]
    port: int = 0

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Served:
    """Starts server processes on loopback and stops them all at the end."""

    first_port: int
    processes: list[Process] = field(default_factory=list)

    def start(
        self,
        binary: Path,
        *args: str,
        env: Mapping[str, str] | None = None,
        wait: bool = True,
    ) -> Process:
        """Start `binary args`, its server from `first_port` on 127.0.0.1; with `wait`,
        return once its server answers (its port found among the next 50)."""
        run_env = {
            "PATH": os.environ.get("PATH", ""),
            "COVERAGE_PORT": str(self.first_port),
            "COVERAGE_BIND_ADDRESS": "127.0.0.1",
            **(env or {}),
        }
        popen = subprocess.Popen(
            [str(binary), *args],
            env=run_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        process = Process(binary, popen)
        self.processes.append(process)
        if wait:
            process.port = self.wait_for(popen.pid)
        return process

    def wait_for(self, pid: int, timeout: float = 30.0) -> int:
        """The port whose server says it is `pid`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for port in range(self.first_port, self.first_port + 50):
                if identity(port).get("X-Art-Coverage-Pid") == str(pid):
                    return port
            time.sleep(0.05)
        raise RuntimeError(f"no coverage server of pid {pid}")

    def stop(self, process: Process) -> None:
        """SIGTERM `process` and wait for it."""
        if process.popen.poll() is None:
            process.popen.send_signal(signal.SIGTERM)
            try:
                process.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()

    def stop_all(self) -> None:
        for process in self.processes:
            self.stop(process)


def served(first_port: int) -> Iterator[Served]:
    """A `Served` that stops its processes when the test ends (for a fixture)."""
    runner = Served(first_port)
    try:
        yield runner
    finally:
        runner.stop_all()


def identity(port: int) -> dict[str, str]:
    """The headers of `HEAD /health` on `port`; {} when nothing answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/health", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return dict(response.headers)
    except OSError:
        return {}


@dataclass(frozen=True)
class Snapshot:
    """What one `GET /coverage` served, decoded."""

    meta_name: str
    meta: bytes
    counters_name: str
    counters: bytes
    headers: dict[str, str]


def fetch(url: str, *, nometa: bool = False) -> Snapshot:
    """GET `url`/coverage and decode it (urllib: independent of the collector)."""
    query = "?nometa=1" if nometa else ""
    with urllib.request.urlopen(f"{url}/coverage{query}", timeout=10) as response:
        body = json.loads(response.read())
        headers = dict(response.headers)
    return Snapshot(
        body["meta_filename"],
        base64.b64decode(body["meta_data"]),
        body["counters_filename"],
        base64.b64decode(body["counters_data"]),
        headers,
    )


def write_snapshot(directory: Path, snapshot: Snapshot) -> None:
    """Save a snapshot's files as a GOCOVERDIR holds them (for `go tool covdata`)."""
    directory.mkdir(parents=True, exist_ok=True)
    if snapshot.meta_name:
        (directory / snapshot.meta_name).write_bytes(snapshot.meta)
    (directory / snapshot.counters_name).write_bytes(snapshot.counters)


def oracle(go: Path, processes: list[Process], scratch: Path) -> dict[str, Expected]:
    """`go tool covdata` on a snapshot of each process fetched here, by binary name.

    The servers do not tick, so their application counters stand still: what collect
    fetched is what this fetches (only the server's own code, excluded, differs)."""
    dirs: dict[str, list[Path]] = {}
    for process in processes:
        snapshot = fetch(process.url)
        directory = scratch / str(process.pid)
        write_snapshot(directory, snapshot)
        dirs.setdefault(snapshot.headers["X-Art-Coverage-Binary"], []).append(directory)
    return {
        binary: covdata_numbers(go, found, scratch / f"merged-{binary}", DEFAULT_EXCLUDES)
        for binary, found in dirs.items()
    }


def compiled_binaries(collection: Path) -> dict[str, Expected]:
    """Compile `collection`; each binary's numbers, by binary name."""
    summary = compile.run(compile.Options(collection=str(collection), max_concurrency=1))
    assert summary.ok, summary.lines()
    conn = sqlite3.connect(collection / "coverage.db")
    rows = conn.execute("SELECT id, name FROM binaries").fetchall()
    return {name: stored_numbers(conn, "binaries", key) for key, name in rows}
