"""Decode `covmeta.<hash>` files (go-coverage-format.md §2) into a columnar `MetaFile`.

Function records of a package are decoded with one vectorised ULEB128 pass; only
files with odd function offsets fall back to reading records one by one. The header,
package table and string tables are read by `metaformat`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coverage_collector.covdata import uleb
from coverage_collector.covdata.arrays import run_offsets
from coverage_collector.covdata.decodeerrors import MetaDecodeError
from coverage_collector.covdata.metaformat import (
    BLOB_HEADER_SIZE,
    UNIT_FIELDS,
    failure,
    parse_blob_header,
    parse_meta,
    read_string_table,
)
from coverage_collector.covdata.metagroups import read_input
from coverage_collector.covdata.model import (
    CounterMode,
    Granularity,
    IntArray,
    MetaFile,
    PackageMeta,
    U32Array,
    enum_or_raw,
)

__all__ = ["MetaDecodeError", "decode_meta", "read_meta", "read_string_table"]


@dataclass
class _FuncColumns:
    """Function and unit columns of one package, before interning its strings."""

    name: IntArray
    file: IntArray
    lit: IntArray
    n_units: IntArray
    units: U32Array  # shape (total units, 5)


def decode_meta(data: bytes, path: str = "<meta>") -> MetaFile:
    """Decode the bytes of a meta-data file named `path`.

    Raises `MetaDecodeError` naming `path` and the defect for any corrupt input.
    """
    layout = parse_meta(data, path)
    packages: list[PackageMeta] = []
    columns: list[_FuncColumns] = []
    local_strings: list[list[str]] = []
    first_func = 0
    for index, blob in enumerate(layout.blobs):
        try:
            package, strings, cols = _decode_blob(blob, first_func)
        except ValueError as exc:
            raise failure(path, f"package {index}: {exc}") from None
        packages.append(package)
        local_strings.append(strings)
        columns.append(cols)
        first_func += package.num_funcs
    return _assemble(
        path, layout.file_hash, layout.mode, layout.granularity, packages, local_strings, columns
    )


def _decode_blob(blob: bytes, first_func: int) -> tuple[PackageMeta, list[str], _FuncColumns]:
    """Decode one package blob; raise ValueError describing the defect."""
    header = parse_blob_header(blob)
    num_funcs = header.num_funcs
    func_offsets = np.frombuffer(blob, dtype="<u4", count=num_funcs, offset=BLOB_HEADER_SIZE)
    minimum = BLOB_HEADER_SIZE + 4 * np.arange(num_funcs)
    bad = np.flatnonzero((func_offsets < minimum) | (func_offsets > header.declared_len))
    if len(bad):
        raise ValueError(f"malformed func offset {int(func_offsets[bad[0]])}")
    cols = _decode_functions(blob, func_offsets.astype(np.int64), header.records_start)
    if len(cols.name) and max(int(cols.name.max()), int(cols.file.max())) >= len(header.strings):
        raise ValueError("function name or file index outside the string table")
    package = PackageMeta(
        path=header.path,
        name=header.name,
        module=header.module,
        meta_hash=header.meta_hash,
        blob=blob,
        first_func=first_func,
        num_funcs=num_funcs,
    )
    return package, header.strings, cols


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
