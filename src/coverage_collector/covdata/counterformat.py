"""The parts of a `covcounters.*` file before its function records (go-coverage-format.md §3):
header, footer, string and args tables. Plain Python: the small-input path reads them
without numpy, and `counters`/`fastmerge` build on them.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from coverage_collector.covdata import uleb
from coverage_collector.covdata.decodeerrors import CounterDecodeError
from coverage_collector.covdata.metaformat import read_string_table

COUNTER_MAGIC = b"\x00cwm"
COUNTER_VERSION = 1
FILE_HEADER = struct.Struct("<4sI16sBB6x")
SEGMENT_HEADER = struct.Struct("<QII")
FOOTER = struct.Struct("<4s4xI4x")
FLAVOR_RAW = 1
FLAVOR_ULEB = 2
RECORD_HEADER = 3  # numCounters, pkgIdx, funcIdx
ARGS_CACHE_SIZE = 4096
ARGS_CACHE_KEY_BYTES = 1 << 16
"""Tables larger than this are not cached: the cache's memory stays bounded."""
_ARGS_CACHE: dict[bytes, dict[str, str]] = {}
ARGC = re.compile(r"[+-]?[0-9]{1,19}\Z")
"""What Go's `strconv.Atoi` takes for `argc` (up to int64 size)."""


@dataclass(frozen=True)
class CounterHeader:
    """The parts of a counter file before its function records."""

    path: str
    meta_hash: bytes
    flavor: int
    big_endian: bool
    n_entries: int
    """Number of function records in the first segment."""
    records_start: int
    """Byte offset of the first function record."""
    args: dict[str, str]


def os_args(args: dict[str, str]) -> list[str] | None:
    """Return the program's `os.Args` recorded in `args`, or None when not recorded."""
    if "argc" not in args:
        return None
    return [args.get(f"argv{i}", "") for i in range(int(args["argc"]))]


def failure(path: str, defect: str) -> CounterDecodeError:
    return CounterDecodeError(f"Couldn't decode counter data file {path}: {defect}", path=path)


def parse_header(data: bytes, path: str = "<counters>") -> CounterHeader:
    """Check a counter file's header, footer and tables; return what precedes its records.

    Raises `CounterDecodeError` naming `path` and the defect.
    """
    if len(data) < FILE_HEADER.size:
        what = "file is empty" if not data else f"file is only {len(data)} bytes"
        raise failure(path, f"{what}; a counter-file header needs {FILE_HEADER.size}")
    magic, version, meta_hash, flavor, big_endian = FILE_HEADER.unpack_from(data)
    if magic != COUNTER_MAGIC:
        raise failure(path, f"bad magic {magic!r}, not a Go coverage counter data file")
    if version > COUNTER_VERSION:
        raise failure(path, f"unknown version {version} (expected {COUNTER_VERSION})")
    footer_magic, num_segments = FOOTER.unpack_from(data, len(data) - FOOTER.size)
    if footer_magic != COUNTER_MAGIC:
        raise failure(path, "no valid footer: the file is truncated or not a counter data file")
    if num_segments == 0:
        raise failure(path, "footer announces no segments")
    if flavor not in (FLAVOR_RAW, FLAVOR_ULEB):
        raise failure(path, f"unknown counter flavor {flavor} (expected 1 or 2)")
    seg_start = FILE_HEADER.size
    if seg_start + SEGMENT_HEADER.size > len(data):
        raise failure(path, "truncated segment header")
    n_entries, strtab_len, args_len = SEGMENT_HEADER.unpack_from(data, seg_start)
    strtab_start = seg_start + SEGMENT_HEADER.size
    args_start = strtab_start + strtab_len
    records_start = args_start + args_len
    if records_start > len(data):
        raise failure(path, "string or args table runs past the end of the file")
    tables = data[strtab_start:records_start]
    args = _ARGS_CACHE.get(tables)  # a binary's runs often share their arguments
    if args is None:
        try:
            strings, _ = read_string_table(data, strtab_start, args_start)
            args = _read_args(data, args_start, records_start, strings)
        except ValueError as exc:
            raise failure(path, str(exc)) from None
        if len(_ARGS_CACHE) < ARGS_CACHE_SIZE and len(tables) <= ARGS_CACHE_KEY_BYTES:
            _ARGS_CACHE[tables] = args
    records_start += -records_start % 4
    if records_start > len(data):  # the tables' padding runs past the end
        raise failure(path, "no room for function records: the file is truncated")
    return CounterHeader(path, meta_hash, flavor, bool(big_endian), n_entries, records_start, args)


def _read_args(data: bytes, pos: int, end: int, strings: list[str]) -> dict[str, str]:
    """Read the args table (`uleb n` then `n` key/value string indices).

    Counts are checked against the table's bytes before anything is built from them.
    """
    table_bytes = end - pos
    try:
        count, pos = uleb.read(data, pos)
        if count > (end - pos) // 2:
            raise ValueError(f"args table announces {count} entries in {table_bytes} bytes")
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
    if argc is not None and not ARGC.match(argc):
        raise ValueError(f"malformed argc {argc[:40]!r} in args table")
    if argc is not None and int(argc) > table_bytes:
        raise ValueError(f"argc {argc} is more than an args table of {table_bytes} bytes holds")
    return args


def regular_header(data: bytes, header: CounterHeader) -> bool:
    """Whether a counter file may take a fast path: ULEB records (what Go writes), the file
    ending in a complete value, no more records announced than bytes. Anything else goes
    to the exact path, which names the defect as covdata does."""
    return header.flavor == FLAVOR_ULEB and data[-1] < 0x80 and header.n_entries <= len(data)
