"""Typed, columnar views of decoded Go coverage files.

A binary is described once by its meta file: per function and per coverable unit,
numpy arrays in counter-slot order. Counters of any file or merge are then plain
arrays aligned to those units, so every statistic is a vector operation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    U32Array = npt.NDArray[np.uint32]
    BoolArray = npt.NDArray[np.bool_]
else:  # names for annotations only: this module loads without numpy (see `covdata.small`)
    IntArray = U32Array = BoolArray = "numpy.ndarray"

STRING_CODEC = ("utf-8", "surrogateescape")
"""Go strings are bytes; this keeps invalid UTF-8 round-trippable through `str`."""


def go_str(raw: bytes) -> str:
    """Return the `str` for Go string bytes `raw` (lossless)."""
    return raw.decode(*STRING_CODEC)


def go_bytes(text: str) -> bytes:
    """Return the Go string bytes of `text` (inverse of `go_str`)."""
    return text.encode(*STRING_CODEC)


class CounterMode(IntEnum):
    """How a binary counts: ordered so that a merge can upgrade to the larger mode."""

    INVALID = 0
    SET = 1
    COUNT = 2
    ATOMIC = 3
    REGONLY = 4
    TESTMAIN = 5

    def __str__(self) -> str:
        names = {1: "set", 2: "count", 3: "atomic", 4: "regonly", 5: "testmain"}
        return names.get(self.value, "<invalid>")


class Granularity(IntEnum):
    """Counter granularity: one counter per block, or one per function."""

    INVALID = 0
    PERBLOCK = 1
    PERFUNC = 2

    def __str__(self) -> str:
        return {1: "perblock", 2: "perfunc"}.get(self.value, "<invalid>")


def go_name(value: IntEnum | int) -> str:
    """Return how Go's `String()` prints a mode or granularity: `<invalid>` for a value
    it doesn't know (a crafted file), where `str()` of the raw int would give `9`."""
    return str(value) if isinstance(value, (CounterMode, Granularity)) else "<invalid>"


def enum_or_raw(enum: type[IntEnum], value: int) -> IntEnum | int:
    """Return `enum(value)` when defined, else `value` itself (for crafted files)."""
    try:
        return enum(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class FunctionSpan:
    """A function of a meta-data file as the plain-Python paths hold it: its units are
    `units[first_unit:][:n_units]` of its binary."""

    name: str
    file: str
    literal: bool
    first_unit: int
    n_units: int


@dataclass(frozen=True)
class PackageMeta:
    """One instrumented package of a binary, in meta-file (package index) order."""

    path: str
    """Import path, e.g. `example.com/lab/a`."""
    name: str
    """Package name, e.g. `a` or `main`."""
    module: str
    """Module path; empty for the standard library."""
    meta_hash: bytes
    """The 16-byte per-package hash computed by cmd/cover."""
    blob: bytes
    """The raw package blob, kept so that merges can copy it byte for byte."""
    first_func: int
    """Index of the package's first function in the binary-wide function arrays."""
    num_funcs: int


@dataclass(frozen=True)
class MetaFile:
    """A decoded `covmeta.<hash>` file: the binary's packages, functions and units.

    Function arrays have one entry per function (all packages, in package then
    function-index order); unit arrays one entry per coverable unit, in counter-slot
    order, so counter `k` of function `f` is unit `func_units[f] + k`.
    """

    path: str
    file_hash: bytes
    mode: CounterMode | int
    granularity: Granularity | int
    packages: tuple[PackageMeta, ...]
    strings: list[str]
    """Function names and source files, interned across packages."""
    func_pkg: IntArray
    func_name: IntArray
    func_file: IntArray
    func_lit: BoolArray
    func_units: IntArray
    """Start of each function's units; length is number of functions + 1."""
    start_line: U32Array
    start_col: U32Array
    end_line: U32Array
    end_col: U32Array
    stmts: U32Array
    unit_func: IntArray = field(repr=False)

    @property
    def n_units(self) -> int:
        return len(self.stmts)

    @property
    def n_funcs(self) -> int:
        return len(self.func_pkg)

    @property
    def hash_hex(self) -> str:
        return self.file_hash.hex()

    def units_per_func(self) -> IntArray:
        """Return the number of units of every function."""
        import numpy as np

        return np.diff(self.func_units)
