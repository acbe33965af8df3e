"""Merge the counter files of one binary into one counter per coverable unit.

Semantics are covdata's (go-coverage-format.md §4.1-4.2): set mode ORs, count and
atomic modes add and saturate at 2**32-1; records of unknown packages or
functions are skipped with a warning; a function whose records disagree in
length is an error. Files that share a record layout are summed as whole value
streams first, so the per-record work is done once per distinct layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from coverage_collector.covdata.counters import RECORD_HEADER, CounterFile, Layout
from coverage_collector.covdata.model import BoolArray, CounterMode, IntArray, MetaFile, U32Array
from coverage_collector.exceptions import CovDataError

U32_MAX = 0xFFFFFFFF
Warn = Callable[[str], None]


@dataclass
class UnitCounters:
    """Counters of one binary, aligned to its meta file's units."""

    counts: U32Array
    """One saturated counter per unit."""
    executed_funcs: BoolArray
    """Per function: whether any counter file had a record for it."""


@dataclass
class _Targets:
    """The records of one layout that address real functions of the binary."""

    records: IntArray
    funcs: IntArray


class PodAccumulator:
    """Fold counter files of one binary, in covdata's order, into `UnitCounters`."""

    def __init__(self, meta: MetaFile, mode: CounterMode | int, warn: Warn) -> None:
        self.meta = meta
        self.is_set = mode == CounterMode.SET
        self.warn = warn
        self.n_units_of = meta.units_per_func()
        self.pkg_first = np.array([p.first_func for p in meta.packages], dtype=np.int64)
        self.pkg_nfuncs = np.array([p.num_funcs for p in meta.packages], dtype=np.int64)
        self.sums: dict[int, tuple[Layout, np.ndarray]] = {}
        self.targets: dict[int, _Targets] = {}
        self.order: list[tuple[int, str]] = []  # (layout key, path) of every file added
        self.exact = True  # all records so far have exactly one counter per unit

    def add(self, counter_file: CounterFile) -> None:
        """Merge one counter file (files must be added in pod order)."""
        layout = counter_file.layout
        key = id(layout)
        targets = self.targets.get(key)
        if targets is None:
            targets = self._targets(counter_file)
            self.targets[key] = targets
            if np.any(layout.counts[targets.records] != self.n_units_of[targets.funcs]):
                self.exact = False
        elif targets.records.size != len(layout):
            self._warn_skipped(counter_file, targets)
        self.order.append((key, counter_file.path))
        end = _stream_end(layout)
        stream = counter_file.values[:end]
        held = self.sums.get(key)
        if held is None:
            acc = (stream != 0) if self.is_set else stream.astype(np.uint64)
            self.sums[key] = (layout, acc)
        elif self.is_set:
            held[1][...] |= stream != 0
        else:
            held[1][...] += stream

    def _targets(self, counter_file: CounterFile) -> _Targets:
        """Return the records of `counter_file` that address known functions."""
        layout = counter_file.layout
        n_pkgs = len(self.pkg_first)
        known_pkg = layout.pkgs < n_pkgs
        nfuncs = np.where(known_pkg, self.pkg_nfuncs[np.minimum(layout.pkgs, n_pkgs - 1)], 0)
        usable = known_pkg & (layout.funcs < nfuncs)
        records = np.flatnonzero(usable)
        funcs = self.pkg_first[layout.pkgs[records]] + layout.funcs[records]
        targets = _Targets(records, funcs)
        if records.size != len(layout):
            self._warn_skipped(counter_file, targets)
        return targets

    def _warn_skipped(self, counter_file: CounterFile, targets: _Targets) -> None:
        layout = counter_file.layout
        skipped = np.setdiff1d(np.arange(len(layout)), targets.records)
        n_pkgs = len(self.pkg_first)
        for record in skipped.tolist():
            pkg, func = int(layout.pkgs[record]), int(layout.funcs[record])
            nf = int(self.pkg_nfuncs[pkg]) if pkg < n_pkgs else 0
            if pkg < n_pkgs and func == nf:
                continue  # covdata silently keeps and never uses these
            self.warn(
                f"{counter_file.path}: counters for unknown function [p={pkg},f={func}] "
                f"(package has {nf} functions), ignored"
            )

    def result(self) -> UnitCounters:
        """Return the merged counters; raise CovDataError on inconsistent records."""
        if not self.exact:
            self._check_lengths()
        n_units = self.meta.n_units
        totals = np.zeros(n_units, dtype=np.uint64)
        executed = np.zeros(self.meta.n_funcs, dtype=bool)
        for key, (layout, acc) in self.sums.items():
            targets = self.targets[key]
            executed[targets.funcs] = True
            positions, slots = self._scatter_plan(layout, targets)
            values = acc[positions].astype(np.uint64)
            if self.is_set:
                totals[slots[values != 0]] = 1
            else:
                _add_at(totals, slots, values)
        if not self.is_set and totals.size and int(totals.max()) > U32_MAX:
            self.warn("uint32 overflow during counter merge")
        counts = np.minimum(totals, U32_MAX).astype(np.uint32)
        return UnitCounters(counts, executed)

    def _scatter_plan(self, layout: Layout, targets: _Targets) -> tuple[IntArray, IntArray]:
        """Return value-stream positions and unit slots of a layout's usable counters."""
        records, funcs = targets.records, targets.funcs
        per_record = np.minimum(layout.counts[records], self.n_units_of[funcs])
        owner = np.repeat(np.arange(len(records)), per_record)
        first = np.zeros(len(records), dtype=np.int64)
        np.cumsum(per_record[:-1], out=first[1:])
        offset = np.arange(int(per_record.sum())) - first[owner]
        positions = layout.starts[records][owner] + RECORD_HEADER + offset
        slots = self.meta.func_units[funcs][owner] + offset
        return positions, slots

    def _check_lengths(self) -> None:
        """Apply covdata's length rules to every record, in order (the slow, exact path)."""
        seen = np.zeros(self.meta.n_funcs, dtype=np.int64)
        for key, path in self.order:
            targets = self.targets[key]
            counts = self.sums[key][0].counts[targets.records]
            for func, count in zip(targets.funcs.tolist(), counts.tolist(), strict=True):
                if count < seen[func]:
                    raise CovDataError(
                        f"Couldn't merge {path}: {self._describe(func)} has "
                        f"{count} counters, earlier files had {int(seen[func])}"
                    )
                seen[func] = count
        short = np.flatnonzero((seen > 0) & (seen < self.n_units_of))
        if len(short):
            func = int(short[0])
            raise CovDataError(
                f"Couldn't merge counters of {self.meta.path}: {self._describe(func)} has "
                f"{int(seen[func])} counters for {int(self.n_units_of[func])} units"
            )

    def _describe(self, func: int) -> str:
        meta = self.meta
        package = meta.packages[int(meta.func_pkg[func])]
        return f"function {meta.strings[int(meta.func_name[func])]} of package {package.path}"


def _stream_end(layout: Layout) -> int:
    """Return the length of the value stream that holds the layout's records."""
    if not len(layout):
        return 0
    return int(layout.starts[-1] + RECORD_HEADER + layout.counts[-1])


def _add_at(totals: np.ndarray, slots: IntArray, values: np.ndarray) -> None:
    """Add `values` into `totals[slots]`, exactly, repeated slots included."""
    if values.size and int(values.max()) < 2**52 // max(len(values), 1):
        totals += np.bincount(slots, weights=values, minlength=len(totals)).astype(np.uint64)
    else:
        np.add.at(totals, slots, values)


def accumulate(
    meta: MetaFile, files: Iterable[CounterFile], mode: CounterMode | int, warn: Warn
) -> UnitCounters:
    """Return the merged counters of `files`, all belonging to the binary `meta`."""
    accumulator = PodAccumulator(meta, mode, warn)
    for counter_file in files:
        accumulator.add(counter_file)
    return accumulator.result()
