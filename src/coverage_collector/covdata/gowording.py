"""Go's words for a corrupt coverage file, where Go rejects it cleanly.

Our decoders name the defect in their own words. When covdata would reject the same
file with an error of its own (an empty or truncated file, a bad magic, an unknown
version, an insane package offset), the `covdata` commands print Go's message
instead, so that logs read the same. This replays the checks Go makes before it
decodes any record (`decodecounter.NewCounterDataReader`,
`decodemeta.NewCoverageMetaFileReader`, `GetPackagePayload`), with its two readers:
`cmd/internal/cov` maps files of 16 KiB or more (partial reads then succeed) and
reads smaller ones with `io.ReadFull` (EOF, or unexpected EOF after some bytes).
Where those checks pass, Go goes on to decode records or blobs, and may panic or
fail differently; the functions return None and our own message stands.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from coverage_collector.covdata.decodeerrors import CounterDecodeError, MetaDecodeError
from coverage_collector.covdata.trace import MMAP_THRESHOLD

_COUNTER_MAGIC = b"\x00cwm"
_META_MAGIC = b"\x00cvm"
_COUNTER_HEADER, _SEGMENT_HEADER, _FOOTER = 32, 16, 16
_META_HEADER = struct.Struct("<4sIQQ16sIIBB6x")


def _full_read(available: int, wanted: int) -> str | None:
    """Return the error of `io.ReadFull` for `wanted` bytes with `available` left."""
    if available >= wanted:
        return None
    return "EOF" if available <= 0 else "unexpected EOF"


def _table_read(available: int, wanted: int, mapped: bool, table: str) -> str | None:
    """Return the error of covdata's `Read` of a `table` of `wanted` bytes."""
    if not mapped:
        return _full_read(available, wanted) if wanted else None
    if available <= 0:
        return "EOF"  # the mapped reader refuses even an empty read at the end
    return f"error: short read on {table}" if available < wanted else None


def counter_file_reason(data: bytes) -> str | None:
    """Return why `NewCounterDataReader` rejects counter file `data`, in Go's words,
    or None when it accepts the file's header, footer and tables."""
    size = len(data)
    problem = _full_read(size, _COUNTER_HEADER)
    if problem:
        return problem
    magic, version = struct.unpack_from("<4sI", data)
    if magic != _COUNTER_MAGIC:
        return "invalid magic string: not a counter data file"
    if version > 1:
        return f"version data incompatibility: reader is 1 data is {version}"
    footer_magic, segments = struct.unpack_from("<4s4xI", data, size - _FOOTER)
    if footer_magic != _COUNTER_MAGIC:
        return "invalid magic string (not a counter data file)"
    if segments == 0:
        return "invalid counter data file (no segments)"
    problem = _full_read(size - _COUNTER_HEADER, _SEGMENT_HEADER)
    if problem:
        return problem
    entries, strtab_len, args_len = struct.unpack_from("<QII", data, _COUNTER_HEADER)
    mapped = size >= MMAP_THRESHOLD
    position = _COUNTER_HEADER + _SEGMENT_HEADER
    problem = _table_read(size - position, strtab_len, mapped, "string table")
    if problem:
        return problem
    position += strtab_len
    problem = _table_read(size - position, args_len, mapped, "args table")
    if problem:
        return problem
    # Records are read byte by byte after the tables (and their padding): none left at
    # all is EOF for the first one. Anything later is a matter of records: not ours here.
    return "EOF" if entries and position + args_len >= size else None


def meta_file_reason(data: bytes) -> str | None:
    """Return why `NewCoverageMetaFileReader` rejects meta file `data`, in Go's words,
    or None when it accepts the header and the package tables."""
    size = len(data)
    problem = _full_read(size, _META_HEADER.size)
    if problem:
        return problem
    magic, version, total, entries, _, _, strtab_len, _, _ = _META_HEADER.unpack_from(data)
    if magic != _META_MAGIC:
        return "invalid meta-data file magic string"
    if version > 1:
        return f"meta-data file with an unknown version {version} (expected 1)"
    position = _META_HEADER.size
    for what in ("offset", "length"):
        for index in range(entries):
            if position >= size:
                return "EOF"
            if size - position < 8:
                return "premature end of file on read"
            (value,) = struct.unpack_from("<Q", data, position)
            position += 8
            if value > total:
                return f"insane pkg {what} {index}: {value} > totlen {total}"
    if strtab_len and position >= size:
        return "EOF"
    return "error: short read on string table" if size - position < strtab_len else None


def meta_package_reason(data: bytes) -> tuple[int, str] | None:
    """Return the first package whose blob covdata can't read from meta file `data`
    (a valid header) and Go's words for it, or None. Files that Go maps are sliced
    without a check (Go panics past the end): None."""
    size = len(data)
    if size >= MMAP_THRESHOLD:
        return None
    entries = struct.unpack_from("<Q", data, 16)[0]
    table = _META_HEADER.size
    for index in range(entries):
        (offset,) = struct.unpack_from("<Q", data, table + 8 * index)
        (length,) = struct.unpack_from("<Q", data, table + 8 * (entries + index))
        problem = _full_read(size - offset, length) if length else None
        if problem:
            return index, problem
    return None


@dataclass(frozen=True)
class GoError:
    """covdata's error for a corrupt file: the text after `error: `, and whether its
    reader returned it (Go's main then prints it and traces "leaving main") rather
    than a command aborting at once."""

    message: str
    from_reader: bool


_DUMPS = ("textfmt", "percent", "func", "pkglist", "debugdump")
"""The commands whose meta visit reads every package blob before the counter files."""


def go_error(command: str, exc: MetaDecodeError | CounterDecodeError) -> GoError | None:
    """Return the error covdata `command` reports for the file `exc` is about, or None
    when covdata doesn't reject that file cleanly before decoding its contents."""
    try:
        with open(exc.path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if isinstance(exc, CounterDecodeError):
        reason = counter_file_reason(data)
        return _reader_error(f"reading counter data file {exc.path}: {reason}") if reason else None
    reason = meta_file_reason(data)
    if reason:
        return _reader_error(f"decoding meta-file {exc.path}: {reason}")
    package = meta_package_reason(data)
    if package is None:
        return None
    message = f"reading pkg {package[0]} from meta-file {exc.path}: {package[1]}"
    return GoError(message, False) if command in _DUMPS else _reader_error(message)


def _reader_error(message: str) -> GoError:
    """The reader's errors already start with `error: ` and end with a newline: Go's
    main prints them doubled, and a blank line follows."""
    return GoError(f"error: {message}\n", True)
