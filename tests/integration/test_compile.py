"""`cluster compile`: numbers equal `go tool covdata`'s, owners, de-duplication, exclusions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coverage_collector.cli import main
from coverage_collector.compile import (
    DEFAULT_EXCLUDES,
)
from tests.helpers.clusterfixtures import (
    ENTRIES,
    ClusterCollection,
    compile_cluster,
    connect,
    expected_numbers,
    stored_numbers,
)


def test_every_owner_and_binary_matches_covdata(cluster: ClusterCollection, tmp_path: Path) -> None:
    summary = compile_cluster(cluster)
    assert summary.ok, summary.errors
    conn = connect(cluster)
    owners = conn.execute("SELECT id, namespace, owner_name, binary_name FROM owners").fetchall()
    assert len(owners) == 6
    for owner_id, namespace, owner, binary in owners:
        members = cluster.entries_of_owner(namespace, owner, binary)
        stored_members = sorted(
            name
            for (name,) in conn.execute(
                "SELECT r.dir_name FROM owner_entries o JOIN entries r ON r.id = o.entry_id "
                "WHERE o.owner_id = ?",
                (owner_id,),
            )
        )
        assert stored_members == members
        expected = expected_numbers(cluster, members, tmp_path / "oracle", DEFAULT_EXCLUDES)
        assert stored_numbers(conn, "owners", owner_id) == expected, (namespace, owner)
    for program, meta_hash in cluster.meta_hash.items():
        (binary_id,) = conn.execute(
            "SELECT id FROM binaries WHERE meta_hash = ?", (meta_hash,)
        ).fetchone()
        members = cluster.entries_of_program(program)
        expected = expected_numbers(cluster, members, tmp_path / "oracle", DEFAULT_EXCLUDES)
        assert stored_numbers(conn, "binaries", binary_id) == expected, program
    totals = conn.execute("SELECT sum(statements), sum(covered) FROM binaries").fetchone()
    assert (summary.statements, summary.covered) == totals


def test_owners_kinds_and_host_duplicates(cluster: ClusterCollection) -> None:
    summary = compile_cluster(cluster)
    conn = connect(cluster)
    owners = set(conn.execute("SELECT namespace, owner_type, owner_name, binary_name FROM owners"))
    expected = {
        ("" if e.host_process else e.namespace, e.kind, e.owner, e.binary)
        for e in ENTRIES
        if not e.duplicate
    }
    assert owners == expected
    # the host copy of the static pod's process is dropped and says whose duplicate it is
    assert summary.host_duplicates == 1
    duplicate = conn.execute(
        "SELECT h.dir_name, p.dir_name FROM entries h JOIN entries p ON p.id = h.duplicate_of"
    ).fetchall()
    [(host_entry, pod_entry)] = duplicate
    assert "-host-etcd" in host_entry and "-kube-system-etcd-" in pod_entry
    # the binary of the shop Deployment is shared with the canary owner: one binary row
    (shared,) = conn.execute(
        "SELECT count(DISTINCT binary_id) FROM owners WHERE binary_name = 'inventory-api'"
    ).fetchone()
    assert shared == 1


def test_restarts_are_summed_and_set_mode_is_ored(cluster: ClusterCollection) -> None:
    compile_cluster(cluster)
    conn = connect(cluster)
    # main() runs once per process instance: executions of main = instances of the owner
    rows = conn.execute(
        "SELECT o.owner_name, o.instances, f.executions, b.mode FROM owners o "
        "JOIN owner_functions f ON f.owner_id = o.id "
        "JOIN binary_functions bf ON bf.binary_id = o.binary_id AND bf.func_id = f.func_id "
        "JOIN binaries b ON b.id = o.binary_id WHERE bf.name = 'main' AND bf.package = 'main'"
    ).fetchall()
    runs = {}
    for e in ENTRIES:
        if not e.duplicate:
            runs[e.owner] = runs.get(e.owner, 0) + len(e.runs)
    for owner, instances, executions, mode in rows:
        assert instances == runs[owner]
        assert executions == (1 if mode == "set" else runs[owner]), owner


def test_injected_files_count_nowhere(cluster: ClusterCollection) -> None:
    compile_cluster(cluster)
    conn = connect(cluster)
    paths = {p for (p,) in conn.execute("SELECT path FROM binary_files")}
    names = {Path(p).name for p in paths}
    assert "coverage_server.go" not in names and "coverage_producer.go" not in names
    assert "foo_coverage_server.go" in names  # a base-name match, not a substring match
    functions = {n for (n,) in conn.execute("SELECT name FROM binary_functions")}
    assert "startCoverageServer" not in functions and "userCoverageServer" in functions


def test_exclude_file_replaces_the_default(cluster: ClusterCollection, tmp_path: Path) -> None:
    compile_cluster(cluster)
    summary = compile_cluster(cluster, excludes=())
    assert summary.decoded == len(ENTRIES)  # a changed exclusion recomputes everything
    conn = connect(cluster)
    names = {Path(p).name for (p,) in conn.execute("SELECT path FROM binary_files")}
    assert {"coverage_server.go", "coverage_producer.go"} <= names
    meta_hash = cluster.meta_hash["injected"]
    (binary_id,) = conn.execute(
        "SELECT id FROM binaries WHERE meta_hash = ?", (meta_hash,)
    ).fetchone()
    members = cluster.entries_of_program("injected")
    assert stored_numbers(conn, "binaries", binary_id) == expected_numbers(
        cluster, members, tmp_path / "oracle", ()
    )


def test_image_sources_from_info_json(cluster: ClusterCollection) -> None:
    compile_cluster(cluster)
    conn = connect(cluster)
    sources = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT image, source_repo, commit_id, software_group, software_key FROM image_sources"
        )
    }
    assert sources["quay.io/example/inventory-api:v1"] == (
        "https://github.com/example/inventory-api",
        "0123456789abcdef0123456789abcdef01234567",
        "example",
        "inventory-api",
    )
    assert "host:node-agent" in sources  # host processes are keyed by binary
    # an empty value never blanks a known one
    for entry in cluster.entries.values():
        if entry.binary == "inventory-api":
            info = cluster.entry_dir(entry.name) / "info.json"
            info.write_text(json.dumps({"source_url": "", "software_key": ""}), encoding="utf-8")
    compile_cluster(cluster)
    row = (
        connect(cluster)
        .execute(
            "SELECT source_repo, software_key FROM image_sources WHERE image = ?",
            ("quay.io/example/inventory-api:v1",),
        )
        .fetchone()
    )
    assert row == ("https://github.com/example/inventory-api", "inventory-api")


def test_explicit_owner_wins(cluster: ClusterCollection) -> None:
    entry = next(e for e in ENTRIES if e.pod == "kv-store-0")
    path = cluster.entry_dir(entry.name) / "metadata.json"
    metadata = json.loads(path.read_text(encoding="utf-8"))
    metadata.update(owner_kind="ReplicaSet", owner_name="kv-migrator-6c8d9f7b5")
    path.write_text(json.dumps(metadata), encoding="utf-8")
    compile_cluster(cluster)
    owners = set(connect(cluster).execute("SELECT owner_type, owner_name FROM owners"))
    assert ("Deployment", "kv-migrator") in owners
    assert ("StatefulSet", "kv-store") in owners  # kv-store-1 is still inferred


def test_summary_command_formats(
    cluster: ClusterCollection, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cluster", "compile", "--collection", str(cluster.root)]) == 0
    capsys.readouterr()
    assert main(["cluster", "summary", "--collection", str(cluster.root), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["owners"] == 6 and data["binaries"] == 4 and data["errors"] == 0
    assert data["host_duplicates"] == 1
    names = {(r["namespace"], r["type"], r["owner"]) for r in data["rows"]}
    assert names >= {("shop", "Deployment", "inventory-api"), ("(host)", "Host", "node-agent")}
    conn = connect(cluster)
    assert (data["statements"], data["covered"]) == conn.execute(
        "SELECT sum(statements), sum(covered) FROM binaries"
    ).fetchone()
    args = ["cluster", "summary", "--collection", str(cluster.root), "--by", "namespace"]
    assert main([*args, "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| namespace |") and "| shop |" in out and "| (host) |" in out
    assert main([*args[:-2], "--by", "binary"]) == 0
    out = capsys.readouterr().out
    assert "inventory-api" in out and "etcd" in out


def test_summary_without_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cluster", "summary", "--collection", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "No database" in err and "cluster compile" in err


def test_namespace_rollup_counts_each_binary_once(
    cluster: ClusterCollection, tmp_path: Path
) -> None:
    from coverage_collector.summary import overview

    compile_cluster(cluster)
    rows = {r.labels[0]: r for r in overview(str(cluster.root), "namespace").rows}
    shop = [e.name for e in ENTRIES if e.namespace == "shop"]
    expected = expected_numbers(cluster, shop, tmp_path / "oracle", DEFAULT_EXCLUDES)
    assert (rows["shop"].statements, rows["shop"].covered) == (
        expected.statements,
        expected.covered,
    )
