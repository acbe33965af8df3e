"""Names from covmeta files (and file names) as text the database can store.

Go strings are bytes, and covdata decodes them losslessly, a byte that is not UTF-8
becoming a lone surrogate (`surrogateescape`). Such a string cannot be stored in SQLite,
printed or exported, so one `\\xff` byte in one file name used to end `cluster compile`.
Compile keeps the binary and writes each such byte as the four characters `\\xff`
(`backslashreplace`): most data is kept, the name stays readable and distinct, and a file
whose name is not UTF-8 cannot resolve to source anyway. Names that are valid text but
hostile (`../../etc/passwd`, absolute paths, escape sequences) are data: they are stored
unchanged, and the stages that read sources or print them refuse or escape them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from coverage_collector.covdata.meta import decode_meta
from coverage_collector.covdata.model import MetaFile


def storable(value: str) -> str:
    """`value` with every byte that was not UTF-8 written as `\\xNN` (valid text as is)."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no byte decoded to: escape the code point
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class SafeMeta:
    """A decoded covmeta file whose names are all storable text."""

    meta: MetaFile
    repaired: int
    """How many of its names were not valid UTF-8 (and now hold `\\xNN` escapes)."""


def safe_meta(meta: MetaFile) -> SafeMeta:
    """`meta` with its function names, file names and package paths made storable."""
    strings = [storable(s) for s in meta.strings]
    repaired = sum(a is not b for a, b in zip(strings, meta.strings, strict=True))
    packages = []
    for package in meta.packages:
        names = {"path": package.path, "name": package.name, "module": package.module}
        safe = {key: storable(value) for key, value in names.items()}
        changed = sum(safe[key] is not names[key] for key in names)
        repaired += changed
        packages.append(dataclasses.replace(package, **safe) if changed else package)
    if not repaired:
        return SafeMeta(meta, 0)
    return SafeMeta(dataclasses.replace(meta, strings=strings, packages=tuple(packages)), repaired)


def decode_safe_meta(data: bytes, path: str) -> SafeMeta:
    """Decode covmeta bytes (CovDataError naming `path` if corrupt) with storable names.

    The one way compile and every later stage (through `store.BinaryModels`) turn a
    covmeta file into a model, so that all of them see the same names.
    """
    return safe_meta(decode_meta(data, path))
