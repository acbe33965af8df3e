"""Decode `covcounters.<hash>.<pid>.<nanos>` files (go-coverage-format.md §3).

Only the first segment is read, as `go tool covdata` does. The counter values are
decoded in one vectorised pass; record boundaries are found by following the
chain of `numCounters` fields, verifying a whole known layout at once when the
file repeats the layout of the previous file of the same binary.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from coverage_collector.covdata import uleb
from coverage_collector.covdata.meta import read_string_table
from coverage_collector.covdata.model import IntArray, U32Array
from coverage_collector.exceptions import CovDataError

COUNTER_MAGIC = b"\x00cwm"
COUNTER_VERSION = 1
FILE_HEADER = struct.Struct("<4sI16sBB6x")
SEGMENT_HEADER = struct.Struct("<QII")
FOOTER = struct.Struct("<4s4xI4x")
FLAVOR_RAW = 1
FLAVOR_ULEB = 2
RECORD_HEADER = 3  # numCounters, pkgIdx, funcIdx


class CounterDecodeError(CovDataError):
    """A counter data file is corrupt or truncated."""


@dataclass(frozen=True)
class Layout:
    """Where the function records of one counter file sit in its value stream."""

    starts: IntArray
    """Index of each record's `numCounters` value."""
    counts: IntArray
    pkgs: IntArray
    funcs: IntArray

    def __len__(self) -> int:
        return len(self.starts)


@dataclass(frozen=True)
class CounterFile:
    """A decoded counter data file: its header, args and function records."""

    path: str
    meta_hash: bytes
    flavor: int
    args: dict[str, str]
    values: U32Array
    """The value stream of the records (headers and counters interleaved)."""
    layout: Layout

    @property
    def os_args(self) -> list[str] | None:
        """Return the program's `os.Args` as recorded, or None when not recorded."""
        if "argc" not in self.args:
            return None
        return [self.args.get(f"argv{i}", "") for i in range(int(self.args["argc"]))]

    def counters(self, record: int) -> U32Array:
        """Return the counters of record number `record`."""
        first = int(self.layout.starts[record]) + RECORD_HEADER
        return self.values[first : first + int(self.layout.counts[record])]


def decode_counters(
    data: bytes, path: str = "<counters>", hint: Layout | None = None
) -> CounterFile:
    """Decode the bytes of a counter data file named `path`.

    `hint` is the layout of a previous file of the same binary: when this file
    has the same records, they are verified in one vectorised step.
    Raises `CounterDecodeError` naming `path` and the defect.
    """

    def fail(defect: str) -> CounterDecodeError:
        return CounterDecodeError(f"Couldn't decode counter data file {path}: {defect}")

    if len(data) < FILE_HEADER.size:
        what = "file is empty" if not data else f"file is only {len(data)} bytes"
        raise fail(f"{what}; a counter-file header needs {FILE_HEADER.size}")
    magic, version, meta_hash, flavor, big_endian = FILE_HEADER.unpack_from(data)
    if magic != COUNTER_MAGIC:
        raise fail(f"bad magic {magic!r}, not a Go coverage counter data file")
    if version > COUNTER_VERSION:
        raise fail(f"unknown version {version} (expected {COUNTER_VERSION})")
    footer_magic, num_segments = FOOTER.unpack_from(data, len(data) - FOOTER.size)
    if footer_magic != COUNTER_MAGIC:
        raise fail("no valid footer: the file is truncated or not a counter data file")
    if num_segments == 0:
        raise fail("footer announces no segments")
    if flavor not in (FLAVOR_RAW, FLAVOR_ULEB):
        raise fail(f"unknown counter flavor {flavor} (expected 1 or 2)")
    seg_start = FILE_HEADER.size
    if seg_start + SEGMENT_HEADER.size > len(data):
        raise fail("truncated segment header")
    n_entries, strtab_len, args_len = SEGMENT_HEADER.unpack_from(data, seg_start)
    strtab_start = seg_start + SEGMENT_HEADER.size
    args_start = strtab_start + strtab_len
    records_start = args_start + args_len
    if records_start > len(data):
        raise fail("string or args table runs past the end of the file")
    try:
        strings, _ = read_string_table(data, strtab_start, args_start)
        args = _read_args(data, args_start, records_start, strings)
    except ValueError as exc:
        raise fail(str(exc)) from None
    records_start += -records_start % 4
    values = _decode_values(data, records_start, flavor, bool(big_endian))
    try:
        layout = find_layout(values, n_entries, hint)
    except ValueError as exc:
        raise fail(str(exc)) from None
    return CounterFile(path, meta_hash, flavor, args, values, layout)


def _read_args(data: bytes, pos: int, end: int, strings: list[str]) -> dict[str, str]:
    """Read the args table (`uleb n` then `n` key/value string indices)."""
    try:
        count, pos = uleb.read(data, pos)
        args: dict[str, str] = {}
        for _ in range(count):
            key_idx, pos = uleb.read(data, pos)
            value_idx, pos = uleb.read(data, pos)
            if key_idx >= len(strings) or value_idx >= len(strings):
                raise ValueError("args table refers outside the string table")
            key = strings[key_idx]
            if key in args:
                raise ValueError(f"args table repeats the key {key!r}")
            args[key] = strings[value_idx]
    except IndexError:
        raise ValueError("args table is truncated") from None
    if pos > end:
        raise ValueError("args table runs past its declared length")
    argc = args.get("argc")
    if argc is not None and not (argc.isascii() and argc.lstrip("+-").isdigit()):
        raise ValueError(f"malformed argc {argc!r} in args table")
    return args


