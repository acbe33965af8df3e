"""Compile's memory is bounded by the largest binary, not by the collection (issue 16).

A collection of two clusters, each the same pods of one Deployment running one real
`-coverpkg=all` binary (about 43,000 units: 340 kB per counter vector), is compiled beside
a collection of one such cluster. Every entry is one pod of the same owner, so a compile
that held an owner's or a binary's counters all at once would need a vector per entry:
about 50 MB more for the larger collection. Each compile runs alone in a child process with
one worker (decoding in that process, so its peak RSS, from `wait4`, is the whole compile's).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from coverage_collector.collection import EntryMetadata, RecordedInstance
from coverage_collector.owners import SUFFIX_ALPHABET
from tests.helpers.gofixtures import _build, _run_program, cache_root, go_env

ENTRIES_PER_CLUSTER = 150
SLACK_MB = 20
"""What the larger compile may take beyond the smaller one: its longer lists of entries and
rows, well below the 50 MB its entries' counter vectors would take."""


def _program_files(go: Path, work: Path) -> tuple[Path, list[Path]]:
    """Build `allpkg` with `-coverpkg=all` and run it twice: its covmeta file and the two
    counter files."""
    env = go_env(cache_root())
    binary = _build(go, env, work / "allpkg", "allpkg", ".", ["-covermode=atomic", "-coverpkg=all"])
    covdir = work / "gocoverdir"
    for args in ((), ("kiwi", "banana")):
        _run_program(binary, args, env, covdir)
    return next(covdir.glob("covmeta.*")), sorted(covdir.glob("covcounters.*"))


def _suffix(number: int) -> str:
    """A pod name suffix of five characters of Kubernetes' alphabet, one per `number`."""
    letters = []
    for _ in range(5):
        number, digit = divmod(number, len(SUFFIX_ALPHABET))
        letters.append(SUFFIX_ALPHABET[digit])
    return "".join(letters)


def _write_collection(root: Path, clusters: int, meta: Path, counters: list[Path]) -> None:
    """Lay out `clusters` clusters, each `ENTRIES_PER_CLUSTER` pods of one Deployment (same
    pod names in every cluster: the entries are told apart by their cluster)."""
    meta_hash = meta.name.removeprefix("covmeta.")
    for cluster in range(clusters):
        for pod_index in range(ENTRIES_PER_CLUSTER):
            pod = f"api-7d9f8c6b5d-{_suffix(pod_index)}"
            entry = root / "coverage" / f"cluster-{cluster}-node-{pod}-api"
            entry.mkdir(parents=True)
            os.link(meta, entry / meta.name)
            pid = 1000 + cluster * ENTRIES_PER_CLUSTER + pod_index
            counter = f"covcounters.{meta_hash}.{pid}.1796364118585613257"
            shutil.copyfile(counters[pod_index % len(counters)], entry / counter)
            EntryMetadata(
                pod_name=pod,
                namespace="shop",
                container_name="api",
                image="quay.io/example/api:v1",
                binary_name="api",
                hostname="node",
                collected_at="2026-11-20T10:00:00Z",
                cluster=f"openshift-ci/coverage/cluster-{cluster}",
                instances=(RecordedInstance(counter_file=counter, pid=pid),),
            ).write(str(entry))


def _compile_peak_mb(collection: Path) -> float:
    """Compile `collection` in a child process with one worker; return its peak RSS."""
    argv = [sys.executable, "-m", "coverage_collector", "cluster", "compile"]
    argv += ["--collection", str(collection), "--max-concurrency", "1"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, stderr.decode(errors="replace")
    return usage.ru_maxrss / 1024


def test_compile_memory_does_not_grow_with_entries(go_toolchain: Path, tmp_path: Path) -> None:
    # Twice the entries of one binary and one owner: the peak stays where it was.
    meta, counters = _program_files(go_toolchain, tmp_path / "build")
    one, two = tmp_path / "one-cluster", tmp_path / "two-clusters"
    _write_collection(one, 1, meta, counters)
    _write_collection(two, 2, meta, counters)
    small = _compile_peak_mb(one)
    large = _compile_peak_mb(two)
    assert large - small < SLACK_MB, f"peak RSS {small:.0f} MB -> {large:.0f} MB"
    assert large < 1.2 * small
    with closing(sqlite3.connect(two / "coverage.db")) as conn:  # one owner of every entry
        assert conn.execute("SELECT entries FROM owners").fetchall() == [(2 * ENTRIES_PER_CLUSTER,)]
