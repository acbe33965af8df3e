"""`cluster compile` is incremental, forced by `--update`, and survives being killed."""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from coverage_collector import compile
from coverage_collector.cli import main
from coverage_collector.compile import DEFAULT_EXCLUDES, store
from coverage_collector.compile import decode as decode_module
from tests.helpers.clusterfixtures import (
    ENTRIES,
    ClusterCollection,
    compile_cluster,
    connect,
    expected_numbers,
    stored_numbers,
)

run_module = importlib.import_module("coverage_collector.compile.run")
"""The module (the package's `run` is the stage function of the same name)."""

NATURAL_KEYS = {
    # table: (columns to drop, how to render foreign keys)
    "entries": "SELECT r.dir_name, b.meta_hash, r.namespace, r.pod_name, r.container_name, "
    "r.image, r.binary_name, r.hostname, r.is_host, r.instances, r.counts_blob, r.statements, "
    "r.covered, r.status, r.error_msg, d.dir_name, r.stat_sig, r.input_hash, r.metadata_hash, "
    "r.source_url FROM entries r LEFT JOIN binaries b ON b.id = r.binary_id "
    "LEFT JOIN entries d ON d.id = r.duplicate_of",
    "instances": "SELECT r.dir_name, i.counter_file, i.pid, i.discovered_ns, i.size "
    "FROM instances i JOIN entries r ON r.id = i.entry_id",
    "binaries": "SELECT meta_hash, name, mode, n_units, meta_blob, counts_blob, statements, "
    "covered, entries, instances, input_hash FROM binaries",
    "owners": "SELECT o.group_key, b.meta_hash, o.image, o.images_json, o.pods_json, "
    "o.containers_json, o.hosts_json, o.entries, o.instances, o.statements, o.covered, "
    "o.counts_blob, o.first_seen, o.last_seen, o.input_hash FROM owners o "
    "JOIN binaries b ON b.id = o.binary_id",
    "owner_entries": "SELECT o.group_key, r.dir_name FROM owner_entries x "
    "JOIN owners o ON o.id = x.owner_id JOIN entries r ON r.id = x.entry_id",
    "owner_files": "SELECT o.group_key, f.file_id, f.covered FROM owner_files f "
    "JOIN owners o ON o.id = f.owner_id",
    "owner_functions": "SELECT o.group_key, f.func_id, f.covered, f.executions "
    "FROM owner_functions f JOIN owners o ON o.id = f.owner_id",
    "binary_files": "SELECT b.meta_hash, f.file_id, f.path, f.statements, f.covered "
    "FROM binary_files f JOIN binaries b ON b.id = f.binary_id",
    "binary_functions": "SELECT b.meta_hash, f.func_id, f.name, f.statements, f.covered, "
    "f.executions FROM binary_functions f JOIN binaries b ON b.id = f.binary_id",
    "image_sources": "SELECT image, source_repo, commit_id, software_group, software_key "
    "FROM image_sources",
    "errors": "SELECT stage, item, message FROM errors",
    "settings": "SELECT key, value FROM settings",
}


