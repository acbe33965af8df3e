"""The `covdata` subcommands: textfmt, percent, func, pkglist, debugdump, merge, subtract,
intersect.

Each reads meta groups like `go tool covdata` and produces the same bytes, messages and
`-v` trace lines. The command line itself (flags, usage, `-i`/`-o` checks, creating the
textfmt output file) is checked first by `covdata.cli`, as Go's `Setup` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from coverage_collector.covdata import speedups
from coverage_collector.covdata.accumulate import U32_MAX, UnitCounters, Warn, accumulate
from coverage_collector.covdata.combine import BinaryView, Combiner, PackageView
from coverage_collector.covdata.counterformat import parse_header, regular_header
from coverage_collector.covdata.counters import CounterFile, decode_counters
from coverage_collector.covdata.debugdump import dump_groups
from coverage_collector.covdata.fastmerge import function_tables
from coverage_collector.covdata.goerrors import path_error
from coverage_collector.covdata.meta import read_meta
from coverage_collector.covdata.metagroups import MetaGroup, collect_meta_groups, read_input
from coverage_collector.covdata.model import CounterMode, MetaFile
from coverage_collector.covdata.profile import Profile
from coverage_collector.covdata.reader import (
    ArgsSummary,
    ModeMerger,
    PackageFilter,
    package_filter,
    read_meta_group,
)
from coverage_collector.covdata.request import Outcome, Request
from coverage_collector.covdata.textreport import pkglist_report
from coverage_collector.covdata.writer import (
    COPY_FAILED,
    COUNTERS_FAILED,
    META_FAILED,
    FuncCounters,
    counter_file_name,
    encode_counter_file,
    encode_meta_file,
    merged_meta_hash,
    write_output,
)
from coverage_collector.exceptions import CovDataError


def _scan(request: Request) -> list[MetaGroup]:
    """Return the meta groups of the inputs; counter files without a meta file are
    skipped silently, as covdata skips them."""
    groups = collect_meta_groups(request.inputs).groups
    if not groups:
        request.warn("no applicable files found in input directories")
    return groups


def _selection(meta: MetaFile, matcher: PackageFilter | None) -> list[bool]:
    return [matcher is None or matcher(p.path) for p in meta.packages]


def build_profile(request: Request, relaxed: bool) -> Profile | None:
    """Read every meta group into one formatter; return None when there are no meta groups."""
    matcher = package_filter(request.packages)
    merger = ModeMerger(relaxed)
    profile = None
    for group in _scan(request):
        request.trace.pod(group)
        data = read_meta_group(group, merger, request.warn)
        selected = _selection(data.meta, matcher)
        request.trace.dump_pod(group, data.meta, selected)
        if profile is None:
            profile = Profile(data.meta.mode)
        profile.add(data.meta, data.counters.counts, selected)
    return profile


def _write_output(path: str, profile: Profile) -> None:
    """Stream the text profile to `path` (created by the command line's checks); a failed
    write is Go's message."""
    try:
        with open(path, "wb") as handle:
            profile.write_textfmt(handle)
    except OSError as exc:
        raise CovDataError(f"writing to {path}: {path_error('write', path, exc)}") from None


def textfmt(request: Request) -> Outcome:
    """Write the text profile of the inputs to `request.output`."""
    outcome = Outcome()
    profile = build_profile(request, relaxed=False)
    if profile is not None:
        _write_output(request.output, profile)
    return outcome


def percent(request: Request) -> Outcome:
    """Report the percentage of statements covered per package (and `-o` text profile)."""
    outcome = Outcome()
    profile = build_profile(request, relaxed=True)
    if profile is not None:
        outcome.stdout = profile.percent()
        if request.output:
            _write_output(request.output, profile)
    return outcome


def func(request: Request) -> Outcome:
    """Report coverage per function."""
    outcome = Outcome()
    profile = build_profile(request, relaxed=True)
    if profile is not None:
        outcome.stdout = profile.funcs()
    return outcome


def pkglist(request: Request) -> Outcome:
    """List the import paths of all instrumented packages."""
    outcome = Outcome()
    profile = build_profile(request, relaxed=True)
    if profile is not None:
        outcome.stdout = pkglist_report(profile.packages)
    return outcome


def debugdump(request: Request) -> Outcome:
    """Stream Go's debugging dump of the inputs to `request.stdout`."""
    dump_groups(
        _scan(request), request.packages, request.live, request.stdout, request.trace, request.warn
    )
    return Outcome()


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
        write_output(request.output, os.path.basename(meta.path), original, COPY_FAILED)
        file_hash = meta.file_hash
    else:
        blobs = [meta.packages[i].blob for i in chosen]
        file_hash = merged_meta_hash(blobs)
        data = encode_meta_file(file_hash, blobs, mode, meta.granularity)
        write_output(request.output, f"covmeta.{file_hash.hex()}", data, META_FAILED)
    records = _meta_group_records(meta, counters, chosen)
    request.trace.counter_writes(len(chosen), ((r.pkg, r.func, len(r.counters)) for r in records))
    data = encode_counter_file(file_hash, args.as_args(), records)
    write_output(request.output, counter_file_name(file_hash), data, COUNTERS_FAILED)


def merge(request: Request) -> Outcome:
    """Merge the inputs into `request.output`, per binary or (`pcombine`) into one."""
    merger = ModeMerger(relaxed=True)
    matcher = package_filter(request.packages)
    combined = Combiner(matcher, request.trace)
    for group in _scan(request):
        request.trace.pod(group)
        request.trace.dbg(2, f"visitMetaDataFile(mdf={group.meta_path})")
        request.trace.merge_files(group, subtracting=False)
        data = read_meta_group(
            group, merger, request.warn, combined.args if request.pcombine else None
        )
        if request.pcombine:
            combined.add(_binary_view(data.meta, data.counters), merger.mode)
        else:
            selected = _selection(data.meta, matcher)
            executed = data.counters.executed_funcs
            request.trace.merge_functions(data.meta, selected, executed, visit_packages=True)
            _emit_meta_group(request, data.meta, data.counters, merger.mode, data.args)
            merger.reset()
    if request.pcombine:
        for file in combined.files(merger.mode, merger.granularity):
            write_output(request.output, file.file_name(), file.data, file.failure)
    return Outcome()


def _binary_view(meta: MetaFile, counters: UnitCounters) -> BinaryView:
    """Return one binary read on the full path as `combine` takes it."""
    names, files = meta.func_name.tolist(), meta.func_file.tolist()
    columns = (meta.start_line, meta.start_col, meta.end_line, meta.end_col, meta.stmts)
    return BinaryView(
        [PackageView(p.path, p.name, p.module, p.first_func, p.num_funcs) for p in meta.packages],
        [meta.strings[i] for i in names],
        [meta.strings[i] for i in files],
        [bool(lit) for lit in meta.func_lit.tolist()],
        meta.func_units.tolist(),
        list(zip(*(column.tolist() for column in columns), strict=True)),
        counters.counts.tolist(),
        counters.executed_funcs.tolist(),
    )


def subtract(request: Request) -> Outcome:
    """Zero, in the first input, every counter that is non-zero in the second."""
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
    dir_index = -1
    for group in _scan(request):
        request.trace.pod(group)
        request.trace.dbg(2, f"visitMetaDataFile(mdf={group.meta_path})")
        request.trace.merge_files(group, subtracting=True)
        state = _MetaGroupFilter(read_meta(group.meta_path), intersect)
        for ref in group.counter_files:
            if ref.dir_index != dir_index:
                state.enter_dir(ref.dir_index)
                dir_index = ref.dir_index
            state.add_file(ref.path, dir_index, request.warn)
        state.prune()
        selected = _selection(state.meta, package_filter(request.packages))
        request.trace.merge_functions(state.meta, selected, state.kept, visit_packages=False)
        no_args = ArgsSummary()  # covdata records no program arguments here
        _emit_meta_group(request, state.meta, state.result(), state.meta.mode, no_args)
    return Outcome()


class _MetaGroupFilter:
    """One binary's counters under subtract/intersect (cmd/covdata subtractintersect.go)."""

    def __init__(self, meta: MetaFile, intersect: bool) -> None:
        self.meta = meta
        self.intersect = intersect
        self.totals = np.zeros(meta.n_units, dtype=np.uint64)
        self.kept = np.zeros(meta.n_funcs, dtype=bool)
        self.seen_later: np.ndarray | None = np.zeros(meta.n_funcs, bool) if intersect else None
        self._tables: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._unused = np.zeros(meta.n_funcs, dtype=bool)
        """What `filter_records` marks when nothing reads it (subtract)."""

    def enter_dir(self, dir_index: int) -> None:
        """Start the files of input `dir_index`."""
        if dir_index == 0:
            self.seen_later = None
        elif self.intersect:
            self.prune()
            self.seen_later = np.zeros(self.meta.n_funcs, dtype=bool)

    def add_file(self, path: str, dir_index: int, warn: Warn) -> None:
        """Read counter file `path`: apply it with the compiled kernels when it is regular,
        else decode it and apply it by covdata's exact rules (`add`)."""
        data = read_input(path, "counter data file")
        header = parse_header(data, path)
        if speedups.KERNELS is not None and regular_header(data, header):
            if self._tables is None:
                self._tables = function_tables(self.meta)
            records = (data, header.records_start, header.n_entries, *self._tables, self.totals)
            seen = self._unused if self.seen_later is None else self.seen_later
            try:
                speedups.apply_filter_file(records, self.kept, seen, dir_index == 0, self.intersect)
                return
            except ValueError:
                pass  # irregular records: the exact path names them, as covdata does
        self.add(decode_counters(data, path), dir_index, warn)

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
        # the kernel sums the first input's files in set mode too: counted is 1
        limit = 1 if self.meta.mode == CounterMode.SET else U32_MAX
        return UnitCounters(np.minimum(self.totals, limit).astype(np.uint32), self.kept)


COMMANDS: dict[str, Callable[[Request], Outcome]] = {
    "textfmt": textfmt,
    "percent": percent,
    "func": func,
    "pkglist": pkglist,
    "debugdump": debugdump,
    "merge": merge,
    "subtract": subtract,
    "intersect": intersect,
}


def run(command: str, request: Request) -> Outcome:
    """Run covdata subcommand `command` (one of `COMMANDS`); raise CovDataError on failure."""
    try:
        return COMMANDS[command](request)
    except OSError as exc:
        name = exc.filename or ""
        raise CovDataError(f"Couldn't access {name}: {exc.strerror}") from None
