"""Merge thousands of counter files of one binary at array speed.

Files are read in batches. A batch is decoded in one ULEB128 pass over the
concatenated record sections; the record chains of all its files are followed
in lockstep (one vectorised step per record index, across files); then every
counter is sent to its unit with a running sum and `add.at`, chunk by chunk.

With the compiled kernels (`speedups`), each file's records are instead checked and added
in one C loop (`_speedups.merge_records`), faster than either walk.

Only the regular case is handled here: ULEB files whose records all name known
functions with exactly one counter per unit (what Go writes). Anything else
raises `IrregularInputError`, and the caller merges the meta group with `accumulate`, which
implements every covdata rule and error.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

import numpy as np

from coverage_collector import results
from coverage_collector.covdata import speedups
from coverage_collector.covdata.accumulate import UnitCounters, Warn, finish
from coverage_collector.covdata.arrays import run_offsets
from coverage_collector.covdata.counterformat import regular_header
from coverage_collector.covdata.counters import (
    RECORD_HEADER,
    CounterHeader,
    parse_header,
)
from coverage_collector.covdata.metagroups import read_input
from coverage_collector.covdata.model import CounterMode, IntArray, MetaFile, U32Array

BATCH_BYTES = 1 << 21  # 2 MiB
"""Bytes of counter files decoded together: larger batches share the per-step cost of the
lockstep walk among more files, smaller ones hold less memory (measured on cmd/compile data:
1.5 / 2 / 2.5 MiB gave 81 / 90 / 93 MB peak RSS and 0.49 / 0.46 / 0.45 s of CPU)."""
ADD_CHUNK = 1 << 18
MAX_LOCKSTEP_CELLS = 16 << 20
"""Upper bound on records x files of one batch's lockstep table."""
LOCKSTEP_COST = 3e-6
"""Seconds per record step of the lockstep walk, and per value and round of the doubling
walk (measured): the cheaper one walks a batch."""
DOUBLING_COST = 4e-9


class IrregularInputError(Exception):
    """The files are not in the regular shape this module handles."""


@dataclass
class _Batch:
    """Decoded record sections of several files."""

    headers: list[CounterHeader]
    values: U32Array
    first_value: IntArray
    """Index in `values` of each file's first record value."""
    end_value: IntArray
    """Index one past each file's last real value (its separator follows)."""


def merge_files(
    meta: MetaFile, paths: Sequence[str], mode: int, warn: Warn
) -> tuple[UnitCounters, list[dict[str, str]]]:
    """Merge the counter files `paths` of binary `meta`; return counters and each file's args.

    Raises `IrregularInputError` when a file is irregular, CovDataError for a broken file.
    """
    totals, executed, args = sum_files(meta, paths)
    return finish(meta, totals, executed, mode, warn), args


def sum_files(
    meta: MetaFile, paths: Sequence[str], contents: Sequence[bytes] | None = None
) -> tuple[np.ndarray, np.ndarray, list[dict[str, str]]]:
    """Return the 64-bit sums of the counter files `paths` of binary `meta` (batches
    merged by `results.add_counts`), the functions that had records, and each file's args.
    `contents`, when the caller has read the files already, are their bytes (in `paths`
    order).

    Batches are read and merged one after the other on this thread: memory stays bounded by
    one batch, and two threads sharing the GIL for the lockstep walk's many small steps
    were no faster on two cores (measured).
    Raises `IrregularInputError` when a file is irregular, CovDataError for a broken file.
    """
    totals = np.zeros(meta.n_units, dtype=np.uint64)
    executed = np.zeros(meta.n_funcs, dtype=bool)
    args: list[dict[str, str]] = []
    given: Sequence[bytes | None] = [None] * len(paths) if contents is None else contents
    if speedups.KERNELS is not None:
        _sum_compiled(meta, list(zip(paths, given, strict=True)), totals, executed, args)
        return totals, executed, args
    for batch_files in _split(list(zip(paths, given, strict=True))):
        batch = _read_batch(batch_files)
        starts = _walk(batch)
        funcs = _check_records(meta, batch.values, starts)
        _scatter(meta, batch, starts, funcs, totals)
        executed[funcs] = True
        args.extend(h.args for h in batch.headers)
    return totals, executed, args


