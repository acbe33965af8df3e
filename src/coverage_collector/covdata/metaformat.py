"""The parts of a `covmeta.*` file around its function records (go-coverage-format.md §2):
the file header and package table, each package blob's header and string table. Plain
Python: the small-input path reads them without numpy, and `meta` builds on them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from coverage_collector.covdata import uleb
from coverage_collector.covdata.decodeerrors import MetaDecodeError
from coverage_collector.covdata.model import STRING_CODEC

META_MAGIC = b"\x00cvm"
META_VERSION = 1
FILE_HEADER = struct.Struct("<4sIQQ16sIIBB6x")
BLOB_HEADER = struct.Struct("<IIII16s4xII")  # Length, PkgName, PkgPath, ModulePath, hash, ...
BLOB_HEADER_SIZE = 44
UNIT_FIELDS = 5


@dataclass(frozen=True)
class MetaLayout:
    """A meta-data file's header and the raw blob of each package, in package order."""

    file_hash: bytes
    mode: int
    granularity: int
    blobs: list[bytes]


@dataclass(frozen=True)
class BlobHeader:
    """A package blob's header and string table: what precedes its function records."""

    declared_len: int
    name: str
    path: str
    module: str
    meta_hash: bytes
    num_funcs: int
    strings: list[str]
    records_start: int
    """Offset in the blob just past the string table."""


def failure(path: str, defect: str) -> MetaDecodeError:
    return MetaDecodeError(f"Couldn't decode meta-data file {path}: {defect}", path=path)


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


def parse_meta(data: bytes, path: str) -> MetaLayout:
    """Check the header and package table of meta-data file `path`; return its blobs.

    Raises `MetaDecodeError` naming `path` and the defect.
    """
    if len(data) < FILE_HEADER.size:
        what = "file is empty" if not data else f"file is only {len(data)} bytes"
        raise failure(path, f"{what}; a meta-data header needs {FILE_HEADER.size}")
    magic, version, total_len, entries, file_hash, _, strtab_len, mode, gran = (
        FILE_HEADER.unpack_from(data)
    )
    if magic != META_MAGIC:
        hint = " (this looks like a text profile)" if data.startswith(b"mode:") else ""
        raise failure(path, f"bad magic {magic!r}, not a Go coverage meta-data file{hint}")
    if version > META_VERSION:
        raise failure(path, f"unknown version {version} (expected {META_VERSION})")
    table_end = FILE_HEADER.size + 16 * entries
    if table_end + strtab_len > len(data):
        raise failure(path, f"header announces {entries} packages but the file is truncated")
    offsets = struct.unpack_from(f"<{entries}Q", data, FILE_HEADER.size)
    lengths = struct.unpack_from(f"<{entries}Q", data, FILE_HEADER.size + 8 * entries)
    for index, (offset, length) in enumerate(zip(offsets, lengths, strict=True)):
        if offset > total_len or length > total_len:
            raise failure(
                path, f"insane package {index} offset/length {offset}/{length} > {total_len}"
            )
        if offset + length > len(data):
            raise failure(path, f"package {index} runs past the end of the file (truncated)")
    blobs = [
        data[offset : offset + length] for offset, length in zip(offsets, lengths, strict=True)
    ]
    return MetaLayout(file_hash, mode, gran, blobs)


def parse_blob_header(blob: bytes) -> BlobHeader:
    """Read a package blob's header and string table; raise ValueError describing a defect."""
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
    return BlobHeader(
        declared_len=declared_len,
        name=strings[name_idx],
        path=strings[path_idx],
        module=strings[module_idx],
        meta_hash=meta_hash,
        num_funcs=num_funcs,
        strings=strings,
        records_start=strtab_end,
    )