def dump(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The database's content with row ids replaced by natural keys."""
    conn = sqlite3.connect(root / "coverage.db")
    try:
        return {t: sorted(conn.execute(q).fetchall(), key=repr) for t, q in NATURAL_KEYS.items()}
    finally:
        conn.close()


def test_noop_recompile_changes_and_decodes_nothing(
    cluster: ClusterCollection, monkeypatch: pytest.MonkeyPatch
) -> None:
    compile_cluster(cluster)
    before = dump(cluster.root)

    def refuse(task: object) -> None:
        raise AssertionError(f"decoded {task}")

    monkeypatch.setattr(run_module, "decode_entry", refuse)
    summary = compile_cluster(cluster)
    assert (summary.decoded, summary.owners_updated, summary.binaries_updated) == (0, 0, 0)
    assert dump(cluster.root) == before


def test_a_changed_entry_recomputes_only_its_owner_and_binary(
    cluster: ClusterCollection, tmp_path: Path
) -> None:
    compile_cluster(cluster)
    # one more instance of a DaemonSet pod: a counter file of another entry of the binary
    daemon = [e for e in ENTRIES if e.owner == "node-agent" and e.kind == "DaemonSet"]
    source = next(cluster.entry_dir(daemon[1].name).glob("covcounters.*"))
    parts = source.name.split(".")
    target = cluster.entry_dir(daemon[0].name) / ".".join([*parts[:2], "4242", parts[3]])
    shutil.copy2(source, target)
    summary = compile_cluster(cluster)
    assert (summary.decoded, summary.owners_updated, summary.binaries_updated) == (1, 1, 1)
    conn = connect(cluster)
    owner_id, instances = conn.execute(
        "SELECT id, instances FROM owners WHERE owner_name = 'node-agent' AND namespace != ''"
    ).fetchone()
    assert instances == 4
    members = cluster.entries_of_owner("monitoring", "node-agent", "node-agent")
    assert stored_numbers(conn, "owners", owner_id) == expected_numbers(
        cluster, members, tmp_path / "oracle", DEFAULT_EXCLUDES
    )


def test_a_removed_entry_is_forgotten(cluster: ClusterCollection) -> None:
    compile_cluster(cluster)
    canary = next(e for e in ENTRIES if e.namespace == "shop-canary")
    shutil.rmtree(cluster.entry_dir(canary.name))
    summary = compile_cluster(cluster)
    assert summary.removed == 1 and summary.owners == 5
    conn = connect(cluster)
    assert conn.execute("SELECT count(*) FROM entries").fetchone() == (len(ENTRIES) - 1,)
    assert not conn.execute("SELECT 1 FROM owners WHERE namespace = 'shop-canary'").fetchall()


@pytest.mark.parametrize(
    ("flags", "entries", "owners", "binaries"),
    [
        (["*"], len(ENTRIES), 6, 4),
        (["namespace=storage"], 2, 1, 1),
        (["namespace=shop*"], 3, 2, 1),
        # AND-ed: the DaemonSet pod on master-0 (the host process of that binary is elsewhere)
        (["owner=node-agent", "node=master-0"], 1, 1, 1),
        (["binary=node-agent"], 3, 2, 1),
        (["image=quay.io/example/kv-store:*", "container=kv-*"], 2, 1, 1),
        (["namespace=nothing-matches"], 0, 0, 0),
    ],
)
def test_update_forces_exactly_the_matching_items(
    cluster: ClusterCollection, flags: list[str], entries: int, owners: int, binaries: int
) -> None:
    compile_cluster(cluster)
    summary = compile_cluster(cluster, *flags)
    assert (summary.decoded, summary.owners_updated, summary.binaries_updated) == (
        entries,
        owners,
        binaries,
    )


def test_update_with_an_unknown_field_is_a_usage_error(
    cluster: ClusterCollection, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["cluster", "compile", "--collection", str(cluster.root), "--update", "pod=x"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "unknown field 'pod'" in err and "namespace, node, container" in err


def _compile_and_die(root: str, target: str, after: int) -> None:
    """Run compile in this (child) process and SIGKILL it at the `after`-th call of `target`."""
    calls = 0
    original = getattr(store, target)

    def dying(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > after:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)

    setattr(store, target, dying)
    compile.run(compile.Options(collection=root, max_concurrency=1))


@pytest.mark.parametrize(
    ("target", "after"),
    [("write_entry", 3), ("write_owner", 2), ("write_binary", 1), ("update_image_sources", 0)],
)
def test_killed_compile_is_completed_by_the_next_run(
    cluster: ClusterCollection,
    pristine_cluster: ClusterCollection,
    tmp_path: Path,
    target: str,
    after: int,
) -> None:
    child = multiprocessing.get_context("fork").Process(
        target=_compile_and_die, args=(str(cluster.root), target, after)
    )
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    compile_cluster(cluster)
    clean = tmp_path / "clean"
    shutil.copytree(pristine_cluster.root, clean)
    compile.run(compile.Options(collection=str(clean), max_concurrency=1))
    assert dump(cluster.root) == dump(clean)


def test_decode_worker_reuses_identical_meta(cluster: ClusterCollection) -> None:
    # entries of one binary share a decoded meta file, keyed by its bytes
    decode_module._meta_cache.clear()
    compile.run(compile.Options(collection=str(cluster.root), max_concurrency=1))
    assert len(decode_module._meta_cache) == len(cluster.meta_hash)


def test_update_by_owner_uses_the_explicit_owner(cluster: ClusterCollection) -> None:
    # An owner recorded by the producer is the one `--update owner=` matches, as in grouping.
    entry = next(e for e in ENTRIES if e.pod == "kv-store-0")
    path = cluster.entry_dir(entry.name) / "metadata.json"
    metadata = json.loads(path.read_text(encoding="utf-8"))
    metadata.update(owner_kind="Deployment", owner_name="kv-migrator")
    path.write_text(json.dumps(metadata), encoding="utf-8")
    compile_cluster(cluster)
    summary = compile_cluster(cluster, "owner=kv-migrator")
    assert (summary.decoded, summary.owners_updated) == (1, 1)