def _sum_compiled(
    meta: MetaFile,
    files: list[tuple[str, bytes | None]],
    totals: np.ndarray,
    executed: np.ndarray,
    args: list[dict[str, str]],
) -> None:
    """`sum_files` with the compiled kernel: file by file, one file's bytes held at a time."""
    tables = function_tables(meta)
    for path, given in files:
        data = read_input(path, "counter data file") if given is None else given
        header = parse_header(data, path)
        if not regular_header(data, header):
            raise IrregularInputError
        try:
            speedups.KERNELS.merge_records(
                data, header.records_start, header.n_entries, *tables, totals, executed
            )
        except ValueError:
            raise IrregularInputError from None
        args.append(header.args)


def function_tables(meta: MetaFile) -> tuple[IntArray, IntArray, IntArray]:
    """Return the tables the kernels place counters with: each package's first function
    and number of functions, each function's first unit (and the end of the last)."""
    return (
        np.array([p.first_func for p in meta.packages], dtype=np.int64),
        np.array([p.num_funcs for p in meta.packages], dtype=np.int64),
        np.ascontiguousarray(meta.func_units, dtype=np.int64),
    )


def _split(files: list[tuple[str, bytes | None]]) -> Iterator[list[tuple[str, bytes | None]]]:
    """Yield groups of `files` ((path, bytes if already read)) of about `BATCH_BYTES` each."""
    group: list[tuple[str, bytes | None]] = []
    size = 0
    for path, data in files:
        if data is not None:
            size += len(data)
        else:
            with contextlib.suppress(OSError):  # reading it will report the problem
                size += os.stat(path).st_size
        group.append((path, data))
        if size >= BATCH_BYTES:
            yield group
            group, size = [], 0
    if group:
        yield group


def _read_batch(batch_files: list[tuple[str, bytes | None]]) -> _Batch:
    """Read (unless already read) and check the files; return their record sections decoded.

    Each file's record section is appended to one buffer as soon as the file is read, and
    the file's bytes dropped: a batch is held once, not twice.
    """
    headers = []
    joined = bytearray()
    first_byte = []
    for path, given in batch_files:
        data = read_input(path, "counter data file") if given is None else given
        header = parse_header(data, path)
        if not regular_header(data, header):
            raise IrregularInputError
        headers.append(header)
        first_byte.append(len(joined))
        joined += memoryview(data)[header.records_start :]
        joined.append(0)  # a terminal byte: no value spans two files
    return _decode(headers, joined, np.array(first_byte, dtype=np.int64))


def _decode(headers: list[CounterHeader], joined: bytearray, first_byte: IntArray) -> _Batch:
    """Decode the record sections in `joined` (each file's up to its end, as Go reads them),
    the sections of `headers` starting at `first_byte`."""
    raw = np.frombuffer(joined, dtype=np.uint8)
    terminal = raw < 0x80
    values = raw[terminal].astype(np.uint32)
    continued = np.flatnonzero(np.invert(terminal, out=terminal))
    del terminal
    if len(continued):
        _fix_multibyte(raw, continued, values)
    first_value = first_byte - np.searchsorted(continued, first_byte)
    end_value = np.empty_like(first_value)
    end_value[:-1] = first_value[1:] - 1
    end_value[-1] = len(values) - 1
    return _Batch(headers, values, first_value, end_value)


def _fix_multibyte(raw: np.ndarray, continued: IntArray, values: U32Array) -> None:
    """Replace the values that span several bytes (a run of continuation bytes) in place.

    Arithmetic is in 32 bits: bits past 32 are dropped, as Go's counter reader does.
    """
    n = len(continued)
    is_first = np.empty(n, dtype=bool)
    is_first[0] = True
    np.not_equal(continued[1:], continued[:-1] + 1, out=is_first[1:])
    run_first = np.flatnonzero(is_first)
    run_last = np.empty_like(run_first)
    run_last[:-1] = run_first[1:] - 1
    run_last[-1] = n - 1
    first = continued[run_first]
    terminal = continued[run_last] + 1
    value = (raw[first] & 0x7F).astype(np.uint32)
    value |= (raw[first + 1] & 0x7F).astype(np.uint32) << 7
    n_continued = terminal - first
    longer = np.flatnonzero(n_continued > 1)
    for k in range(2, 5):
        if not len(longer):
            break
        value[longer] |= (raw[first[longer] + k] & 0x7F).astype(np.uint32) << (7 * k)
        longer = longer[n_continued[longer] > k]
    values[terminal - run_last - 1] = value


