"""The demo: the bundled sample collection, decoded without Go, agrees with covdata."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from coverage_collector import compile
from coverage_collector.collection import list_entries
from coverage_collector.demo import copy_sample, run_demo
from tests.helpers.gofixtures import cache_root, covdata, go_env


def test_demo_command_prints_every_binary(tmp_path: Path) -> None:
    # The README's demo command works from any directory and logs into the collection.
    result = subprocess.run(
        [sys.executable, "-m", "coverage_collector", "demo", "--output", "out"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for binary in ("inventory-api", "node-agent", "kv-store", "host-monitor"):
        assert binary in result.stdout
    assert "4 binaries" in result.stdout
    assert list((tmp_path / "out" / "logs").glob("*.log"))


def test_sample_layout_is_realistic(tmp_path: Path) -> None:
    # Deployment with 3 replicas (one restarted), a DaemonSet on 3 nodes, a StatefulSet, a host.
    copy_sample(str(tmp_path))
    entries = list_entries(str(tmp_path))
    assert all(not e.problems for e in entries)
    pods = [e.metadata.pod_name for e in entries if e.metadata.namespace == "shop"]
    assert len(pods) == 3
    assert sum(e.metadata.host_process for e in entries) == 1
    restarted = [e for e in entries if len(list(Path(e.path).glob("covcounters.*"))) == 2]
    assert len(restarted) == 1
    info = json.loads((Path(restarted[0].path) / "info.json").read_text())
    assert info["source_url"].startswith("https://") and len(info["source_commit"]) == 40


def test_compiled_binaries_match_covdata(tmp_path: Path, go_toolchain: Path) -> None:
    # Each binary's covered statements equal covdata's on all of its entries merged,
    # apart from the injected coverage_server.go.
    copy_sample(str(tmp_path))
    assert compile.run(compile.Options(collection=str(tmp_path))).ok
    conn = sqlite3.connect(tmp_path / "coverage.db")
    binaries = conn.execute("SELECT id, name, statements, covered FROM binaries").fetchall()
    assert len(binaries) == 4
    for binary_id, name, statements, covered in binaries:
        entries = conn.execute("SELECT dir_name FROM entries WHERE binary_id = ?", (binary_id,))
        dirs = ",".join(str(tmp_path / "coverage" / entry) for (entry,) in entries)
        out = tmp_path / f"{name}.txt"
        result = covdata(go_toolchain, ["textfmt", f"-i={dirs}", f"-o={out}"], go_env(cache_root()))
        assert result.returncode == 0, result.stderr
        total = hit = 0
        for line in out.read_text().splitlines()[1:]:
            if "/coverage_server.go:" in line:
                continue
            stmts, count = map(int, line.rsplit(" ", 2)[1:])
            total += stmts
            hit += stmts if count else 0
        assert (statements, covered) == (total, hit)
        assert 0 < covered < statements


def test_demo_never_replaces_real_coverage_data(tmp_path: Path) -> None:
    # Pointing the demo at a real collection is refused; a previous demo is replaced.
    (tmp_path / "real" / "coverage" / "entry").mkdir(parents=True)
    result = subprocess.run(
        [sys.executable, "-m", "coverage_collector", "demo", "--output", str(tmp_path / "real")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1 and "already holds coverage data" in result.stderr
    assert (tmp_path / "real" / "coverage" / "entry").is_dir()
    copy_sample(str(tmp_path / "demo"))
    copy_sample(str(tmp_path / "demo"))
    assert len(list_entries(str(tmp_path / "demo"))) == 10


@pytest.mark.parametrize("damage", ["bad-json", "bad-meta"])
def test_demo_summary_reports_damaged_entries(tmp_path: Path, damage: str) -> None:
    # A damaged entry is reported by name and the other entries still count.
    copy_sample(str(tmp_path))
    entries = list_entries(str(tmp_path))
    victim = Path(entries[0].path)
    if damage == "bad-json":
        (victim / "metadata.json").write_text("{not json")
    else:
        next(victim.glob("covmeta.*")).write_bytes(b"garbage")
    console = Console(file=io.StringIO(), width=200)
    assert run_demo(str(tmp_path), console) == 1
    output = console.file.getvalue()
    assert "9 entries" not in output and "10 entries" in output
    assert "1 entries with errors" in output


def test_summary_names_each_binarys_owners(tmp_path: Path) -> None:
    # The sample's workloads are recognised from their pod names and the node names.
    copy_sample(str(tmp_path))
    compile.run(compile.Options(collection=str(tmp_path)))
    conn = sqlite3.connect(tmp_path / "coverage.db")
    owners = set(conn.execute("SELECT binary_name, owner_type, namespace, owner_name FROM owners"))
    assert ("inventory-api", "Deployment", "shop", "inventory-api") in owners
    assert ("node-agent", "DaemonSet", "monitoring", "node-agent") in owners
    assert ("kv-store", "StatefulSet", "storage", "kv-store") in owners
    assert ("host-monitor", "Host", "", "host-monitor") in owners
    assert len(owners) == 5  # plus the bare e2e pod


def test_demo_resolves_sources_from_the_bundled_repositories(tmp_path: Path) -> None:
    # The sample's info.json commits are in the git bundles shipped with it: every binary
    # resolves exactly, with no network.
    copy_sample(str(tmp_path))
    console = Console(file=io.StringIO(), width=200)
    assert run_demo(str(tmp_path), console) == 0
    conn = sqlite3.connect(tmp_path / "coverage.db")
    rows = conn.execute(
        "SELECT b.name, s.confidence, s.resolved, s.unresolved, s.checkout FROM binary_sources s "
        "JOIN binaries b ON b.id = s.binary_id"
    ).fetchall()
    assert len(rows) == 4
    for name, confidence, resolved, unresolved, checkout in rows:
        assert (confidence, unresolved) == ("exact", 0) and resolved > 0, name
        assert checkout.startswith(f"repos/github.com/example-org/{name}/")
    assert "sources: binaries 4 exact" in console.file.getvalue()
