"""Read meta groups as `cmd/internal/cov` does: meta file, mode policy, counter files in order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from coverage_collector.covdata.accumulate import MetaGroupAccumulator, UnitCounters, Warn
from coverage_collector.covdata.counters import CounterFile, read_counters
from coverage_collector.covdata.fastmerge import IrregularInputError, merge_files
from coverage_collector.covdata.meta import read_meta
from coverage_collector.covdata.metagroups import MetaGroup
from coverage_collector.covdata.model import MetaFile
from coverage_collector.covdata.policy import (  # re-exported: the reader's policies
    ArgsSummary,
    ModeMerger,
    PackageFilter,
    package_filter,
)

__all__ = [
    "ArgsSummary",
    "MetaGroupData",
    "ModeMerger",
    "PackageFilter",
    "iter_counter_files",
    "package_filter",
    "read_meta_group",
]


@dataclass
class MetaGroupData:
    """A meta group after reading: its binary, its merged counters and its files' arguments."""

    group: MetaGroup
    meta: MetaFile
    counters: UnitCounters
    args: ArgsSummary = field(default_factory=ArgsSummary)
    file_args: list[dict[str, str]] = field(default_factory=list)
    """Each counter file's recorded arguments, in the group's order (for `debugdump`)."""


def iter_counter_files(group: MetaGroup) -> Iterator[CounterFile]:
    """Decode the counter files of `group` one by one, in order."""
    for ref in group.counter_files:
        yield read_counters(ref.path)


def read_meta_group(
    group: MetaGroup, merger: ModeMerger, warn: Warn, summary: ArgsSummary | None = None
) -> MetaGroupData:
    """Decode `group` and merge its counter files in the mode `merger` settles on.

    The regular case goes through `fastmerge`; irregular files through the exact,
    file-by-file path. The files' program arguments are folded into `summary`.
    """
    meta = read_meta(group.meta_path)
    merger.visit(meta)
    summary = ArgsSummary() if summary is None else summary
    paths = [ref.path for ref in group.counter_files]
    try:
        counters, all_args = merge_files(meta, paths, merger.mode, warn)
    except IrregularInputError:
        accumulator = MetaGroupAccumulator(meta, merger.mode, warn)
        all_args = []
        for counter_file in iter_counter_files(group):
            accumulator.add(counter_file)
            all_args.append(counter_file.args)
        counters = accumulator.result()
    for args in all_args:
        summary.add(args)
    return MetaGroupData(group, meta, counters, summary, all_args)
