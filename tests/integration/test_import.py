"""`cluster import`: GOCOVERDIRs written by real runs of an injected `-cover` program become
entries whose compiled numbers equal `go tool covdata` on the files the runs wrote, with
every process counted once (snapshots of one process, re-imports, later copies)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from coverage_collector import blobs, compile
from coverage_collector.cli import main
from coverage_collector.compile import DEFAULT_EXCLUDES
from tests.helpers.clusterfixtures import Expected, covdata_numbers, stored_numbers
from tests.helpers.gofixtures import textfmt_rows
from tests.helpers.servedfixtures import (
    Binaries,
    Served,
    fetch,
    write_snapshot,
)


def run_to_exit(servers: Served, binary: Path, covdir: Path, *args: str, tick: str = "") -> str:
    """Run `binary args` with GOCOVERDIR=covdir until SIGTERM; return its counter file name.

    With `tick`, a snapshot is fetched over HTTP first and saved into `covdir` too, as a
    second (older) snapshot of the same process would be."""
    covdir.mkdir(parents=True, exist_ok=True)
    env = {"GOCOVERDIR": str(covdir), **({"SERVED_TICK": tick} if tick else {})}
    process = servers.start(binary, *args, env=env)
    if tick:
        write_snapshot(covdir, fetch(process.url))
    before = set(covdir.glob("covcounters.*"))
    servers.stop(process)
    [written] = [p for p in covdir.glob("covcounters.*") if p not in before]
    assert f".{process.pid}." in written.name
    return written.name


def compiled(collection: Path) -> sqlite3.Connection:
    summary = compile.run(compile.Options(collection=str(collection), max_concurrency=1))
    assert summary.ok, summary.lines()
    return sqlite3.connect(collection / "coverage.db")


def covdata_counts(go: Path, covdir: Path) -> list[int]:
    """Every unit's count, as `go tool covdata textfmt` merges the directory (sorted)."""
    return sorted(int(line.rsplit(" ", 1)[1]) for line in textfmt_rows(go, covdir))


def only(covdir: Path, keep: set[str], scratch: Path) -> Path:
    """A copy of `covdir` with its meta file and only the counter files `keep`."""
    scratch.mkdir(parents=True)
    for path in covdir.iterdir():
        if path.name.startswith("covmeta.") or path.name in keep:
            shutil.copy2(path, scratch / path.name)
    return scratch


def the_binary(conn: sqlite3.Connection) -> tuple[Expected, list[int]]:
    (binary_id, blob), *rest = conn.execute("SELECT id, counts_blob FROM binaries").fetchall()
    assert not rest
    return stored_numbers(conn, "binaries", binary_id), sorted(
        int(c) for c in blobs.unpack_counts(blob)
    )


def test_import_counts_each_process_once(
    binaries: Binaries, servers: Served, go_toolchain: Path, tmp_path: Path
) -> None:
    covdir = tmp_path / "gocoverdir"
    first = run_to_exit(servers, binaries.server, covdir, "hello", tick="20ms")
    second = run_to_exit(servers, binaries.server, covdir, "LOUD", "lengthy")
    # the same program restarted with the pid of the first (pid 1 in containers): a real
    # counter file of another run, renamed to that pid; it ran code the first did not
    # (and did not tick), so neither run's counters contain the other's
    restart = run_to_exit(servers, binaries.server, tmp_path / "restart", "SHOUT")
    _, meta_hash, first_pid, first_ns = first.split(".")
    reused = f"covcounters.{meta_hash}.{first_pid}.{int(first_ns) + 1}"
    shutil.copy2(tmp_path / "restart" / restart, covdir / reused)
    assert len(list(covdir.glob("covcounters.*"))) == 4  # 3 processes, one seen twice
    # the oracle: the newest snapshot of each process, as the runs wrote them
    oracle = only(covdir, {first, second, reused}, tmp_path / "oracle")
    expected = covdata_numbers(go_toolchain, [oracle], tmp_path / "scratch", DEFAULT_EXCLUDES)
    counts = covdata_counts(go_toolchain, oracle)

    collection = tmp_path / "collection"
    argv = ["cluster", "import", "--collection", str(collection), "--host", "ci-runner"]
    assert main([*argv, str(covdir)]) == 0
    [entry] = (collection / "coverage").iterdir()
    assert entry.name == "ci-runner-server"
    assert the_binary(compiled(collection)) == (expected, counts)
    metadata = json.loads((entry / "metadata.json").read_text())
    assert metadata["binary_name"] == "server" and metadata["host_process"] is True
    assert len(metadata["instances"]) == 3
    # importing the same directory again, or a copy, changes nothing
    assert main([*argv, str(covdir)]) == 0
    assert main([*argv, str(oracle)]) == 0
    assert the_binary(compiled(collection)) == (expected, counts)


