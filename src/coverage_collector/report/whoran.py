"""Who ran this line: a shared binary's coverage per owner, in data files read on demand.

A binary that several owners run has one page; these files let the page say, for any line,
which owners executed it (with what count, in how many entries, process instances and
clusters), and restrict the whole page to some owners. Nothing here goes into the page
itself: the files load only when the page needs them, so a page stays as small as it was.

    data/<hash>/owners.js      ccOwners(...): per owner, the units it executed and its
                               functions' calls (files, tree, functions and totals of any
                               set of owners)
    data/<hash>/w<group>.js    ccWho([...]): per file of the group (the files of g<group>.js),
                               its blocks and, per owner, their counts and, for an owner of
                               several entries, what its entries executed (source colours
                               and "who ran this line")

Everything is numbers in flat arrays (a binary has tens of thousands of units): runs of
executed units as (gap, length) pairs, executed blocks as (gap, count) pairs, and lines as
runs of report/fields.py's WHO_RUN (the lines of a block mostly run alike). The counts are
the owners' merged counters that compile stores; the entries, instances and clusters of a
line come from the counters of each entry an owner merges. A line's count is
`results.line_counts`' (the largest count of the blocks touching it), computed for all
files of a binary at once by laying their lines end to end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from coverage_collector.analysis import function_stats, units_by_file
from coverage_collector.covdata.model import BoolArray, MetaFile
from coverage_collector.database.owners import OwnerCountsRow, OwnerEntryCounters
from coverage_collector.results import LineMap, block_order, int64_counts

Json = dict[str, Any]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FileBlocks:
    """A file of the page whose source is shown: where its data is and its blocks."""

    file_id: int
    group: int
    """The data group of its coverage (`g<group>.js`); its who data is in `w<group>.js`."""
    n_lines: int
    units: IntArray
    """Its units, in block order (`results.block_order`): block `i` is unit `units[i]`."""
    span_blocks: list[int]
    """The block of each of its coverage ranges (annotate.span_blocks)."""


def file_blocks(
    meta: MetaFile, file_id: int, group: int, n_lines: int, units: IntArray, spans: list[int]
) -> FileBlocks:
    """Return a file's `units` (in any order) as `FileBlocks`, sorted as its blocks are."""
    order = block_order(meta.start_line[units], meta.start_col[units])
    return FileBlocks(file_id, group, n_lines, np.asarray(units)[order], spans)


def owners_payload(
    meta: MetaFile,
    app: BoolArray,
    paths: dict[str, int],
    func_ids: Sequence[int],
    owners: Iterable[OwnerCountsRow],
) -> Json:
    """Return the payload of `owners.js`: the binary's application units file by file (`paths`:
    path -> file id), their statements and the function rows (positions in `func_ids`, the
    functions.js order) they belong to; per owner the runs of units it executed and the calls
    of its functions (sparse: row, calls)."""
    by_file = sorted((paths[path], units) for path, units in units_by_file(meta, app).items())
    units = np.concatenate([u for _, u in by_file]) if by_file else np.zeros(0, dtype=np.int64)
    row_of_func = np.full(meta.n_funcs, -1, dtype=np.int64)
    row_of_func[np.asarray(func_ids, dtype=np.int64)] = np.arange(len(func_ids))
    payload: Json = {
        "files": [value for file_id, u in by_file for value in (file_id, len(u))],
        "stmts": meta.stmts[units].astype(np.int64).tolist(),
        "funcs": _runs(row_of_func[meta.unit_func[units]]),
        "owners": [],
        "hit": [],
        "calls": [],
    }
    for owner in owners:
        functions = function_stats(meta, owner.counts, app)
        rows = row_of_func[functions.func_ids]
        called = (rows >= 0) & (functions.executions > 0)
        payload["owners"].append(owner.owner_id)
        payload["hit"].append(_hit_runs(owner.counts[units] != 0))
        payload["calls"].append(
            np.column_stack((rows[called], functions.executions[called])).ravel().tolist()
        )
    return payload


def _runs(values: IntArray) -> list[int]:
    """`values` as (value, repeats) pairs: a function's units are consecutive."""
    if not len(values):
        return []
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    lengths = np.diff(np.r_[starts, len(values)])
    out: list[int] = np.column_stack((values[starts], lengths)).ravel().tolist()
    return out


def _hit_runs(hit: BoolArray) -> list[int]:
    """The runs of True in `hit` as (units skipped since the last run, run length) pairs."""
    edges = np.flatnonzero(np.diff(np.r_[0, hit.astype(np.int8), 0]))
    starts, ends = edges[0::2], edges[1::2]
    gaps = starts - np.r_[0, ends[:-1]]
    out: list[int] = np.column_stack((gaps, ends - starts)).ravel().tolist()
    return out


