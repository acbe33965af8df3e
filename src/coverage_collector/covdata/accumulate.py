"""Merge counter files of one binary, file by file, with every rule of covdata.

Semantics are covdata's (go-coverage-format.md §4.1-4.2): set mode ORs, count and
atomic modes add and saturate at 2**32-1; records of unknown packages or
functions are skipped with a warning; a function whose records disagree in
length is an error. `fastmerge` handles the common, regular case many files at
a time and falls back to this module for anything unusual.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from coverage_collector.covdata.arrays import run_offsets
from coverage_collector.covdata.counters import RECORD_HEADER, CounterFile
from coverage_collector.covdata.model import BoolArray, CounterMode, IntArray, MetaFile, U32Array
from coverage_collector.covdata.policy import Warn
from coverage_collector.exceptions import CovDataError

U32_MAX = 0xFFFFFFFF


@dataclass
class UnitCounters:
    """Counters of one binary, aligned to its meta file's units."""

    counts: U32Array
    """One saturated counter per unit."""
    executed_funcs: BoolArray
    """Per function: whether any counter file had a record for it."""


def finish(
    meta: MetaFile, totals: np.ndarray, executed: BoolArray, mode: int, warn: Warn
) -> UnitCounters:
    """Turn 64-bit sums into covdata's merged counters (set: 0/1, else saturated)."""
    if mode == CounterMode.SET:
        return UnitCounters((totals != 0).astype(np.uint32), executed)
    if totals.size and int(totals.max()) > U32_MAX:
        warn("uint32 overflow during counter merge")
    return UnitCounters(np.minimum(totals, U32_MAX).astype(np.uint32), executed)


class MetaGroupAccumulator:
    """Fold counter files of one binary, in covdata's order, into `UnitCounters`."""

    def __init__(self, meta: MetaFile, mode: CounterMode | int, warn: Warn) -> None:
        self.meta = meta
        self.mode = mode
        self.warn = warn
        self.n_units_of = meta.units_per_func()
        self.pkg_first = np.array([p.first_func for p in meta.packages], dtype=np.int64)
        self.pkg_nfuncs = np.array([p.num_funcs for p in meta.packages], dtype=np.int64)
        self.totals = np.zeros(meta.n_units, dtype=np.uint64)
        self.executed = np.zeros(meta.n_funcs, dtype=bool)
        self.longest = np.zeros(meta.n_funcs, dtype=np.int64)  # covdata's len(dst) per function

    def add(self, counter_file: CounterFile) -> None:
        """Merge one counter file (files must be added in the meta group's order)."""
        layout = counter_file.layout
        records, funcs = self._targets(counter_file)
        counts = layout.counts[records]
        self._check_lengths(counter_file.path, funcs, counts)
        self.executed[funcs] = True
        usable = np.minimum(counts, self.n_units_of[funcs])
        owner, offset = run_offsets(usable)
        values = counter_file.values[layout.starts[records][owner] + RECORD_HEADER + offset]
        slots = self.meta.func_units[funcs][owner] + offset
        if self.mode == CounterMode.SET:
            self.totals[slots[values != 0]] = 1
        else:
            np.add.at(self.totals, slots, values.astype(np.uint64))

    def _targets(self, counter_file: CounterFile) -> tuple[IntArray, IntArray]:
        """Return the records of `counter_file` that address known functions, and those."""
        layout = counter_file.layout
        n_pkgs = len(self.pkg_first)
        known_pkg = layout.pkgs < n_pkgs
        nfuncs = np.append(self.pkg_nfuncs, 0)[np.minimum(layout.pkgs, n_pkgs)]  # 0: unknown
        usable = known_pkg & (layout.funcs < nfuncs)
        for record in np.flatnonzero(~usable).tolist():
            pkg, func = int(layout.pkgs[record]), int(layout.funcs[record])
            nf = int(nfuncs[record])
            if not (pkg < n_pkgs and func == nf):  # covdata keeps func == nf silently
                count = int(layout.counts[record])
                self.warn(
                    f"func payload inconsistency: id [p={pkg},f={func}] nf={nf} "
                    f"len(ctrs)={count} in VisitFuncCounterData, ignored"
                )
        records = np.flatnonzero(usable)
        return records, self.pkg_first[layout.pkgs[records]] + layout.funcs[records]

    def _check_lengths(self, path: str, funcs: IntArray, counts: IntArray) -> None:
        """Refuse a record shorter than an earlier one of the same function (covdata's rule)."""
        for func, count in zip(funcs.tolist(), counts.tolist(), strict=True):
            if count < self.longest[func]:  # covdata's words, grepped for in CI logs
                raise CovDataError(
                    f"merging counters: len(dst)={int(self.longest[func])} len(src)={count}"
                )
            self.longest[func] = count

    def result(self) -> UnitCounters:
        """Return the merged counters; raise CovDataError when a function lacks counters."""
        return finish(self.meta, self.sums(), self.executed, self.mode, self.warn)

    def sums(self) -> np.ndarray:
        """Return the exact 64-bit sums (0/1 in set mode); raise CovDataError when a
        function lacks counters."""
        short = np.flatnonzero((self.longest > 0) & (self.longest < self.n_units_of))
        if len(short):
            func = int(short[0])
            raise CovDataError(
                f"Couldn't merge counters of {self.meta.path}: {self._describe(func)} has "
                f"{int(self.longest[func])} counters for {int(self.n_units_of[func])} units"
            )
        return self.totals

    def _describe(self, func: int) -> str:
        meta = self.meta
        package = meta.packages[int(meta.func_pkg[func])]
        return f"function {meta.strings[int(meta.func_name[func])]} of package {package.path}"


def accumulate(
    meta: MetaFile, files: Iterable[CounterFile], mode: CounterMode | int, warn: Warn
) -> UnitCounters:
    """Return the merged counters of `files`, all belonging to the binary `meta`."""
    accumulator = MetaGroupAccumulator(meta, mode, warn)
    for counter_file in files:
        accumulator.add(counter_file)
    return accumulator.result()
