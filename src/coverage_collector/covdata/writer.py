"""Encode meta-data and counter data files as `go tool covdata merge` writes them."""

from __future__ import annotations

import contextlib
import os
import struct
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain

from coverage_collector.covdata import speedups, uleb
from coverage_collector.covdata.counterformat import (
    COUNTER_MAGIC,
    COUNTER_VERSION,
    FLAVOR_ULEB,
    FOOTER,
    SEGMENT_HEADER,
)
from coverage_collector.covdata.counterformat import FILE_HEADER as COUNTER_HEADER
from coverage_collector.covdata.goerrors import errno_text
from coverage_collector.covdata.hashing import fnv128a, func_desc_bytes
from coverage_collector.covdata.metaformat import (
    BLOB_HEADER,
    FILE_HEADER,
    META_MAGIC,
    META_VERSION,
)
from coverage_collector.covdata.model import U32Array, go_bytes
from coverage_collector.exceptions import CovDataError

EMPTY_STRING_TABLE = b"\x01\x00"  # one string, ""
SCALAR_VALUES = 1 << 12
"""Counter files of up to this many counters are encoded value by value (no numpy to load)."""


def string_table(strings: Sequence[str]) -> bytes:
    """Encode a Go string table."""
    parts = [uleb.encode(len(strings))]
    for text in strings:
        raw = go_bytes(text)
        parts.append(uleb.encode(len(raw)))
        parts.append(raw)
    return b"".join(parts)


class StringTable:
    """An interning string table whose index 0 is "" (stringtab.Writer)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {"": 0}

    def lookup(self, text: str) -> int:
        return self.index.setdefault(text, len(self.index))

    def encode(self) -> bytes:
        return string_table(list(self.index))


def encode_meta_file(
    file_hash: bytes, blobs: Sequence[bytes], mode: int, granularity: int
) -> bytes:
    """Return a meta-data file holding `blobs` (encodemeta.CoverageMetaFileWriter)."""
    table_start = FILE_HEADER.size + 16 * len(blobs)
    offset = table_start + len(EMPTY_STRING_TABLE)
    total = offset + sum(len(b) for b in blobs)
    header = FILE_HEADER.pack(
        META_MAGIC,
        META_VERSION,
        total,
        len(blobs),
        file_hash,
        table_start,
        len(EMPTY_STRING_TABLE),
        mode,
        granularity,
    )
    offsets = []
    for blob in blobs:
        offsets.append(offset)
        offset += len(blob)
    lengths = [len(b) for b in blobs]
    tables = struct.pack(f"<{len(blobs)}Q", *offsets) + struct.pack(f"<{len(blobs)}Q", *lengths)
    return b"".join([header, tables, EMPTY_STRING_TABLE, *blobs])


def merged_meta_hash(blobs: Sequence[bytes]) -> bytes:
    """Return covdata merge's meta-file hash: FNV over the FNV of each blob."""
    return fnv128a(b"".join(fnv128a(blob) for blob in blobs))


@dataclass
class FuncDesc:
    """A function as the meta-data builder takes it."""

    name: str
    file: str
    units: list[tuple[int, int, int, int, int]]
    lit: bool

    @cached_property
    def identity(self) -> bytes:
        """The bytes covdata hashes to recognise the same function (asked for twice by
        `merge -pcombine`: once to find the function, once to hash its package)."""
        return func_desc_bytes(self.name, self.file, self.units, self.lit)


@dataclass
class PackageBuilder:
    """Re-encode a package blob from functions (encodemeta.CoverageMetaDataBuilder)."""

    path: str
    name: str
    module: str
    funcs: list[FuncDesc] = field(default_factory=list)
    _ids: dict[bytes, int] = field(default_factory=dict)

    def add(self, func: FuncDesc) -> int:
        """Add `func` unless an identical one is present; return its function index."""
        key = func.identity
        if key not in self._ids:
            self._ids[key] = len(self.funcs)
            self.funcs.append(func)
        return self._ids[key]

    def encode(self) -> bytes:
        """Return the package blob, header hash included."""
        strings = StringTable()
        path, name, module = (strings.lookup(s) for s in (self.path, self.name, self.module))
        records = []
        for func in self.funcs:
            head = (len(func.units), strings.lookup(func.name), strings.lookup(func.file))
            units = chain.from_iterable(func.units)
            records.append(encode_values([*head, *units, 1 if func.lit else 0]))
        digest = fnv128a(
            b"".join([go_bytes(self.path), go_bytes(self.name), go_bytes(self.module)])
            + b"".join(f.identity for f in self.funcs)
        )
        table = strings.encode()
        offset = BLOB_HEADER.size + 4 * len(records) + len(table)
        func_offsets = []
        for record in records:
            func_offsets.append(offset)
            offset += len(record)
        header = BLOB_HEADER.pack(
            offset, name, path, module, digest, len(strings.index), len(records)
        )
        return b"".join([header, struct.pack(f"<{len(records)}I", *func_offsets), table, *records])