def _decode_values(data: bytes, start: int, flavor: int, big_endian: bool) -> U32Array:
    """Return every counter-section value from `start` to the end of the file."""
    if flavor == FLAVOR_ULEB:
        values, _ = uleb.decode_u32(np.frombuffer(data, dtype=np.uint8, offset=start))
        return values
    count = (len(data) - start) // 4
    dtype = ">u4" if big_endian else "<u4"
    return np.frombuffer(data, dtype=dtype, count=count, offset=start).astype(np.uint32)


def find_layout(values: U32Array, n_entries: int, hint: Layout | None = None) -> Layout:
    """Follow the record chain `numCounters, pkg, func, counters...` `n_entries` times.

    Raises ValueError when the records run past the end of `values`.
    """
    n_values = len(values)
    if n_entries > n_values:
        raise ValueError(f"{n_entries} function records announced, the data is truncated")
    stream = memoryview(values)  # cheap scalar access for the sequential walk
    if (
        hint is not None
        and len(hint) == n_entries
        and (
            n_entries == 0
            or (
                _head_matches(stream, 0, hint, 0)
                and _verify_run(values, 0, hint, 0, n_entries) == n_entries
            )
        )
    ):
        return hint  # the same records as the previous file: share its layout object
    starts: list[IntArray | list[int]] = []
    found = 0
    pos = 0
    hint_at = 0
    by_id = {} if hint is None else _hint_index(hint)
    pending: list[int] = []
    while found < n_entries:
        if hint is not None and hint_at < len(hint) and _head_matches(stream, pos, hint, hint_at):
            matched = _verify_run(values, pos, hint, hint_at, n_entries - found)
            if matched:
                segment = hint.starts[hint_at : hint_at + matched] + (pos - hint.starts[hint_at])
                starts.append(pending)
                pending = []
                starts.append(segment)
                found += matched
                hint_at += matched
                last = int(segment[-1])
                pos = last + RECORD_HEADER + stream[last]
                continue
        if pos + RECORD_HEADER > n_values:
            raise ValueError(f"function record {found} is truncated")
        count = stream[pos]
        pending.append(pos)
        if by_id:
            hint_at = by_id.get((stream[pos + 1], stream[pos + 2]), len(hint or ())) + 1
        pos += RECORD_HEADER + count
        found += 1
    starts.append(pending)
    record_starts = np.concatenate([np.asarray(s, dtype=np.int64) for s in starts])
    if len(record_starts) and pos > n_values:
        raise ValueError(f"function record {n_entries - 1} is truncated")
    return Layout(
        starts=record_starts,
        counts=values[record_starts].astype(np.int64),
        pkgs=values[record_starts + 1].astype(np.int64),
        funcs=values[record_starts + 2].astype(np.int64),
    )


def _hint_index(hint: Layout) -> dict[tuple[int, int], int]:
    """Map each (pkg, func) of `hint` to its record number."""
    return {
        (p, f): i
        for i, (p, f) in enumerate(zip(hint.pkgs.tolist(), hint.funcs.tolist(), strict=False))
    }


def _head_matches(stream: memoryview, pos: int, hint: Layout, at: int) -> bool:
    """Tell whether the record at `pos` looks like record `at` of `hint` (cheap check)."""
    if pos + RECORD_HEADER > len(stream):
        return False
    return bool(
        stream[pos] == hint.counts[at]
        and stream[pos + 1] == hint.pkgs[at]
        and stream[pos + 2] == hint.funcs[at]
    )


def _verify_run(values: U32Array, pos: int, hint: Layout, at: int, limit: int) -> int:
    """Return how many consecutive records of `hint`, from record `at`, sit at `pos` on.

    A record counts only when its `numCounters`, package and function all equal the
    hint's, which proves the next record starts where the hint says.
    """
    stop = min(len(hint), at + limit)
    where = hint.starts[at:stop] + (pos - hint.starts[at])
    counts = hint.counts[at:stop]
    fits = where + RECORD_HEADER + counts <= len(values)
    n_fit = int(np.argmin(fits)) if not fits.all() else len(fits)
    where = where[:n_fit]
    ok = (
        (values[where] == counts[:n_fit])
        & (values[where + 1] == hint.pkgs[at : at + n_fit])
        & (values[where + 2] == hint.funcs[at : at + n_fit])
    )
    return int(np.argmin(ok)) if not ok.all() else n_fit


def read_counters(path: str, hint: Layout | None = None) -> CounterFile:
    """Read and decode the counter data file at `path`."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CounterDecodeError(
            f"Couldn't read counter data file {path}: {exc.strerror}"
        ) from None
    return decode_counters(data, path, hint)
