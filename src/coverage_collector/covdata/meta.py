"""Decode `covmeta.<hash>` files (go-coverage-format.md §2) into a columnar `MetaFile`.

Function records of a package are decoded with one vectorised ULEB128 pass; only
files with odd function offsets fall back to reading records one by one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from coverage_collector.covdata import uleb
from coverage_collector.covdata.arrays import run_offsets
from coverage_collector.covdata.metagroups import read_input
from coverage_collector.covdata.model import (
    STRING_CODEC,
    CounterMode,
    Granularity,
    IntArray,
    MetaFile,
    PackageMeta,
    U32Array,
    enum_or_raw,
)
from coverage_collector.exceptions import CovDataError

META_MAGIC = b"\x00cvm"
META_VERSION = 1
FILE_HEADER = struct.Struct("<4sIQQ16sIIBB6x")
BLOB_HEADER = struct.Struct("<IIII16s4xII")  # Length, PkgName, PkgPath, ModulePath, hash, ...
BLOB_HEADER_SIZE = 44
UNIT_FIELDS = 5


class MetaDecodeError(CovDataError):
    """A meta-data file is corrupt or truncated; `path` names it (covdata's messages
    are worded from it, see `covdata.gowording`)."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


@dataclass
class _FuncColumns:
    """Function and unit columns of one package, before interning its strings."""

    name: IntArray
    file: IntArray
    lit: IntArray
    n_units: IntArray
    units: U32Array  # shape (total units, 5)


def read_string_table(data: bytes, pos: int, end: int) -> tuple[list[str], int]:
    """Read a Go string table from `data[pos:end]`; return the strings and the end offset.

    The lengths are read first; a table that is all ASCII (the usual case: import paths,
    file and function names) is then decoded once and sliced, not decoded string by string.
    """
    read = uleb.read
    starts: list[int] = []
    stops: list[int] = []
    try:
        count, pos = read(data, pos)
        if count > end - pos:
            raise IndexError
        first = pos
        for _ in range(count):
            length = data[pos]
            if length < 0x80:
                pos += 1
            else:
                length, pos = read(data, pos)
            starts.append(pos)
            pos += length
            stops.append(pos)
            if pos > end:
                raise IndexError
    except IndexError:
        raise ValueError("string table runs past its end") from None
    if not starts:
        return [], pos
    table = data[first:pos]
    if table.isascii():
        text = table.decode("ascii")
        return [text[a - first : b - first] for a, b in zip(starts, stops, strict=True)], pos
    return [data[a:b].decode(*STRING_CODEC) for a, b in zip(starts, stops, strict=True)], pos


def decode_meta(data: bytes, path: str = "<meta>") -> MetaFile:
    """Decode the bytes of a meta-data file named `path`.

    Raises `MetaDecodeError` naming `path` and the defect for any corrupt input.
    """

    def fail(defect: str) -> MetaDecodeError:
        return MetaDecodeError(f"Couldn't decode meta-data file {path}: {defect}", path=path)

    if len(data) < FILE_HEADER.size:
        what = "file is empty" if not data else f"file is only {len(data)} bytes"
        raise fail(f"{what}; a meta-data header needs {FILE_HEADER.size}")
    magic, version, total_len, entries, file_hash, _, strtab_len, mode, gran = (
        FILE_HEADER.unpack_from(data)
    )
    if magic != META_MAGIC:
        hint = " (this looks like a text profile)" if data.startswith(b"mode:") else ""
        raise fail(f"bad magic {magic!r}, not a Go coverage meta-data file{hint}")
    if version > META_VERSION:
        raise fail(f"unknown version {version} (expected {META_VERSION})")
    table_end = FILE_HEADER.size + 16 * entries
    if table_end + strtab_len > len(data):
        raise fail(f"header announces {entries} packages but the file is truncated")
    offsets = struct.unpack_from(f"<{entries}Q", data, FILE_HEADER.size)
    lengths = struct.unpack_from(f"<{entries}Q", data, FILE_HEADER.size + 8 * entries)
    for index, (offset, length) in enumerate(zip(offsets, lengths, strict=True)):
        if offset > total_len or length > total_len:
            raise fail(f"insane package {index} offset/length {offset}/{length} > {total_len}")
        if offset + length > len(data):
            raise fail(f"package {index} runs past the end of the file (truncated)")

    packages: list[PackageMeta] = []
    columns: list[_FuncColumns] = []
    local_strings: list[list[str]] = []
    first_func = 0
    for index, (offset, length) in enumerate(zip(offsets, lengths, strict=True)):
        blob = data[offset : offset + length]
        try:
            package, strings, cols = _decode_blob(blob, first_func)
        except ValueError as exc:
            raise fail(f"package {index}: {exc}") from None
        packages.append(package)
        local_strings.append(strings)
        columns.append(cols)
        first_func += package.num_funcs
    return _assemble(path, file_hash, mode, gran, packages, local_strings, columns)