@dataclass
class FuncCounters:
    """One function record of a counter file."""

    pkg: int
    func: int
    counters: U32Array | Sequence[int]
    """numpy's, a list, or an `array("Q")` (which the kernels encode without a copy)."""


def encode_values(values: Sequence[int]) -> bytes:
    """Return the minimal ULEB128 encodings of `values`, one after the other."""
    if speedups.KERNELS is not None:
        return speedups.KERNELS.encode_uvarints(array("Q", values))
    return b"".join(map(uleb.encode, values))


def encode_counter_file(
    meta_hash: bytes, args: dict[str, str], records: Sequence[FuncCounters]
) -> bytes:
    """Return a one-segment ULEB128 counter data file (encodecounter.CoverageDataWriter).

    The string table lists keys and values in sorted-key order (Go uses map order,
    which is random), so our files are deterministic.
    """
    strings = StringTable()
    keys = sorted(args)
    for key in keys:
        strings.lookup(key)
        strings.lookup(args[key])
    table = strings.encode()
    arg_bytes = uleb.encode(len(keys)) + b"".join(
        uleb.encode(strings.lookup(k)) + uleb.encode(strings.lookup(args[k])) for k in keys
    )
    written = SEGMENT_HEADER.size + len(table) + len(arg_bytes)
    arg_bytes += b"\x00" * (-written % 4)
    segment = SEGMENT_HEADER.pack(len(records), len(table), len(arg_bytes))
    if speedups.KERNELS is not None and all(isinstance(r.counters, array) for r in records):
        values = array("Q")
        for r in records:
            values.extend((len(r.counters), r.pkg, r.func))
            values.extend(r.counters)  # type: ignore[arg-type]
        body = speedups.KERNELS.encode_uvarints(values)
    elif sum(len(r.counters) for r in records) <= SCALAR_VALUES:
        body = b"".join(
            encode_values([len(r.counters), r.pkg, r.func, *map(int, r.counters)]) for r in records
        )
    else:
        import numpy as np

        stream = np.concatenate(
            [
                np.concatenate([[len(r.counters), r.pkg, r.func], r.counters]).astype(np.uint64)
                for r in records
            ]
        )
        kernels = speedups.KERNELS
        body = uleb.encode_array(stream) if kernels is None else kernels.encode_uvarints(stream)
    header = COUNTER_HEADER.pack(COUNTER_MAGIC, COUNTER_VERSION, meta_hash, FLAVOR_ULEB, 0)
    footer = FOOTER.pack(COUNTER_MAGIC, 1)
    return b"".join([header, segment, table, arg_bytes, body, footer])


@dataclass(frozen=True)
class OutputFile:
    """A file a merge writes: named `name`, or a fresh counter-file name for `meta_hash`;
    `failure` is how covdata words a failure to write it. A copy of an input (a meta file)
    holds no bytes but the input's path, `copy_of`, read when it is written: outputs are
    gathered for every binary before the first is written, and a collection's meta files
    would otherwise all be held at once."""

    name: str
    data: bytes
    failure: WriteFailure
    meta_hash: bytes = b""
    copy_of: str = ""

    def file_name(self) -> str:
        return self.name or counter_file_name(self.meta_hash)


def counter_file_name(meta_hash: bytes, pid: int = 0) -> str:
    """Return a fresh `covcounters.<hash>.<pid>.<nanos>` name, as covdata merge names files."""
    return f"covcounters.{meta_hash.hex()}.{pid}.{time.time_ns()}"


def write_new(directory: str, name: str, data: bytes) -> str:
    """Write `data` to `directory/name` via a temporary file and rename; return the path.

    On failure (a full disk) the temporary file is removed and the error raised.
    """
    path = os.path.join(directory, name)
    temporary = os.path.join(directory, f".tmp.{name}")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError) and not exc.filename:  # failed at close: name the file
            raise OSError(exc.errno, exc.strerror, path) from None
        raise
    return path


@dataclass(frozen=True)
class WriteFailure:
    """covdata's messages for an output file it can't open or can't write (`{path}`,
    `{reason}`: Go's errno text); they name the file twice, as Go wraps its errors."""

    open: str
    write: str


COPY_FAILED = WriteFailure(
    "opening output meta-data file {path}: open {path}: {reason}",
    "writing output meta-data file {path}: write {path}: {reason}",
)
META_FAILED = WriteFailure(
    "unable to open output meta-data file {path}: open {path}: {reason}",
    "error writing {path}: error writing {path}: write {path}: {reason}\n",
)
COUNTERS_FAILED = WriteFailure(
    "opening counter data file {path}: open {path}: {reason}",
    "counter file write failed: write error: write {path}: {reason}",
)


def write_output(directory: str, name: str, data: bytes, failure: WriteFailure) -> None:
    """Write output file `name` into `directory`; raise covdata's `failure` message
    when that fails (the directory is never created: covdata doesn't create it)."""
    try:
        write_new(directory, name, data)
    except OSError as exc:
        written = exc.filename == os.path.join(directory, name)  # else opening failed
        template = failure.write if written else failure.open
        path = os.path.normpath(os.path.join(directory, name))
        raise CovDataError(template.format(path=path, reason=errno_text(exc))) from None
