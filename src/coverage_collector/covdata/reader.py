"""Read meta groups as `cmd/internal/cov` does: meta file, mode policy, counter files in order."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from coverage_collector.covdata.accumulate import MetaGroupAccumulator, UnitCounters, Warn
from coverage_collector.covdata.counters import CounterFile, read_counters
from coverage_collector.covdata.counters import os_args as recorded_args
from coverage_collector.covdata.fastmerge import IrregularInputError, merge_files
from coverage_collector.covdata.meta import read_meta
from coverage_collector.covdata.metagroups import MetaGroup
from coverage_collector.covdata.model import CounterMode, Granularity, MetaFile, go_name
from coverage_collector.exceptions import CovDataError

PackageFilter = Callable[[str], bool]


class ModeMerger:
    """Track the counter mode and granularity across meta groups (internal/coverage/cmerge).

    Strict policy refuses a second mode; relaxed policy upgrades to the larger one.
    """

    def __init__(self, relaxed: bool) -> None:
        self.relaxed = relaxed
        self.mode: CounterMode | int = CounterMode.INVALID
        self.granularity: Granularity | int = Granularity.INVALID

    def visit(self, meta: MetaFile) -> None:
        """Take the mode and granularity of `meta`; raise CovDataError on a clash."""
        if self.mode == CounterMode.INVALID:
            self.mode, self.granularity = meta.mode, meta.granularity
            return
        if meta.granularity != self.granularity:
            raise CovDataError(
                f"counter granularity clash while reading meta-data file {meta.path}: "
                f"previous file had {go_name(self.granularity)}, "
                f"new file has {go_name(meta.granularity)}"
            )
        if meta.mode != self.mode:
            if not self.relaxed:
                raise CovDataError(
                    f"counter mode clash while reading meta-data file {meta.path}: "
                    f"previous file had {go_name(self.mode)}, new file has {go_name(meta.mode)}"
                )
            self.mode = max(self.mode, meta.mode)

    def reset(self) -> None:
        self.mode, self.granularity = CounterMode.INVALID, Granularity.INVALID


@dataclass
class ArgsSummary:
    """The program arguments common to all merged counter files (cmd/covdata argsmerge)."""

    os_args: list[str] | None = None
    goos: str = ""
    goarch: str = ""
    started: bool = False

    def add(self, args: dict[str, str]) -> None:
        """Fold in the args of one more counter file."""
        os_args = recorded_args(args) or []
        goos, goarch = args.get("GOOS", ""), args.get("GOARCH", "")
        if not self.started:
            self.os_args, self.goos, self.goarch, self.started = os_args, goos, goarch, True
            return
        if self.os_args != os_args:
            self.os_args = []
        if self.goos != goos:
            self.goos = ""
        if self.goarch != goarch:
            self.goarch = ""

    def as_args(self) -> dict[str, str]:
        args: dict[str, str] = {}
        if self.os_args:
            args["argc"] = str(len(self.os_args))
            args.update({f"argv{i}": a for i, a in enumerate(self.os_args)})
        if self.goos:
            args["GOOS"] = self.goos
        if self.goarch:
            args["GOARCH"] = self.goarch
        return args


@dataclass
class MetaGroupData:
    """A meta group after reading: its binary, its merged counters and its files' arguments."""

    group: MetaGroup
    meta: MetaFile
    counters: UnitCounters
    args: ArgsSummary = field(default_factory=ArgsSummary)
    file_args: list[dict[str, str]] = field(default_factory=list)
    """Each counter file's recorded arguments, in the group's order (for `debugdump`)."""


def iter_counter_files(group: MetaGroup) -> Iterator[CounterFile]:
    """Decode the counter files of `group` one by one, in order."""
    for ref in group.counter_files:
        yield read_counters(ref.path)


def read_meta_group(
    group: MetaGroup, merger: ModeMerger, warn: Warn, summary: ArgsSummary | None = None
) -> MetaGroupData:
    """Decode `group` and merge its counter files in the mode `merger` settles on.

    The regular case goes through `fastmerge`; irregular files through the exact,
    file-by-file path. The files' program arguments are folded into `summary`.
    """
    meta = read_meta(group.meta_path)
    merger.visit(meta)
    summary = ArgsSummary() if summary is None else summary
    paths = [ref.path for ref in group.counter_files]
    try:
        counters, all_args = merge_files(meta, paths, merger.mode, warn)
    except IrregularInputError:
        accumulator = MetaGroupAccumulator(meta, merger.mode, warn)
        all_args = []
        for counter_file in iter_counter_files(group):
            accumulator.add(counter_file)
            all_args.append(counter_file.args)
        counters = accumulator.result()
    for args in all_args:
        summary.add(args)
    return MetaGroupData(group, meta, counters, summary, all_args)


def package_filter(patterns: str) -> PackageFilter | None:
    """Return the `-pkg` matcher for comma-separated `patterns`, or None without patterns.

    Each pattern is cmd/internal/pkgpattern's simple pattern: `...` matches anything,
    a trailing `/...` also matches the bare prefix.
    """
    if not patterns:
        return None
    compiled = [_compile_pattern(p) for p in patterns.split(",") if p]
    return lambda path: any(regex.match(path) for regex in compiled if regex is not None)


def _compile_pattern(pattern: str) -> re.Pattern[str] | None:
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in pattern):
        return None  # a pattern that is not valid UTF-8 matches nothing, as in Go
    regex = re.escape(pattern)
    dots = re.escape("...")
    if regex.endswith("/" + dots):
        regex = regex[: -len(dots) - 1] + "(/" + dots + ")?"
    return re.compile(regex.replace(dots, ".*") + r"\Z")
