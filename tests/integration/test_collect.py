"""`collect`: real `-cover` binaries with the injected server on loopback, scraped into a
collection or to S3 (moto's server), then compiled: the numbers equal `go tool covdata` on
the snapshots the servers served, fetched independently here with urllib."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from coverage_collector import collect, compile, download
from coverage_collector.cli import main
from coverage_collector.collect import PortRange
from tests.helpers.gofixtures import PROGRAMS, textfmt_rows
from tests.helpers.s3fixtures import MotoServer, S3Env
from tests.helpers.servedfixtures import (
    Binaries,
    Served,
    compiled_binaries,
    fetch,
    oracle,
    write_snapshot,
)


def test_once_with_targets_equals_covdata_and_names_the_failure(
    binaries: Binaries,
    servers: Served,
    go_toolchain: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a = servers.start(binaries.server, "hello", "LOUD")
    b = servers.start(binaries.server, "lengthy")
    c = servers.start(binaries.other)
    plain = servers.start(binaries.plain)  # built without -cover: answers 500
    collection = tmp_path / "collection"
    argv = ["collect", "--once", "--collection", str(collection), "--host", "ci-1"]
    for process in (a, b, c, plain):
        argv += ["--target", process.url]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"{plain.url}/coverage: HTTP 500: Failed to collect metadata" in err
    assert "snapshots: 3" in err
    entries = sorted(p.name for p in (collection / "coverage").iterdir())
    assert entries == ["ci-1-other", "ci-1-server"]
    metadata = json.loads((collection / "coverage" / "ci-1-server" / "metadata.json").read_text())
    assert metadata["host_process"] is True
    assert sorted(i["pid"] for i in metadata["instances"]) == sorted([a.pid, b.pid])
    info = json.loads((collection / "coverage" / "ci-1-other" / "info.json").read_text())
    assert (info["binary"], info["host"], info["port"], info["pid"]) == (
        "other",
        "127.0.0.1",
        c.port,
        c.pid,
    )
    expected = oracle(go_toolchain, [a, b, c], tmp_path / "oracle")
    assert compiled_binaries(collection) == expected


def test_discover_host_finds_servers_by_their_listening_sockets(
    binaries: Binaries, servers: Served, go_toolchain: Path, tmp_path: Path
) -> None:
    a = servers.start(binaries.server, "x")
    b = servers.start(binaries.other)
    first = servers.first_port
    ports = PortRange(first, first + 49)
    summary = collect.run(
        collect.Options(
            collection=str(tmp_path / "c"), discover="host", port_range=ports, once=True, host="n"
        )
    )
    assert summary.ok, summary.lines()
    assert (summary.servers, summary.snapshots) == (2, 2)
    expected = oracle(go_toolchain, [a, b], tmp_path / "oracle")
    assert compiled_binaries(tmp_path / "c") == expected


def tick_count(go: Path, covdir: Path) -> int:
    """How often `work.Tick` ran, by `go tool covdata textfmt` (its first block's count)."""
    rows = textfmt_rows(go, covdir)
    source = (PROGRAMS / "served" / "work" / "work.go").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if text.startswith("func Tick"))
    counts = [
        int(row.rsplit(" ", 1)[1])
        for row in rows
        if row.startswith("example.com/served/work/work.go:")
        and int(row.split(":")[1].split(".")[0]) == line + 1  # the body's first block
    ]
    return max(counts)


