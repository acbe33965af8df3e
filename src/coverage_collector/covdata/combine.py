"""`covdata merge -pcombine`: different binaries combined by import path and function
identity (cmd/covdata/merge.go with `-pcombine`), in plain Python.

A package seen in several binaries becomes one package of the output; a function is the
same function when its name, file, literal flag and units are the same (the bytes cmd/cover
hashes), and its counters are then merged in the mode settled so far (OR in set mode, else
a sum saturating at 2**32 - 1). Both the full path (`commands.merge`, numpy reading) and
the small path (`small`, plain reading) hand each binary here as a `BinaryView`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coverage_collector.covdata.model import CounterMode, Granularity
from coverage_collector.covdata.policy import ArgsSummary, PackageFilter
from coverage_collector.covdata.trace import Trace
from coverage_collector.covdata.writer import (
    COUNTERS_FAILED,
    META_FAILED,
    FuncCounters,
    FuncDesc,
    OutputFile,
    PackageBuilder,
    encode_counter_file,
    encode_meta_file,
    merged_meta_hash,
)

U32_MAX = 0xFFFFFFFF
Unit = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class PackageView:
    path: str
    name: str
    module: str
    first_func: int
    num_funcs: int


@dataclass(frozen=True)
class BinaryView:
    """One binary, read and merged, as plain Python sequences (functions in file order)."""

    packages: list[PackageView]
    func_names: Sequence[str]
    func_files: Sequence[str]
    func_lits: Sequence[bool]
    func_units: Sequence[int]
    """Each function's first unit, and one past the last unit."""
    units: list[Unit]
    counts: Sequence[int]
    """The merged count of each unit (0 or 1 in set mode, at most 2**32 - 1)."""
    executed: Sequence[int]
    """Per function: whether a counter file had a record of it."""


class Combiner:
    """The packages and counters of the binaries combined so far."""

    def __init__(self, matcher: PackageFilter | None, trace: Trace) -> None:
        self.matcher = matcher
        self.trace = trace
        self.builders: dict[str, PackageBuilder] = {}
        self.counters: dict[str, dict[int, list[int]]] = {}
        self.args = ArgsSummary()

    def add(self, binary: BinaryView, mode: CounterMode | int) -> None:
        """Combine the selected packages of `binary`, merging counters in `mode`."""
        verbose = self.trace.level >= 3  # trace lines only when asked: a build can have 200k
        units, func_units = binary.units, binary.func_units
        for pkg_index, package in enumerate(binary.packages):
            if self.matcher is not None and not self.matcher(package.path):
                continue
            self.trace.dbg(3, f"VisitPackage(pk={pkg_index} path={package.path})")
            if package.path not in self.builders:
                self.trace.dbg(
                    2, f"install new pkm entry for package {package.path} pk={pkg_index}"
                )
            builder = self.builders.setdefault(
                package.path, PackageBuilder(package.path, package.name, package.module)
            )
            table = self.counters.setdefault(package.path, {})
            for f in range(package.first_func, package.first_func + package.num_funcs):
                lo, hi = func_units[f], func_units[f + 1]
                name = binary.func_names[f]
                desc = FuncDesc(name, binary.func_files[f], units[lo:hi], binary.func_lits[f])
                known = len(builder.funcs)
                index = builder.add(desc)
                if verbose:
                    self._trace_function(name, f - package.first_func, pkg_index, index, known)
                if binary.executed[f]:
                    if verbose:
                        self.trace.dbg(
                            3,
                            f"counter merge for {name} fidx={index}"
                            if index in table
                            else f"null merge for {name} fidx {index}",
                        )
                    table[index] = _merge_counts(table.get(index), binary.counts[lo:hi], mode)

    def _trace_function(self, name: str, func: int, pkg: int, index: int, known: int) -> None:
        """Trace merge's visit of function `func` of package `pkg`, which the combined
        package holds at `index` (a new entry when `index` is `known` or more)."""
        self.trace.dbg(3, f"visit pk={pkg} fid={func} func {name}")
        if index >= known:
            self.trace.dbg(3, f"new meta entry for fn {name} fid={index}")

    def files(self, mode: CounterMode | int, granularity: Granularity | int) -> list[OutputFile]:
        """Return the combined meta file and counter file, in the order covdata writes them."""
        blobs = [builder.encode() for builder in self.builders.values()]
        file_hash = merged_meta_hash(blobs)
        meta = encode_meta_file(file_hash, blobs, mode, granularity)
        records = [
            FuncCounters(pkg_index, index, counts)
            for pkg_index, table in enumerate(self.counters.values())
            for index, counts in sorted(table.items())
        ]
        self.trace.counter_writes(
            len(self.builders), ((r.pkg, r.func, len(r.counters)) for r in records)
        )
        counters = encode_counter_file(file_hash, self.args.as_args(), records)
        return [
            OutputFile(f"covmeta.{file_hash.hex()}", meta, META_FAILED),
            OutputFile("", counters, COUNTERS_FAILED, file_hash),
        ]


def _merge_counts(held: list[int] | None, new: Sequence[int], mode: CounterMode | int) -> list[int]:
    if held is None:
        return list(new)
    if mode == CounterMode.SET:
        return [1 if a or b else 0 for a, b in zip(held, new, strict=True)]
    return [min(a + b, U32_MAX) for a, b in zip(held, new, strict=True)]