def _walk(batch: _Batch) -> IntArray:
    """Return the start of every record of every file, files in order.

    Step k advances all files that have more than k records by one record:
    `pos += 3 + numCounters`, one vectorised operation for the whole batch.
    """
    n_entries = np.array([h.n_entries for h in batch.headers], dtype=np.int64)
    available = batch.end_value - batch.first_value
    if np.any(n_entries > available):
        raise IrregularInputError  # more records announced than values: a truncated file
    longest = int(n_entries.max()) if len(n_entries) else 0
    if longest.bit_length() * len(batch.values) * DOUBLING_COST < longest * LOCKSTEP_COST:
        return _walk_by_doubling(batch, n_entries)
    order = np.argsort(-n_entries, kind="stable")
    n_sorted = n_entries[order]
    if longest * len(order) > MAX_LOCKSTEP_CELLS:
        raise IrregularInputError
    table = np.zeros((longest + 1, len(order)), dtype=np.int64)
    table[0] = batch.first_value[order]
    _lockstep(batch.values, table, n_sorted)
    ends = table[n_sorted, np.arange(len(order))]
    if np.any(ends > batch.end_value[order]):
        raise IrregularInputError  # a record runs past its file: let the exact path name it
    by_file = table[:longest, np.argsort(order)]
    present = np.arange(longest)[:, None] < n_entries[None, :]
    return by_file.T[present.T]


def _lockstep(values: U32Array, table: IntArray, n_sorted: IntArray) -> None:
    """Fill row k + 1 of `table` (one column per file, files by decreasing record count
    `n_sorted`) with the start of each file's record k + 1: row k plus 3 plus the record's
    `numCounters`.

    Two numpy calls per step on preallocated rows, with 3 added to every value beforehand
    (and taken off after): the step's overhead, not its arithmetic, is the cost here.
    """
    active = np.searchsorted(-n_sorted, -np.arange(len(table) - 1), side="left").tolist()
    values += RECORD_HEADER  # wraps for values near 2**32: such a file fails the end check
    try:
        take, add = values.take, np.add
        step = 0
        for width, run in groupby(active):
            steps = len(list(run))
            rows = list(table[step : step + steps + 1, :width])
            for k in range(steps):
                add(rows[k], take(rows[k], mode="clip"), out=rows[k + 1])
            step += steps
    finally:
        values -= RECORD_HEADER


def _walk_by_doubling(batch: _Batch, n_entries: IntArray) -> IntArray:
    """`_walk` by pointer doubling: log2(records) passes over the values instead of one
    step per record, which wins for batches of few files (a cluster entry).

    `jump[j]` is where a record starting at value `j` would end; jumping twice as far
    each round, record `i` of a file starts at `jump^i(first)`.
    """
    values = batch.values
    sink = len(values)
    first_jump = np.arange(sink + 1, dtype=np.int64)
    first_jump[:sink] += values
    first_jump[:sink] += RECORD_HEADER
    np.minimum(first_jump, sink, out=first_jump)
    ends = np.cumsum(n_entries)
    index = np.arange(int(ends[-1])) - np.repeat(ends - n_entries, n_entries)
    starts = np.repeat(batch.first_value, n_entries)
    jump = first_jump
    for bit in range(int(n_entries.max()).bit_length()):
        chosen = np.flatnonzero((index >> bit) & 1)
        starts[chosen] = jump[starts[chosen]]
        jump = jump[jump]
    with_records = n_entries > 0
    last_end = first_jump[starts[ends[with_records] - 1]]
    if np.any(last_end > batch.end_value[with_records]):
        raise IrregularInputError  # a record runs past its file: let the exact path name it
    return starts