def test_a_continuous_run_follows_restarts_execs_and_growing_counters(
    binaries: Binaries, servers: Served, go_toolchain: Path, tmp_path: Path
) -> None:
    ticking = servers.start(binaries.server, "tick", env={"SERVED_TICK": "20ms"})
    restarted = servers.start(binaries.server, "first-life")
    execing = servers.start(
        binaries.server,
        "exec",
        env={"SERVED_EXEC": str(binaries.other), "SERVED_EXEC_AFTER": "1500ms"},
    )
    early = fetch(ticking.url)
    options = collect.Options(
        collection=str(tmp_path / "c"),
        targets=(ticking.url, restarted.url, execing.url),
        duration=14.0,
        host="n",
    )
    result: list[collect.Summary] = []
    thread = threading.Thread(target=lambda: result.append(collect.run(options)))
    thread.start()
    time.sleep(2.5)
    servers.stop(restarted)  # its last snapshot stands; a new process takes its port
    again = servers.start(
        binaries.server, "second-life", env={"COVERAGE_PORT": str(restarted.port)}
    )
    assert again.port == restarted.port
    thread.join(timeout=60)
    [summary] = result
    assert summary.ok, summary.lines()
    # ticking, restarted, its successor, execing and what it became: five instances
    assert summary.servers == 5
    assert summary.snapshots >= 5 + 10  # the ticking one alone, every second for 14 s
    entry = tmp_path / "c" / "coverage" / "n-server"
    metadata = json.loads((entry / "metadata.json").read_text())
    pids = sorted(i["pid"] for i in metadata["instances"])
    assert pids == sorted([ticking.pid, restarted.pid, again.pid, execing.pid])
    assert (tmp_path / "c" / "coverage" / "n-other").is_dir()  # the exec'd program
    # the counters grew: Go's own covdata counts more runs of Tick in the last snapshot
    write_snapshot(tmp_path / "early", early)
    newest = next(entry.glob(f"covcounters.*.{ticking.pid}.*"))
    late = tmp_path / "late"
    late.mkdir()
    for path in (newest, *entry.glob("covmeta.*")):
        shutil.copy2(path, late / path.name)
    before, after = tick_count(go_toolchain, tmp_path / "early"), tick_count(go_toolchain, late)
    assert after > before + 100  # 20 ms ticks over more than ten seconds
    summary_of_compile = compile.run(compile.Options(collection=str(tmp_path / "c")))
    assert summary_of_compile.ok


def test_upload_to_s3_is_what_download_reads_back(
    binaries: Binaries,
    servers: Served,
    go_toolchain: Path,
    tmp_path: Path,
    moto_s3: MotoServer,
    s3: Any,
    s3_env: S3Env,
) -> None:
    a = servers.start(binaries.server, "hello")
    b = servers.start(binaries.other)
    bucket = f"collect-{int(time.time() * 1000)}"
    s3.create_bucket(Bucket=bucket)
    argv = ["collect", "--upload", f"s3://{bucket}/ci/cluster-1", "--host", "node-1"]
    argv += ["--endpoint-url", moto_s3.endpoint, "--target", a.url, "--target", b.url]
    assert main([*argv, "--duration", "2.5"]) == 0
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    server_keys = [k for k in keys if k.split("/")[5] == "server"]
    assert {k.split("/")[2:4] == ["node-1", "_host_"] for k in keys} == {True}
    names = {k.rsplit("/", 1)[1].rsplit(".", 1)[-1] for k in server_keys if "covcounters" in k}
    assert names == {"1", "2"}  # snapshots toggle between two keys
    assert any(k.endswith("/info.json") for k in server_keys)
    collection = tmp_path / "downloaded"
    options = download.Options(
        collection=str(collection),
        bucket=bucket,
        prefixes=("ci/cluster-1",),
        endpoint_url=moto_s3.endpoint,
        region="us-east-1",
    )
    fetched = download.run(options)
    assert fetched.ok and fetched.host_entries == 2 and fetched.instances == 2
    expected = oracle(go_toolchain, [a, b], tmp_path / "oracle")
    assert compiled_binaries(collection) == expected


def test_sigterm_ends_a_run_after_a_last_snapshot(
    binaries: Binaries, servers: Served, tmp_path: Path
) -> None:
    process = servers.start(binaries.server, "x", env={"SERVED_TICK": "10ms"})
    collection = tmp_path / "c"
    argv = [sys.executable, "-m", "coverage_collector", "collect", "--target", process.url]
    argv += ["--collection", str(collection), "--host", "n"]
    collector = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    entry = collection / "coverage" / "n-server"
    while not (entry / "metadata.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    collector.send_signal(signal.SIGTERM)
    _, err = collector.communicate(timeout=30)
    assert collector.returncode == 0, err
    assert "servers: 1 process instances" in err
    snapshots = int(err.split("snapshots: ", 1)[1].split()[0])
    assert snapshots >= 3  # the first, one a second, and the last on SIGTERM
