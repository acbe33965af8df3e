"""The `covdata` subcommands: textfmt, percent, func, pkglist, merge, subtract, intersect.

Each reads meta groups like `go tool covdata` and produces the same bytes. Problems that
covdata ignores silently (orphaned counter files) are reported as errors here,
after the output is complete, so nothing is dropped without a word.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from coverage_collector.covdata.accumulate import U32_MAX, UnitCounters, Warn, accumulate
from coverage_collector.covdata.counters import CounterFile
from coverage_collector.covdata.meta import read_meta
from coverage_collector.covdata.metagroups import MetaGroup, collect_meta_groups, read_input
from coverage_collector.covdata.model import CounterMode, MetaFile
from coverage_collector.covdata.profile import Profile
from coverage_collector.covdata.reader import (
    ArgsSummary,
    ModeMerger,
    PackageFilter,
    iter_counter_files,
    package_filter,
    read_meta_group,
)
from coverage_collector.covdata.writer import (
    FuncCounters,
    FuncDesc,
    PackageBuilder,
    counter_file_name,
    encode_counter_file,
    encode_meta_file,
    merged_meta_hash,
    write_new,
)
from coverage_collector.exceptions import CovDataError, UsageError


@dataclass
class Request:
    """What a covdata subcommand was asked to do."""

    inputs: list[str]
    output: str = ""
    packages: str = ""
    pcombine: bool = False
    warn: Warn = field(default=lambda message: None)


@dataclass
class Outcome:
    """What a subcommand produced: bytes for stdout and problems to report."""

    stdout: bytes = b""
    problems: list[str] = field(default_factory=list)


def _scan(request: Request, outcome: Outcome) -> list[MetaGroup]:
    scan = collect_meta_groups(request.inputs)
    for orphan in scan.orphans:
        outcome.problems.append(
            f"counter data file {orphan} has no matching covmeta file in the input "
            "directories; its counters were not counted"
        )
    if not scan.groups:
        request.warn("no applicable files found in input directories")
    return scan.groups


def _selection(meta: MetaFile, matcher: PackageFilter | None) -> list[bool]:
    return [matcher is None or matcher(p.path) for p in meta.packages]


def build_profile(request: Request, relaxed: bool, outcome: Outcome) -> Profile | None:
    """Read every meta group into one formatter; return None when there are no meta groups."""
    matcher = package_filter(request.packages)
    merger = ModeMerger(relaxed)
    profile = None
    for group in _scan(request, outcome):
        data = read_meta_group(group, merger, request.warn)
        if profile is None:
            profile = Profile(data.meta.mode)
        profile.add(data.meta, data.counters.counts, _selection(data.meta, matcher))
    return profile


def _truncate_output(path: str) -> None:
    """Create or empty `path` first, as covdata does, so a failed run leaves it empty."""
    try:
        with open(path, "wb"):
            pass
    except OSError as exc:
        raise UsageError(f"Couldn't open output file {path}: {exc.strerror}") from None


def _write_output(path: str, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def textfmt(request: Request) -> Outcome:
    """Write the text profile of the inputs to `request.output`."""
    if not request.output:
        raise UsageError("select output file name with '-o' option")
    _truncate_output(request.output)
    outcome = Outcome()
    profile = build_profile(request, relaxed=False, outcome=outcome)
    if profile is not None:
        with open(request.output, "wb") as handle:
            profile.write_textfmt(handle)
    return outcome


def percent(request: Request) -> Outcome:
    """Report the percentage of statements covered per package (and `-o` text profile)."""
    if request.output:
        _truncate_output(request.output)
    outcome = Outcome()
    profile = build_profile(request, relaxed=True, outcome=outcome)
    if profile is not None:
        outcome.stdout = profile.percent()
        if request.output:
            _write_output(request.output, profile.textfmt())
    return outcome


def func(request: Request) -> Outcome:
    """Report coverage per function."""
    outcome = Outcome()
    profile = build_profile(request, relaxed=True, outcome=outcome)
    if profile is not None:
        outcome.stdout = profile.funcs()
    return outcome


def pkglist(request: Request) -> Outcome:
    """List the import paths of all instrumented packages."""
    outcome = Outcome()
    profile = build_profile(request, relaxed=True, outcome=outcome)
    if profile is not None:
        lines = sorted(profile.packages, key=lambda p: p.encode("utf-8", "surrogateescape"))
        outcome.stdout = "".join(f"{p}\n" for p in lines).encode("utf-8", "surrogateescape")
    return outcome


def _prepare_output_dir(request: Request) -> None:
    if not request.output:
        raise UsageError("select output directory with '-o' option")
    try:
        os.makedirs(request.output, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"Couldn't create output directory {request.output}: {exc.strerror}"
        ) from None


def _meta_group_records(
    meta: MetaFile, counters: UnitCounters, chosen: list[int]
) -> list[FuncCounters]:
    """Return the counter records of the executed functions of packages `chosen`."""
    records = []
    for new_index, pkg_index in enumerate(chosen):
        package = meta.packages[pkg_index]
        first = package.first_func
        for func_index in np.flatnonzero(
            counters.executed_funcs[first : first + package.num_funcs]
        ):
            f = first + int(func_index)
            slots = counters.counts[meta.func_units[f] : meta.func_units[f + 1]]
            records.append(FuncCounters(new_index, int(func_index), slots))
    return records


def _emit_meta_group(
    request: Request, meta: MetaFile, counters: UnitCounters, mode: int, args: ArgsSummary
) -> None:
    """Write one meta group's meta and merged counter file (covdata's non-pcombine output)."""
    matcher = package_filter(request.packages)
    chosen = [i for i, keep in enumerate(_selection(meta, matcher)) if keep]
    if matcher is None:
        original = read_input(meta.path, "meta-data file")
        write_new(request.output, os.path.basename(meta.path), original)
        file_hash = meta.file_hash
    else:
        blobs = [meta.packages[i].blob for i in chosen]
        file_hash = merged_meta_hash(blobs)
        data = encode_meta_file(file_hash, blobs, mode, meta.granularity)
        write_new(request.output, f"covmeta.{file_hash.hex()}", data)
    records = _meta_group_records(meta, counters, chosen)
    data = encode_counter_file(file_hash, args.as_args(), records)
    write_new(request.output, counter_file_name(file_hash), data)


def merge(request: Request) -> Outcome:
    """Merge the inputs into `request.output`, per binary or (`pcombine`) into one."""
    _prepare_output_dir(request)
    outcome = Outcome()
    merger = ModeMerger(relaxed=True)
    combined = _Combiner(package_filter(request.packages))
    for group in _scan(request, outcome):
        data = read_meta_group(
            group, merger, request.warn, combined.args if request.pcombine else None
        )
        if request.pcombine:
            combined.add(data.meta, data.counters, merger.mode)
        else:
            _emit_meta_group(request, data.meta, data.counters, merger.mode, data.args)
            merger.reset()
    if request.pcombine:
        combined.emit(request.output, merger)
    return outcome


class _Combiner:
    """Combine different binaries by import path and function identity (`-pcombine`)."""

    def __init__(self, matcher: PackageFilter | None) -> None:
        self.matcher = matcher
        self.builders: dict[str, PackageBuilder] = {}
        self.counters: dict[str, dict[int, np.ndarray]] = {}
        self.args = ArgsSummary()

    def add(self, meta: MetaFile, counters: UnitCounters, mode: int) -> None:
        for pkg_index, keep in enumerate(_selection(meta, self.matcher)):
            if not keep:
                continue
            package = meta.packages[pkg_index]
            builder = self.builders.setdefault(
                package.path, PackageBuilder(package.path, package.name, package.module)
            )
            table = self.counters.setdefault(package.path, {})
            for f in range(package.first_func, package.first_func + package.num_funcs):
                lo, hi = int(meta.func_units[f]), int(meta.func_units[f + 1])
                units = np.stack(
                    [
                        meta.start_line[lo:hi],
                        meta.start_col[lo:hi],
                        meta.end_line[lo:hi],
                        meta.end_col[lo:hi],
                        meta.stmts[lo:hi],
                    ],
                    axis=1,
                ).tolist()
                desc = FuncDesc(
                    meta.strings[int(meta.func_name[f])],
                    meta.strings[int(meta.func_file[f])],
                    [tuple(u) for u in units],
                    bool(meta.func_lit[f]),
                )
                index = builder.add(desc)
                if counters.executed_funcs[f]:
                    table[index] = _merge_counts(table.get(index), counters.counts[lo:hi], mode)

    def emit(self, directory: str, merger: ModeMerger) -> None:
        blobs = [builder.encode() for builder in self.builders.values()]
        file_hash = merged_meta_hash(blobs)
        data = encode_meta_file(file_hash, blobs, merger.mode, merger.granularity)
        write_new(directory, f"covmeta.{file_hash.hex()}", data)
        records = [
            FuncCounters(pkg_index, index, counts)
            for pkg_index, table in enumerate(self.counters.values())
            for index, counts in sorted(table.items())
        ]
        counter_data = encode_counter_file(file_hash, self.args.as_args(), records)
        write_new(directory, counter_file_name(file_hash), counter_data)


def _merge_counts(held: np.ndarray | None, new: np.ndarray, mode: int) -> np.ndarray:
    if held is None:
        return new.copy()
    if mode == CounterMode.SET:
        return ((held != 0) | (new != 0)).astype(np.uint32)
    total = held.astype(np.uint64) + new
    return np.minimum(total, U32_MAX).astype(np.uint32)


def subtract(request: Request) -> Outcome:
    """Zero, in the first input, every counter that is non-zero in the second."""
    if len(request.inputs) != 2:
        raise UsageError("supply exactly two input dirs for subtract operation")
    return _subtract_or_intersect(request, intersect=False)


def intersect(request: Request) -> Outcome:
    """Keep only what every input executed."""
    return _subtract_or_intersect(request, intersect=True)


def _subtract_or_intersect(request: Request, intersect: bool) -> Outcome:
    """Apply covdata's subtract/intersect rules file by file.

    covdata tracks the input index across meta groups and panics when a later meta group starts
    at a lower index ("decreasing dir index"); here such a meta group simply starts over,
    which gives covdata's result wherever covdata does not panic.
    """
    _prepare_output_dir(request)
    outcome = Outcome()
    dir_index = -1
    for group in _scan(request, outcome):
        state = _MetaGroupFilter(read_meta(group.meta_path), intersect)
        for ref, counter_file in zip(group.counter_files, iter_counter_files(group), strict=True):
            if ref.dir_index != dir_index:
                state.enter_dir(ref.dir_index)
                dir_index = ref.dir_index
            state.add(counter_file, dir_index, request.warn)
        state.prune()
        no_args = ArgsSummary()  # covdata records no program arguments here
        _emit_meta_group(request, state.meta, state.result(), state.meta.mode, no_args)
    return outcome


class _MetaGroupFilter:
    """One binary's counters under subtract/intersect (cmd/covdata subtractintersect.go)."""

    def __init__(self, meta: MetaFile, intersect: bool) -> None:
        self.meta = meta
        self.intersect = intersect
        self.totals = np.zeros(meta.n_units, dtype=np.uint64)
        self.kept = np.zeros(meta.n_funcs, dtype=bool)
        self.seen_later: np.ndarray | None = np.zeros(meta.n_funcs, bool) if intersect else None

    def enter_dir(self, dir_index: int) -> None:
        """Start the files of input `dir_index`."""
        if dir_index == 0:
            self.seen_later = None
        elif self.intersect:
            self.prune()
            self.seen_later = np.zeros(self.meta.n_funcs, dtype=bool)

    def add(self, counter_file: CounterFile, dir_index: int, warn: Warn) -> None:
        """Merge a file of the first input, or filter by a file of a later one."""
        single = accumulate(self.meta, [counter_file], self.meta.mode, warn)
        if dir_index == 0:
            if self.meta.mode == CounterMode.SET:
                self.totals[single.counts != 0] = 1
            else:
                self.totals += single.counts
            self.kept |= single.executed_funcs
            return
        both = single.executed_funcs & self.kept
        in_both = both[self.meta.unit_func]
        if self.seen_later is not None:
            self.seen_later |= both
            self.totals[in_both & (single.counts == 0)] = 0
        elif not self.intersect:
            self.totals[in_both & (single.counts != 0)] = 0

    def prune(self) -> None:
        """Drop functions that a later input did not execute (intersect only)."""
        if self.seen_later is not None:
            self.kept[~self.seen_later] = False
            self.totals[~self.kept[self.meta.unit_func]] = 0
            self.seen_later = None

    def result(self) -> UnitCounters:
        return UnitCounters(np.minimum(self.totals, U32_MAX).astype(np.uint32), self.kept)


COMMANDS: dict[str, Callable[[Request], Outcome]] = {
    "textfmt": textfmt,
    "percent": percent,
    "func": func,
    "pkglist": pkglist,
    "merge": merge,
    "subtract": subtract,
    "intersect": intersect,
}


def run(command: str, request: Request) -> Outcome:
    """Run covdata subcommand `command`; raise CovDataError or UsageError on failure."""
    try:
        operation = COMMANDS[command]
    except KeyError:
        raise UsageError(f"unknown covdata command {command!r}") from None
    try:
        return operation(request)
    except OSError as exc:
        name = exc.filename or ""
        raise CovDataError(f"Couldn't access {name}: {exc.strerror}") from None