def _check_records(meta: MetaFile, values: U32Array, starts: IntArray) -> IntArray:
    """Return the function of each record; refuse anything but known, full-length records."""
    pkgs = values[starts + 1].astype(np.int64)
    funcs_in_pkg = values[starts + 2].astype(np.int64)
    n_pkgs = len(meta.packages)
    if len(pkgs) and int(pkgs.max()) >= n_pkgs:
        raise IrregularInputError
    first = np.array([p.first_func for p in meta.packages], dtype=np.int64)
    nfuncs = np.array([p.num_funcs for p in meta.packages], dtype=np.int64)
    if np.any(funcs_in_pkg >= nfuncs[pkgs]):
        raise IrregularInputError
    funcs = first[pkgs] + funcs_in_pkg
    n_units = np.diff(meta.func_units)[funcs]
    if np.any(values[starts] != n_units) or np.any(n_units == 0):
        raise IrregularInputError
    return funcs


def _scatter(
    meta: MetaFile, batch: _Batch, starts: IntArray, funcs: IntArray, totals: np.ndarray
) -> None:
    """Add every counter of the batch to its unit.

    Within a record, unit slot minus value position is constant, so the slot of
    every value is a running sum of ones with a jump at each record's first
    counter. Record headers and file tails are zeroed, so whatever slot they land
    on (at most a few past the last unit) gains nothing. Sums are exact in 64 bits.
    The running sum is taken chunk by chunk: no slot array as long as the batch.
    """
    values = batch.values
    for k in range(RECORD_HEADER):
        values[starts + k] = 0
    n_units = np.diff(meta.func_units)[funcs]
    first_counter = starts + RECORD_HEADER
    last_counter = first_counter + n_units - 1
    per_file = np.array([h.n_entries for h in batch.headers], dtype=np.int64)
    tail_start = batch.first_value.copy()
    with_records = per_file > 0
    tail_start[with_records] = last_counter[np.cumsum(per_file)[with_records] - 1] + 1
    values[_ranges(tail_start, batch.end_value + 1)] = 0
    first_slot = meta.func_units[funcs]
    jump = np.zeros(len(funcs), dtype=np.int64)
    if len(funcs):
        # slot just before a record's first counter: the previous counter's slot plus the
        # positions in between (or position + 1 before the batch's first record)
        before = np.empty(len(funcs), dtype=np.int64)
        before[0] = first_counter[0]
        previous_slot = first_slot[:-1] + n_units[:-1] - 1
        before[1:] = previous_slot + (first_counter[1:] - 1 - last_counter[:-1])
        jump = first_slot - before
    sums = np.zeros(len(totals) + 1, dtype=np.uint64)
    step = np.empty(min(ADD_CHUNK, len(values)), dtype=np.int64)
    bounds = np.searchsorted(first_counter, np.arange(0, len(values) + ADD_CHUNK, ADD_CHUNK))
    carry = 0
    for chunk, lo in enumerate(range(0, len(values), ADD_CHUNK)):
        slots = step[: min(ADD_CHUNK, len(values) - lo)]
        slots.fill(1)
        a, b = bounds[chunk], bounds[chunk + 1]
        slots[first_counter[a:b] - lo] = jump[a:b]
        np.cumsum(slots, out=slots)
        slots += carry
        carry = int(slots[-1])
        if int(slots.max()) >= len(sums):  # a long tail: rare
            sums = np.concatenate([sums, np.zeros(int(slots.max()) + 1 - len(sums), np.uint64)])
        np.add.at(sums, slots, values[lo : lo + len(slots)].astype(np.uint64))
    results.add_counts(totals, sums[: len(totals)], CounterMode.COUNT)


def _ranges(lo: IntArray, hi: IntArray) -> IntArray:
    """Return the concatenation of `arange(lo[i], hi[i])`."""
    owner, offset = run_offsets(np.maximum(hi - lo, 0))
    return lo[owner] + offset
