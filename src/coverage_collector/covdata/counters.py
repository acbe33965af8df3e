"""Decode `covcounters.<hash>.<pid>.<nanos>` files (go-coverage-format.md §3).

Only the first segment is read, as `go tool covdata` does. The counter values are
decoded in one vectorised pass; record boundaries are found by following the
chain of `numCounters` fields. This module decodes one file at a time; `fastmerge`
merges many files of one binary at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coverage_collector.covdata import uleb
from coverage_collector.covdata.counterformat import (  # re-exported: the format's names
    FLAVOR_RAW,
    FLAVOR_ULEB,
    RECORD_HEADER,
    CounterHeader,
    failure,
    os_args,
    parse_header,
)
from coverage_collector.covdata.decodeerrors import CounterDecodeError
from coverage_collector.covdata.metagroups import read_input
from coverage_collector.covdata.model import IntArray, U32Array

__all__ = [
    "FLAVOR_RAW",
    "FLAVOR_ULEB",
    "RECORD_HEADER",
    "CounterDecodeError",
    "CounterFile",
    "CounterHeader",
    "Layout",
    "decode_counters",
    "find_layout",
    "os_args",
    "parse_header",
    "read_counters",
]


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

    header: CounterHeader
    values: U32Array
    """The value stream of the records (headers and counters interleaved)."""
    layout: Layout

    @property
    def path(self) -> str:
        return self.header.path

    @property
    def meta_hash(self) -> bytes:
        return self.header.meta_hash

    @property
    def args(self) -> dict[str, str]:
        return self.header.args

    def counters(self, record: int) -> U32Array:
        """Return the counters of record number `record`."""
        first = int(self.layout.starts[record]) + RECORD_HEADER
        return self.values[first : first + int(self.layout.counts[record])]


def decode_counters(data: bytes, path: str = "<counters>") -> CounterFile:
    """Decode the bytes of a counter data file named `path`.

    Raises `CounterDecodeError` naming `path` and the defect.
    """
    header = parse_header(data, path)
    values = _decode_values(data, header.records_start, header.flavor, header.big_endian)
    try:
        layout = find_layout(values, header.n_entries)
    except ValueError as exc:
        raise failure(path, str(exc)) from None
    return CounterFile(header, values, layout)


def _decode_values(data: bytes, start: int, flavor: int, big_endian: bool) -> U32Array:
    """Return every counter-section value from `start` to the end of the file."""
    if flavor == FLAVOR_ULEB:
        values, _ = uleb.decode_u32(np.frombuffer(data, dtype=np.uint8, offset=start))
        return values
    count = (len(data) - start) // 4
    dtype = ">u4" if big_endian else "<u4"
    return np.frombuffer(data, dtype=dtype, count=count, offset=start).astype(np.uint32)


def find_layout(values: U32Array, n_entries: int) -> Layout:
    """Follow the record chain `numCounters, pkg, func, counters...` `n_entries` times.

    One Python step per record (not per value); `fastmerge` walks many files at once.
    Raises ValueError when the records run past the end of `values`.
    """
    n_values = len(values)
    if n_entries > n_values:
        raise ValueError(f"{n_entries} function records announced, the data is truncated")
    stream = memoryview(values)  # cheap scalar access for the sequential walk
    starts = []
    pos = 0
    for record in range(n_entries):
        if pos + RECORD_HEADER > n_values:
            raise ValueError(f"function record {record} is truncated")
        starts.append(pos)
        pos += RECORD_HEADER + stream[pos]
    if pos > n_values:
        raise ValueError(f"function record {n_entries - 1} is truncated")
    record_starts = np.array(starts, dtype=np.int64)
    return Layout(
        starts=record_starts,
        counts=values[record_starts].astype(np.int64),
        pkgs=values[record_starts + 1].astype(np.int64),
        funcs=values[record_starts + 2].astype(np.int64),
    )


def read_counters(path: str) -> CounterFile:
    """Read and decode the counter data file at `path`."""
    return decode_counters(read_input(path, "counter data file"), path)
