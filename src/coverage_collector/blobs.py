"""Compact storage of numeric arrays in the database.

Counter vectors are mostly zeros and small numbers: each is narrowed to the
smallest unsigned type that holds its largest value, then zlib-compressed. A
one-byte header names the type, so a blob is self-describing.

A blob that is missing (NULL: a compile stopped before merging that binary) or not one
this module wrote raises `BlobError`, a `DataError`: every stage that reads the database
then ends with one line that says to run compile, never with a traceback.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

from coverage_collector.exceptions import DataError

_TYPES = (np.uint8, np.uint16, np.uint32, np.uint64)
_COUNTS_LEVEL = 1
"""Level 1: a quarter of level 6's time for a fifth more bytes (measured on cluster data)."""
_LEVEL = 6


RUN_COMPILE = "run 'coverage-collector cluster compile'"


class BlobError(DataError, ValueError):
    """A blob is missing or not one that this module wrote: the database is incomplete."""

    def __init__(self, defect: str) -> None:
        super().__init__(f"the database is incomplete ({defect}): {RUN_COMPILE}")
        self.defect = defect

    def __reduce__(self) -> tuple[type[BlobError], tuple[str]]:
        return type(self), (self.defect,)  # crosses process pools intact


def pack_counts(values: npt.NDArray[np.integer]) -> bytes:
    """Return `values` (non-negative integers) as a compressed blob."""
    largest = int(values.max()) if len(values) else 0
    code = next(i for i, t in enumerate(_TYPES) if largest <= np.iinfo(t).max)
    narrow = np.ascontiguousarray(values, dtype=_TYPES[code]).astype(
        np.dtype(_TYPES[code]).newbyteorder("<"), copy=False
    )
    return bytes([code]) + zlib.compress(narrow.tobytes(), _COUNTS_LEVEL)


def unpack_counts(blob: bytes | None) -> npt.NDArray[np.uint64]:
    """Return the array stored by `pack_counts`, widened to uint64."""
    if blob is None:
        raise BlobError("counters not merged yet")
    if not blob or blob[0] >= len(_TYPES):
        raise BlobError("unknown counter blob format")
    try:
        raw = zlib.decompress(blob[1:])
    except zlib.error as exc:
        raise BlobError(f"corrupt counter blob ({exc})") from None
    dtype = np.dtype(_TYPES[blob[0]]).newbyteorder("<")
    if len(raw) % dtype.itemsize:
        raise BlobError("truncated counter blob")
    return np.frombuffer(raw, dtype=dtype).astype(np.uint64)


def pack_bytes(data: bytes) -> bytes:
    """Compress opaque bytes (a covmeta file)."""
    return zlib.compress(data, _LEVEL)


def unpack_bytes(blob: bytes | None) -> bytes:
    """Inverse of `pack_bytes`."""
    if blob is None:
        raise BlobError("binary not stored")
    try:
        return zlib.decompress(blob)
    except zlib.error as exc:
        raise BlobError(f"corrupt blob ({exc})") from None
