"""`cluster compile` is incremental, forced by `--update`, and survives being killed."""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from coverage_collector import compile
from coverage_collector.cli import main
from coverage_collector.compile import DEFAULT_EXCLUDES, store
from coverage_collector.compile import decode as decode_module
from coverage_collector.database import entries as entries_module
from coverage_collector.database import owners as owners_module
from tests.helpers.clusterfixtures import (
    ENTRIES,
    NODES,
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
    "owner_entries": "SELECT o.group_key, r.dir_name, x.input_hash FROM owner_entries x "
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
    # 'merged' is a digest over row ids, which this dump replaces by natural keys
    "settings": "SELECT key, value FROM settings WHERE key != 'merged'",
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


LATE = (  # entries that reach the collection in a later download (another cluster's)
    "inventory-api-7d9f8c6b5d-b5n7q",  # a Deployment gains a pod
    "node-agent-7xk2p",  # a DaemonSet in count mode gains a pod with two instances
    "kv-store-1",  # a StatefulSet in set mode gains a pod
    f"{NODES[2]}-host-node-agent",  # a new owner (a host process) of a binary already there
)


def _compiled_without_late_entries(cluster: ClusterCollection, tmp_path: Path) -> list[str]:
    """Compile the collection without the `LATE` entries, then put them back (their files
    unchanged, as a download of another cluster brings them); return their names."""
    late = [e.name for e in ENTRIES if e.pod in LATE or e.name in LATE]
    assert len(late) == len(LATE)
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in late:
        os.rename(cluster.entry_dir(name), aside / name)
    compile_cluster(cluster)
    for name in late:
        os.rename(aside / name, cluster.entry_dir(name))
    return late


def _assert_as_compiled_from_scratch(
    cluster: ClusterCollection,
    pristine_cluster: ClusterCollection,
    tmp_path: Path,
    without: Sequence[str] = (),
) -> None:
    """The database holds what a cold compile of the same entries makes."""
    clean = tmp_path / "clean"
    shutil.copytree(pristine_cluster.root, clean)
    for name in without:
        shutil.rmtree(clean / "coverage" / name)
    compile.run(compile.Options(collection=str(clean), max_concurrency=1))
    assert dump(cluster.root) == dump(clean)


def test_entries_added_later_are_merged_onto_the_stored_counters(
    cluster: ClusterCollection,
    pristine_cluster: ClusterCollection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    late = _compiled_without_late_entries(cluster, tmp_path)

    read: list[int] = []
    owners_read: list[str] = []
    entry_counts, owner_counts = entries_module.entry_counts, owners_module.owner_counts_by_key

    def reading_entries(db: Any, ids: Any) -> Any:
        read.extend(ids)
        return entry_counts(db, ids)

    def reading_owner(db: Any, key: str) -> Any:
        owners_read.append(key)
        return owner_counts(db, key)

    monkeypatch.setattr(entries_module, "entry_counts", reading_entries)
    monkeypatch.setattr(owners_module, "owner_counts_by_key", reading_owner)
    summary = compile_cluster(cluster)
    assert (summary.decoded, summary.owners_updated, summary.binaries_updated) == (4, 4, 3)
    conn = connect(cluster)
    names = dict(conn.execute("SELECT id, dir_name FROM entries"))
    # Only the new entries' counters are read, and the stored counters of the owners they
    # join: their binaries add the same to their own stored counters (no other owner of
    # theirs, like the canary Deployment of the same binary, is read).
    assert sorted(names[i] for i in read) == sorted(late)
    assert sorted(k.split("/")[2] for k in owners_read) == [
        "inventory-api",
        "kv-store",
        "node-agent",
    ]
    _assert_as_compiled_from_scratch(cluster, pristine_cluster, tmp_path)


def test_an_owner_without_counters_is_merged_from_all_its_entries(
    cluster: ClusterCollection, pristine_cluster: ClusterCollection, tmp_path: Path
) -> None:
    # A damaged owner that gains entries: its binary's stored counters already count its
    # old entries, so neither may add all its entries to what is stored.
    _compiled_without_late_entries(cluster, tmp_path)
    with connect(cluster) as conn:
        conn.execute("UPDATE owners SET counts_blob = NULL WHERE owner_name = 'inventory-api'")
    conn.close()
    compile_cluster(cluster)
    _assert_as_compiled_from_scratch(cluster, pristine_cluster, tmp_path)


def test_an_owner_that_lost_an_entry_is_merged_again_from_the_rest(
    cluster: ClusterCollection, pristine_cluster: ClusterCollection, tmp_path: Path
) -> None:
    compile_cluster(cluster)
    gone = next(e for e in ENTRIES if e.pod == "node-agent-8zt5w")
    shutil.rmtree(cluster.entry_dir(gone.name))
    summary = compile_cluster(cluster)
    assert (summary.removed, summary.owners_updated, summary.binaries_updated) == (1, 1, 1)
    _assert_as_compiled_from_scratch(cluster, pristine_cluster, tmp_path, [gone.name])


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


def _compile_and_die(
    root: str, target: str, after: int, excludes: tuple[str, ...] = DEFAULT_EXCLUDES
) -> None:
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
    compile.run(compile.Options(collection=root, max_concurrency=1, excludes=excludes))


def _kill_compile(
    cluster: ClusterCollection,
    target: str,
    after: int,
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES,
) -> None:
    child = multiprocessing.get_context("fork").Process(
        target=_compile_and_die, args=(str(cluster.root), target, after, excludes)
    )
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL


@pytest.mark.parametrize(
    ("late", "target", "after"),
    [
        (False, "write_entry", 3),
        (False, "write_owner", 2),
        (False, "write_binary", 1),
        (False, "update_image_sources", 0),
        # entries added to a compiled collection: owners and binaries build on stored counters
        (True, "write_owner", 1),
        (True, "write_binary", 1),
        (True, "write_binary", 2),
    ],
)
def test_killed_compile_is_completed_by_the_next_run(
    cluster: ClusterCollection,
    pristine_cluster: ClusterCollection,
    tmp_path: Path,
    late: bool,
    target: str,
    after: int,
) -> None:
    if late:
        _compiled_without_late_entries(cluster, tmp_path)
    _kill_compile(cluster, target, after)
    compile_cluster(cluster)
    _assert_as_compiled_from_scratch(cluster, pristine_cluster, tmp_path)


def test_a_run_killed_under_other_options_leaves_nothing_to_build_on(
    cluster: ClusterCollection, pristine_cluster: ClusterCollection, tmp_path: Path
) -> None:
    # Three of the four binaries merged with every file counted, then the run is killed;
    # the next run, with the first options again, must not update those binaries' rows
    # as if they had been merged under its own.
    compile_cluster(cluster)
    _kill_compile(cluster, "write_binary", 3, excludes=())
    compile_cluster(cluster)
    _assert_as_compiled_from_scratch(cluster, pristine_cluster, tmp_path)


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
