"""covdata's policies across meta groups: the counter mode (cmerge), the program
arguments of merged files (argsmerge) and `-pkg` patterns. Plain Python, shared by the
full reader and the numpy-free small-input path."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from coverage_collector.covdata.counterformat import os_args as recorded_args
from coverage_collector.covdata.model import CounterMode, Granularity, MetaFile, go_name
from coverage_collector.exceptions import CovDataError

PackageFilter = Callable[[str], bool]
Warn = Callable[[str], None]


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
