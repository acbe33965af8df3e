"""Which counter files of a binary are snapshots of one process, and which is its newest.

A GOCOVERDIR (or several `kubectl cp`s of one) may hold many `covcounters.<H>.<pid>.<ns>`
files of one process: the one it wrote at exit, the ones `SIGUSR1` handlers or the
`runtime/coverage` API wrote on the way, the copy an earlier import already took. Go's
counters are cumulative, so those are nested: each is element-wise at least the one
before. Summing them (what `covdata` does with a directory) would count the process's
work several times; only the newest may count.

The file name alone cannot tell: containers restart with the same pid (often 1). So the
snapshots of one pid are taken in the order of their names' nanoseconds (when they were
written; processes of one pid run one after the other) and compared with the newest
snapshot of the process before: one that dominates it (every counter at least as high)
is that process later; one it dominates is that process earlier (an older copy, e.g. one
imported again); anything else is a new process that reused the pid. A restarted process
whose counters happen to dominate its predecessor's everywhere is taken for the same
process: its counts are then under-counted (the coverage, covered or not, is right).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coverage_collector.covdata.accumulate import MetaGroupAccumulator
from coverage_collector.covdata.counters import decode_counters
from coverage_collector.covdata.fastmerge import IrregularInputError, sum_files
from coverage_collector.covdata.model import MetaFile


@dataclass(frozen=True)
class CounterSnapshot:
    """One counter file of a binary: its pid, the nanoseconds of its name, its bytes."""

    name: str
    pid: int
    nanos: int
    data: bytes


@dataclass
class Instance:
    """One process: the first snapshot seen of it (which names it) and its newest."""

    first: CounterSnapshot
    newest: CounterSnapshot
    counts: np.ndarray = field(repr=False)
    superseded: int = 0
    """Snapshots of the process that the newest one replaces."""


def counts_of(meta: MetaFile, snapshot: CounterSnapshot) -> np.ndarray:
    """The snapshot's counters aligned to the binary's units (CovDataError if corrupt)."""
    try:
        totals, _, _ = sum_files(meta, [snapshot.name], [snapshot.data])
        return totals
    except IrregularInputError:
        accumulator = MetaGroupAccumulator(meta, meta.mode, lambda _: None)
        accumulator.add(decode_counters(snapshot.data, snapshot.name))
        return accumulator.sums()


def group_instances(
    snapshots: list[CounterSnapshot], counts: dict[str, np.ndarray]
) -> list[Instance]:
    """Group `snapshots` (with their `counts` by name) into process instances.

    Returns the instances ordered by pid and first snapshot; each keeps its newest.
    """
    instances: list[Instance] = []
    current: Instance | None = None
    for snapshot in sorted(snapshots, key=lambda s: (s.pid, s.nanos, s.name)):
        values = counts[snapshot.name]
        if current is not None and current.first.pid == snapshot.pid:
            if bool(np.all(values >= current.counts)):
                current.newest, current.counts = snapshot, values
                current.superseded += 1
                continue
            if bool(np.all(values <= current.counts)):
                current.superseded += 1
                continue
        current = Instance(snapshot, snapshot, values)
        instances.append(current)
    return instances