@dataclass(frozen=True)
class _LineSpace:
    """The lines of all shown files laid end to end, and their blocks in that space."""

    offsets: IntArray
    """The first line of each file, 0-based, in the space."""
    units: IntArray
    start_line: IntArray
    end_line: IntArray
    """The blocks' lines, cut to their file and moved to the space."""
    lines: LineMap

    @classmethod
    def of(cls, meta: MetaFile, files: Sequence[FileBlocks]) -> _LineSpace:
        sizes = np.array([f.n_lines for f in files], dtype=np.int64)
        offsets = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
        units = np.concatenate([f.units for f in files]).astype(np.int64)
        per_unit = np.repeat(np.arange(len(files)), [len(f.units) for f in files])
        size, shift = sizes[per_unit], offsets[per_unit]
        start = np.clip(meta.start_line[units], 1, size) + shift
        end = np.clip(meta.end_line[units], 1, size) + shift
        return cls(offsets, units, start, end, LineMap.of(start, end, int(sizes.sum())))

    @property
    def total(self) -> int:
        return self.lines.n_lines

    def executed(self, counts: np.ndarray) -> BoolArray:
        """Per line of the space, whether a block touching it has a count in `counts` (per
        unit of the binary): results.line_counts(...) > 0."""
        return self.lines.executed(counts[self.units])


@dataclass
class _EntryLines:
    """Per line of the space: how many of one owner's entries, their process instances and
    its clusters executed it."""

    entries: npt.NDArray[np.int32]
    instances: npt.NDArray[np.int32]
    clusters: dict[str, BoolArray]


def who_payloads(
    meta: MetaFile,
    files: Sequence[FileBlocks],
    owners: Iterable[OwnerCountsRow],
    entries: Iterable[OwnerEntryCounters],
) -> Iterator[tuple[int, list[Json]]]:
    """Yield each data group (`files` come group after group) with the payloads of its
    `w<group>.js`, one group at a time (a big binary's are tens of MB as lists): per file its
    blocks' lines, the block of each coverage range and, per owner that executed any of it,
    the counts of its executed blocks as (blocks skipped, count) pairs and, for an owner of
    several `entries`, runs of fields.WHO_RUN over its executed lines (a one-entry owner's
    lines are its entry's: the page knows its instances and cluster)."""
    if not files:
        return
    space = _LineSpace.of(meta, files)
    counts_of = {owner.owner_id: owner.counts for owner in owners}
    ran_of = {owner_id: space.executed(counts) for owner_id, counts in counts_of.items()}
    spread: dict[int, _EntryLines] = {}
    for entry in entries:
        if entry.owner_id not in counts_of:
            continue
        zeros = np.zeros(space.total, dtype=np.int32)
        mine = spread.setdefault(entry.owner_id, _EntryLines(zeros, zeros.copy(), {}))
        ran = space.executed(entry.counts)
        mine.entries += ran
        mine.instances += ran * entry.instances
        if entry.cluster:
            seen = mine.clusters.setdefault(entry.cluster, np.zeros(space.total, dtype=bool))
            seen |= ran
    group: list[Json] = []
    block = 0
    for index, file in enumerate(files):
        if group and files[index - 1].group != file.group:
            yield files[index - 1].group, group
            group = []
        first = int(space.offsets[index])
        window = slice(first, first + file.n_lines)
        mine_blocks = slice(block, block + len(file.units))
        block = mine_blocks.stop
        starts = space.start_line[mine_blocks] - first
        ends = space.end_line[mine_blocks] - first
        payload: Json = {
            "id": file.file_id,
            "blocks": np.column_stack((starts, ends)).ravel().tolist(),
            "spanBlock": file.span_blocks,
            "owners": [],
        }
        for owner_id, executed_lines in ran_of.items():
            ran = np.flatnonzero(executed_lines[window]) + first
            if not len(ran):
                continue
            block_counts = int64_counts(counts_of[owner_id][file.units])
            executed = np.flatnonzero(block_counts)
            gaps = executed - np.r_[0, executed[:-1] + 1]
            row: Json = {
                "id": owner_id,
                "counts": np.column_stack((gaps, block_counts[executed])).ravel().tolist(),
            }
            several = spread.get(owner_id)
            if several is not None:
                clusters = np.zeros(len(ran), dtype=np.int32)
                for seen in several.clusters.values():
                    clusters += seen[ran]
                row["ran"] = _row_runs(
                    np.column_stack((several.entries[ran], several.instances[ran], clusters))
                )
            payload["owners"].append(row)
        group.append(payload)
    yield files[-1].group, group


def _row_runs(rows: IntArray) -> list[int]:
    """`rows` as (repeats, *row) runs of equal rows: the lines of a block run alike."""
    change = np.r_[True, (rows[1:] != rows[:-1]).any(axis=1)]
    starts = np.flatnonzero(change)
    lengths = np.diff(np.r_[starts, len(rows)])
    out: list[int] = np.column_stack((lengths, rows[starts])).ravel().tolist()
    return out
