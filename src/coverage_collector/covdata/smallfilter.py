"""covdata's `subtract` and `intersect` without numpy, on the compiled kernels.

The same rules as `commands._MetaGroupFilter` (cmd/covdata subtractintersect.go), file by
file: the first input's files are summed (`merge_records`), each later input's files zero
units in the functions still kept (`filter_records`), and `intersect` drops, at the end of
each later input, the functions it did not execute. Only taken with the kernels built; a
file they refuse (irregular, corrupt) raises `NotSmallError` before anything is written,
and the full path runs from the start.
"""

from __future__ import annotations

from array import array

from coverage_collector.covdata import speedups
from coverage_collector.covdata.counterformat import parse_header, regular_header
from coverage_collector.covdata.metagroups import MetaGroup, read_input
from coverage_collector.covdata.model import CounterMode
from coverage_collector.covdata.policy import package_filter
from coverage_collector.covdata.request import Request
from coverage_collector.covdata.small import (
    U32_MAX,
    NotSmallError,
    SmallMeta,
    binary_outputs,
    read_small_meta,
)
from coverage_collector.covdata.writer import OutputFile


def filter_outputs(request: Request, groups: list[MetaGroup], intersect: bool) -> list[OutputFile]:
    """Return the files `subtract` (or `intersect`) writes: per binary, its meta file and
    the counter file of what is left.

    As in the full path, the input index carries over from one binary to the next: a binary
    whose files start in the input where the previous one's ended enters no input anew.
    """
    if speedups.KERNELS is None:
        raise NotSmallError
    matcher = package_filter(request.packages)
    outputs = []
    dir_index = -1
    for group in groups:
        state = _Filter(read_small_meta(group.meta_path), intersect)
        for ref in group.counter_files:
            if ref.dir_index != dir_index:
                state.enter_dir(ref.dir_index)
                dir_index = ref.dir_index
            state.add_file(ref.path, dir_index)
        state.prune()
        # covdata records no program arguments in these outputs
        outputs.extend(binary_outputs(state.meta, matcher, state.result(), state.kept, {}))
    return outputs


class _Filter:
    """One binary's counters under subtract/intersect, in flat arrays."""

    def __init__(self, meta: SmallMeta, intersect: bool) -> None:
        self.meta = meta
        self.intersect = intersect
        self.tables = meta.function_tables()
        self.totals = array("Q", bytes(8 * meta.n_units))
        self.kept = bytearray(meta.n_funcs)
        self.seen: bytearray | None = bytearray(meta.n_funcs) if intersect else None
        self.unused = bytearray(meta.n_funcs)
        """What `filter_records` marks when nothing reads it (subtract)."""

    def enter_dir(self, dir_index: int) -> None:
        """Start the files of input `dir_index`."""
        if dir_index == 0:
            self.seen = None
        elif self.intersect:
            self.prune()
            self.seen = bytearray(self.meta.n_funcs)

    def add_file(self, path: str, dir_index: int) -> None:
        """Sum a file of the first input, or filter by a file of a later one."""
        data = read_input(path, "counter data file")
        header = parse_header(data, path)
        if not regular_header(data, header):
            raise NotSmallError
        records = (data, header.records_start, header.n_entries, *self.tables, self.totals)
        seen = self.unused if self.seen is None else self.seen
        try:
            speedups.apply_filter_file(records, self.kept, seen, dir_index == 0, self.intersect)
        except ValueError:
            raise NotSmallError from None

    def prune(self) -> None:
        """Drop the functions that the later input did not execute (intersect only)."""
        if self.seen is None:
            return
        func_units = self.tables[2]
        for func, (kept, seen) in enumerate(zip(self.kept, self.seen, strict=True)):
            if kept and not seen:
                self.kept[func] = 0
                first, end = func_units[func], func_units[func + 1]
                self.totals[first:end] = array("Q", bytes(8 * (end - first)))
        self.seen = None

    def result(self) -> array[int]:
        """Return the counters: 0 or 1 in set mode (the first input's files were summed),
        else capped at 2**32 - 1 as the full path caps them."""
        limit = 1 if self.meta.mode == CounterMode.SET else U32_MAX
        if not self.totals or max(self.totals) <= limit:
            return self.totals
        if limit == 1:
            return array("Q", map(bool, self.totals))
        return array("Q", [min(count, limit) for count in self.totals])
