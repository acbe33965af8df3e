"""Bad entries are reported, one clear line each, and everything else is still compiled."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from coverage_collector.cli import main
from coverage_collector.compile import DEFAULT_EXCLUDES
from tests.helpers.clusterfixtures import (
    ENTRIES,
    ClusterCollection,
    compile_cluster,
    connect,
    expected_numbers,
    stored_numbers,
)


def entry_of(cluster: ClusterCollection, pod: str) -> Path:
    return cluster.entry_dir(next(e.name for e in ENTRIES if e.pod == pod))


def break_entries(cluster: ClusterCollection) -> dict[str, str]:
    """Damage several entries in different ways; return entry name -> expected message part."""
    broken = {}
    # a truncated counter file next to a good one: the good instance still counts
    restarted = entry_of(cluster, "node-agent-7xk2p")
    counters = sorted(restarted.glob("covcounters.*"))
    data = counters[0].read_bytes()
    counters[0].write_bytes(data[: len(data) // 2])
    broken[restarted.name] = f"{counters[0].name} left out"
    # meta-data that is not a covmeta file
    bad_meta = entry_of(cluster, "kv-store-0")
    next(bad_meta.glob("covmeta.*")).write_bytes(b"\x00c\x00\x00not a meta file at all" * 3)
    broken[bad_meta.name] = "meta-data file"
    # counters without their meta-data
    no_meta = entry_of(cluster, "inventory-api-canary-5b9f6c7d8-xq2zr")
    next(no_meta.glob("covmeta.*")).unlink()
    broken[no_meta.name] = "no covmeta file (1 counter files without it)"
    # malformed metadata.json
    bad_json = entry_of(cluster, "inventory-api-7d9f8c6b5d-b5n7q")
    (bad_json / "metadata.json").write_text('{"pod_name": "x",', encoding="utf-8")
    broken[bad_json.name] = "metadata.json: malformed"
    # a header that lies about the counter mode (the byte after the string table's length)
    lying = cluster.entry_dir(next(e.name for e in ENTRIES if e.host_process and not e.duplicate))
    meta = next(lying.glob("covmeta.*"))
    data = bytearray(meta.read_bytes())
    data[48] = 9
    meta.write_bytes(bytes(data))
    broken[lying.name] = f"{meta.name}: unknown counter mode 9 (set, count or atomic expected)"
    # an entry directory with nothing in it
    empty = cluster.root / "coverage" / "empty-entry"
    empty.mkdir()
    (empty / "metadata.json").write_text('{"namespace": "x"}', encoding="utf-8")
    broken[empty.name] = "no covmeta file"
    return broken


def test_corrupt_entries_are_reported_and_the_rest_compiles(
    cluster: ClusterCollection, tmp_path: Path
) -> None:
    broken = break_entries(cluster)
    summary = compile_cluster(cluster)
    assert not summary.ok
    messages = {}
    for item, message in summary.errors:
        messages.setdefault(item, []).append(message)
    assert set(messages) == set(broken)
    for name, part in broken.items():
        assert any(part in m for m in messages[name]), (name, messages[name])
        assert all("\n" not in m and "Traceback" not in m for m in messages[name])
    conn = connect(cluster)
    statuses = dict(conn.execute("SELECT dir_name, status FROM entries"))
    restarted = entry_of(cluster, "node-agent-7xk2p").name
    assert statuses[restarted] == "partial"
    assert sum(s == "error" for s in statuses.values()) == len(broken) - 1
    # the DaemonSet owner counts its good instances: the truncated file is simply absent
    remaining = [
        p
        for p in sorted(entry_of(cluster, "node-agent-7xk2p").glob("covcounters.*"))
        if p.stat().st_size != min(q.stat().st_size for q in p.parent.glob("covcounters.*"))
    ]
    assert len(remaining) == 1
    truncated = next(
        p for p in entry_of(cluster, "node-agent-7xk2p").glob("covcounters.*") if p not in remaining
    )
    truncated.rename(tmp_path / truncated.name)  # what covdata may see: the good files only
    (owner_id,) = conn.execute("SELECT id FROM owners WHERE namespace = 'monitoring'").fetchone()
    members = cluster.entries_of_owner("monitoring", "node-agent", "node-agent")
    assert stored_numbers(conn, "owners", owner_id) == expected_numbers(
        cluster, members, tmp_path / "oracle", DEFAULT_EXCLUDES
    )
    # untouched owners are all there
    owners = {name for (name,) in conn.execute("SELECT owner_name FROM owners")}
    assert {"inventory-api", "kv-store", "etcd", "node-agent"} <= owners


def test_fixing_an_entry_clears_its_error(cluster: ClusterCollection) -> None:
    bad_json = entry_of(cluster, "inventory-api-7d9f8c6b5d-b5n7q")
    good = (bad_json / "metadata.json").read_text(encoding="utf-8")
    (bad_json / "metadata.json").write_text("[1, 2]", encoding="utf-8")
    summary = compile_cluster(cluster)
    assert [item for item, _ in summary.errors] == [bad_json.name]
    assert "metadata.json: expected an object, found an array" in summary.errors[0][1]
    (bad_json / "metadata.json").write_text(good, encoding="utf-8")
    summary = compile_cluster(cluster)
    assert summary.ok and summary.decoded == 1


def test_compile_command_exits_1_with_one_line_per_problem(
    cluster: ClusterCollection, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = break_entries(cluster)
    assert main(["cluster", "compile", "--collection", str(cluster.root)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for name in broken:
        assert name in err
    assert f"{len(broken)} entries with problems" in err


def test_malformed_info_json_keeps_the_counters(cluster: ClusterCollection) -> None:
    entry = entry_of(cluster, "kv-store-1")
    (entry / "info.json").write_text("{not json", encoding="utf-8")
    summary = compile_cluster(cluster)
    [(item, message)] = summary.errors
    assert item == entry.name and message.startswith("info.json: malformed (")
    status, instances = (
        connect(cluster)
        .execute("SELECT status, instances FROM entries WHERE dir_name = ?", (entry.name,))
        .fetchone()
    )
    assert (status, instances) == ("partial", 2)


def test_an_unreadable_database_is_a_clear_error(
    cluster: ClusterCollection, capsys: pytest.CaptureFixture[str]
) -> None:
    (cluster.root / "coverage.db").write_bytes(b"this is not a database" * 100)
    assert main(["cluster", "compile", "--collection", str(cluster.root)]) == 1
    err = capsys.readouterr().err
    assert "Couldn't open the database" in err and "Traceback" not in err


def test_hostile_metadata_is_only_data(cluster: ClusterCollection) -> None:
    entry = entry_of(cluster, "kv-store-0")
    metadata = json.loads((entry / "metadata.json").read_text(encoding="utf-8"))
    metadata.update(pod_name="../../etc/passwd-0", namespace="<script>alert(1)</script>")
    (entry / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    shutil.rmtree(cluster.root / "logs", ignore_errors=True)
    summary = compile_cluster(cluster)
    assert summary.ok
    owners = set(connect(cluster).execute("SELECT namespace, owner_name FROM owners"))
    assert ("<script>alert(1)</script>", "../../etc/passwd") in owners
    written = {p.name for p in cluster.root.iterdir()}
    assert written <= {"coverage", "coverage.db", "coverage.db-shm", "coverage.db-wal"}


def test_a_database_from_a_newer_tool_is_refused(
    cluster: ClusterCollection, capsys: pytest.CaptureFixture[str]
) -> None:
    compile_cluster(cluster)
    conn = connect(cluster)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    for command in ("compile", "summary"):
        assert main(["cluster", command, "--collection", str(cluster.root)]) == 1
        err = capsys.readouterr().err
        assert "schema version 99" in err and "Traceback" not in err


def test_a_collection_without_coverage_data_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cluster", "compile", "--collection", str(tmp_path / "typo")]) == 1
    err = capsys.readouterr().err
    assert "No collection at" in err and "cluster download" in err
    assert not (tmp_path / "typo").exists()  # a mistyped collection is never created
    (tmp_path / "empty").mkdir()
    assert main(["cluster", "compile", "--collection", str(tmp_path / "empty")]) == 1
    err = capsys.readouterr().err
    assert "No coverage data" in err and "cluster download" in err
    assert not (tmp_path / "empty" / "coverage.db").exists()
