"""The hashes Go's coverage tooling puts in file names and headers (go-coverage-format.md §2.6).

Go 1.20-1.23 used MD5; Go 1.24 and later use 128-bit FNV-1a. covdata never checks
them, but merge writes them, and they tell which toolchain built a binary.
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from collections.abc import Callable, Iterable
from itertools import chain

from coverage_collector.covdata import speedups
from coverage_collector.covdata.model import MetaFile, go_bytes

FNV128_OFFSET = 0x6C62272E07BB014262B821756295C58D
FNV128_PRIME = (1 << 88) + 0x13B
_MASK128 = (1 << 128) - 1

HashFn = Callable[[bytes], bytes]


def fnv128a(data: bytes) -> bytes:
    """Return the 16-byte big-endian FNV-1a-128 digest of `data` (Go's hash/fnv.New128a);
    compiled where the kernels are built (`merge -pcombine` hashes megabytes)."""
    kernel = getattr(speedups.KERNELS, "fnv128a", None)
    if kernel is not None:
        return bytes(kernel(data))
    return fnv128a_python(data)


def fnv128a_python(data: bytes) -> bytes:
    """`fnv128a` in Python, one byte at a time."""
    value = FNV128_OFFSET
    for byte in data:
        value = ((value ^ byte) * FNV128_PRIME) & _MASK128
    return value.to_bytes(16, "big")


def md5(data: bytes) -> bytes:
    """Return the MD5 digest of `data` (the pre-Go 1.24 coverage hash)."""
    return hashlib.md5(data, usedforsecurity=False).digest()


HASH_ERAS: dict[str, HashFn] = {"md5": md5, "fnv": fnv128a}
"""Hash function by era: `md5` for Go <= 1.23, `fnv` for Go >= 1.24."""


def func_desc_bytes(name: str, file: str, units: Iterable[tuple[int, ...]], lit: bool) -> bytes:
    """Return the bytes cmd/cover hashes for one function (`hashFuncDesc`)."""
    fields = array("I", chain.from_iterable(units))  # no struct format per length
    if len(fields) % 5:
        raise ValueError("a unit has other than 5 fields")
    fields.append(1 if lit else 0)
    if sys.byteorder == "big":
        fields.byteswap()
    return b"".join([go_bytes(name), go_bytes(file), fields.tobytes()])


def package_hash(meta: MetaFile, pkg_index: int, era: str) -> bytes:
    """Recompute cmd/cover's MetaHash of package `pkg_index` from the decoded functions."""
    package = meta.packages[pkg_index]
    parts = [go_bytes(package.path), go_bytes(package.name), go_bytes(package.module)]
    for f in range(package.first_func, package.first_func + package.num_funcs):
        lo, hi = int(meta.func_units[f]), int(meta.func_units[f + 1])
        units = zip(
            *(
                col[lo:hi].tolist()
                for col in (
                    meta.start_line,
                    meta.start_col,
                    meta.end_line,
                    meta.end_col,
                    meta.stmts,
                )
            ),
            strict=True,
        )
        name, file = meta.strings[int(meta.func_name[f])], meta.strings[int(meta.func_file[f])]
        parts.append(func_desc_bytes(name, file, units, bool(meta.func_lit[f])))
    return HASH_ERAS[era](b"".join(parts))


def file_hash(package_hashes: Iterable[bytes], mode: str, granularity: str, era: str) -> bytes:
    """Return the runtime's meta-file hash over package hashes, mode and granularity."""
    data = b"".join(package_hashes) + mode.encode() + granularity.encode()
    return HASH_ERAS[era](data)


def detect_era(meta: MetaFile) -> str | None:
    """Tell which hash era wrote `meta` ("md5" or "fnv"), or None if neither matches.

    Checks the runtime's recipe over the package hashes, which needs no re-encoding.
    """
    hashes = [p.meta_hash for p in meta.packages]
    for era in HASH_ERAS:
        if file_hash(hashes, str(meta.mode), str(meta.granularity), era) == meta.file_hash:
            return era
    return None