def test_a_later_copy_replaces_the_earlier_snapshot(
    binaries: Binaries, servers: Served, go_toolchain: Path, tmp_path: Path
) -> None:
    # `kubectl cp` while the process runs, then again after it exited
    covdir = tmp_path / "gocoverdir"
    covdir.mkdir()
    process = servers.start(binaries.server, "hello", env={"GOCOVERDIR": str(covdir)})
    early = tmp_path / "early"
    write_snapshot(early, fetch(process.url))
    servers.stop(process)
    expected = covdata_numbers(go_toolchain, [covdir], tmp_path / "scratch", DEFAULT_EXCLUDES)
    counts = covdata_counts(go_toolchain, covdir)
    collection = tmp_path / "collection"
    argv = ["cluster", "import", "--collection", str(collection), "--pod", "api-0"]
    assert main([*argv, "--namespace", "shop", str(early)]) == 0
    assert main([*argv, "--namespace", "shop", str(covdir)]) == 0
    [entry] = (collection / "coverage").iterdir()
    assert len(list(entry.glob("covcounters.*"))) == 1
    assert the_binary(compiled(collection)) == (expected, counts)


def test_layout_names_entries_from_paths(
    binaries: Binaries, servers: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    run_to_exit(servers, binaries.server, out / "shop" / "api" / "api-7d9f8c6b5d-x2k4p" / "s", "a")
    run_to_exit(servers, binaries.other, out / "kube-system" / "agent" / "agent-abcde" / "agent")
    (out / "shop" / "notes").mkdir()  # not deep enough: not a leaf
    collection = tmp_path / "collection"
    argv = ["cluster", "import", "--collection", str(collection), "--host", "node-1"]
    layout = ["--layout", "{namespace}/{owner_name}/{pod}/{container}", "--image", "q.io/x:1"]
    assert main([*argv, *layout, "--owner-kind", "DaemonSet", str(out)]) == 0
    found = {}
    for entry in (collection / "coverage").iterdir():
        data = json.loads((entry / "metadata.json").read_text())
        found[entry.name] = tuple(
            data[k] for k in ("namespace", "pod_name", "container", "binary_name", "owner_name")
        )
    assert found == {
        "node-1-shop-api-7d9f8c6b5d-x2k4p-s-server": (
            "shop",
            "api-7d9f8c6b5d-x2k4p",
            {"name": "s", "image": "q.io/x:1"},
            "server",
            "api",
        ),
        "node-1-kube-system-agent-abcde-agent-other": (
            "kube-system",
            "agent-abcde",
            {"name": "agent", "image": "q.io/x:1"},
            "other",
            "agent",
        ),
    }
    conn = compiled(collection)
    owners = set(conn.execute("SELECT owner_type, owner_name, binary_name FROM owners"))
    assert owners == {("DaemonSet", "api", "server"), ("DaemonSet", "agent", "other")}
    # an owner kind without its name (or the reverse) is a mistake, said at once
    assert main([*argv, "--owner-kind", "Deployment", str(out)]) == 2
    assert "--owner-kind and --owner-name" in capsys.readouterr().err
    assert main([*argv, "--layout", "{namespace}/{nope}", str(out)]) == 2
    assert "unknown field {nope}" in capsys.readouterr().err


def test_hostile_files_are_refused_by_name(
    binaries: Binaries, servers: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    covdir = tmp_path / "gocoverdir"
    good = run_to_exit(servers, binaries.server, covdir, "x")
    meta_hash = good.split(".")[1]
    (covdir / "covcounters.not-go").write_bytes(b"x")
    (covdir / f"covcounters.{meta_hash}.7.1").write_bytes(b"\0cwm garbage")
    (covdir / f"covcounters.{'b' * 32}.8.1").write_bytes(b"")  # no meta beside it
    (covdir / f"covmeta.{'c' * 32}").symlink_to("/etc/passwd")
    collection = tmp_path / "collection"
    status = main(["cluster", "import", "--collection", str(collection), str(covdir)])
    assert status == 1
    err = capsys.readouterr().err
    for name in ("covcounters.not-go", f".{meta_hash}.7.1", f"{'b' * 32}.8.1", "c" * 32):
        assert name in err, name
    # the good process still counts, once
    [entry] = (collection / "coverage").iterdir()
    assert [p.name for p in entry.glob("covcounters.*")] == [good]
    assert main(["cluster", "import", "--collection", str(collection), "--pod", "..", str(covdir)])
    assert "pod: is '..'" in capsys.readouterr().err