def _decode_blob(blob: bytes, first_func: int) -> tuple[PackageMeta, list[str], _FuncColumns]:
    """Decode one package blob; raise ValueError describing the defect."""
    if len(blob) < BLOB_HEADER_SIZE:
        raise ValueError(f"blob of {len(blob)} bytes is shorter than its header")
    declared_len, name_idx, path_idx, module_idx, meta_hash, _, num_funcs = BLOB_HEADER.unpack_from(
        blob
    )
    offsets_end = BLOB_HEADER_SIZE + 4 * num_funcs
    if offsets_end > len(blob):
        raise ValueError(f"{num_funcs} function offsets do not fit in the blob")
    strings, strtab_end = read_string_table(blob, offsets_end, len(blob))
    for idx in (name_idx, path_idx, module_idx):
        if idx >= len(strings):
            raise ValueError(f"string index {idx} outside the table of {len(strings)}")
    func_offsets = np.frombuffer(blob, dtype="<u4", count=num_funcs, offset=BLOB_HEADER_SIZE)
    minimum = BLOB_HEADER_SIZE + 4 * np.arange(num_funcs)
    bad = np.flatnonzero((func_offsets < minimum) | (func_offsets > declared_len))
    if len(bad):
        raise ValueError(f"malformed func offset {int(func_offsets[bad[0]])}")
    cols = _decode_functions(blob, func_offsets.astype(np.int64), strtab_end)
    if len(cols.name) and max(int(cols.name.max()), int(cols.file.max())) >= len(strings):
        raise ValueError("function name or file index outside the string table")
    package = PackageMeta(
        path=strings[path_idx],
        name=strings[name_idx],
        module=strings[module_idx],
        meta_hash=meta_hash,
        blob=blob,
        first_func=first_func,
        num_funcs=num_funcs,
    )
    return package, strings, cols


def _decode_functions(blob: bytes, offsets: IntArray, region_start: int) -> _FuncColumns:
    """Decode the function records found at `offsets` of `blob`, vectorised."""
    if not len(offsets):
        empty = np.zeros(0, dtype=np.int64)
        return _FuncColumns(empty, empty, empty, empty, np.zeros((0, 5), dtype=np.uint32))
    start = min(region_start, int(offsets.min()))
    raw = np.frombuffer(blob, dtype=np.uint8, offset=start)
    values, value_starts = uleb.decode(raw)
    first = np.searchsorted(value_starts, offsets - start)
    first = np.minimum(first, max(len(value_starts) - 1, 0))
    if not len(values) or np.any(value_starts[first] != offsets - start):
        raise ValueError("function record offset inside another value")
    n_values = len(values)
    n_units = values[first].astype(np.uint32).astype(np.int64)
    record_end = first + 3 + UNIT_FIELDS * n_units + 1
    if np.any(record_end > n_values):
        raise ValueError("function record runs past the end of the blob (truncated)")
    if int(n_units.sum()) > n_values:  # only records that overlap can claim this many
        raise ValueError(f"function records claim more units than the blob's {n_values} values")
    unit_owner, slot = run_offsets(n_units)
    base = first[unit_owner] + 3 + UNIT_FIELDS * slot
    units = values[base[:, None] + np.arange(UNIT_FIELDS)].astype(np.uint32)
    return _FuncColumns(
        name=values[first + 1].astype(np.uint32).astype(np.int64),
        file=values[first + 2].astype(np.uint32).astype(np.int64),
        lit=(values[record_end - 1] != 0).astype(np.int64),
        n_units=n_units,
        units=units,
    )


def _assemble(
    path: str,
    file_hash: bytes,
    mode: int,
    gran: int,
    packages: list[PackageMeta],
    local_strings: list[list[str]],
    columns: list[_FuncColumns],
) -> MetaFile:
    """Intern the packages' strings and concatenate their columns into one `MetaFile`."""
    interned: dict[str, int] = {}
    names, files, lits, counts, units, func_pkg = [], [], [], [], [], []
    for pkg_index, (strings, cols) in enumerate(zip(local_strings, columns, strict=True)):
        global_ids = np.array([interned.setdefault(s, len(interned)) for s in strings])
        if len(cols.name):
            names.append(global_ids[cols.name])
            files.append(global_ids[cols.file])
        lits.append(cols.lit)
        counts.append(cols.n_units)
        units.append(cols.units)
        func_pkg.append(np.full(len(cols.name), pkg_index, dtype=np.int64))

    def cat(parts: list[IntArray]) -> IntArray:
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    n_units = cat(counts)
    func_units = np.zeros(len(n_units) + 1, dtype=np.int64)
    np.cumsum(n_units, out=func_units[1:])
    unit_cols = np.concatenate(units) if units else np.zeros((0, 5), dtype=np.uint32)
    return MetaFile(
        path=path,
        file_hash=file_hash,
        mode=enum_or_raw(CounterMode, mode),
        granularity=enum_or_raw(Granularity, gran),
        packages=tuple(packages),
        strings=list(interned),
        func_pkg=cat(func_pkg),
        func_name=cat(names),
        func_file=cat(files),
        func_lit=cat(lits).astype(bool),
        func_units=func_units,
        start_line=np.ascontiguousarray(unit_cols[:, 0]),
        start_col=np.ascontiguousarray(unit_cols[:, 1]),
        end_line=np.ascontiguousarray(unit_cols[:, 2]),
        end_col=np.ascontiguousarray(unit_cols[:, 3]),
        stmts=np.ascontiguousarray(unit_cols[:, 4]),
        unit_func=np.repeat(np.arange(len(n_units)), n_units),
    )


def read_meta(path: str) -> MetaFile:
    """Read and decode the meta-data file at `path`."""
    return decode_meta(read_input(path, "meta-data file"), path)
