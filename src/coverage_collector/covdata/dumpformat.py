"""How `covdata debugdump` prints a binary (cmd/covdata/dump.go, Go 1.27), whatever read it.

Go's own checks read this dump to inspect merge/subtract/intersect outputs, so it is printed
exactly as Go prints it: per binary its mode and granularity, per counter file its
GOOS/GOARCH and program arguments, per function of each selected package its units in
counter-slot order with their merged counts, and the statement totals at the end. The full
path (`debugdump`, numpy) and the small path (`smalldump`, plain Python) both hand this
module a `DumpBinary`; it loads no numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from coverage_collector.covdata.counterformat import os_args
from coverage_collector.covdata.metagroups import MetaGroup
from coverage_collector.covdata.model import FunctionSpan, go_bytes, go_name
from coverage_collector.covdata.policy import PackageFilter
from coverage_collector.covdata.trace import (
    VISIT_COUNTER_FILE,
    Output,
    Trace,
    VisitReplay,
    go_bool,
)


def banner(argv0: str, args: list[str]) -> bytes:
    """Return the warning banner, naming the command line `argv0 debugdump args...`."""
    command = " ".join([argv0, "debugdump", *args])
    return go_bytes(
        "/* WARNING: the format of this dump is not stable and is\n"
        " * expected to change from one Go release to the next.\n"
        " *\n"
        " * produced by:\n"
        f" *\t{command}\n"
        " */\n"
    )


@dataclass(frozen=True)
class DumpPackage:
    path: str
    name: str
    module: str
    functions: list[FunctionSpan]


@dataclass(frozen=True)
class DumpUnits:
    """Every unit of a binary, column by column, as Python lists."""

    start_line: Sequence[int]
    start_col: Sequence[int]
    end_line: Sequence[int]
    end_col: Sequence[int]
    stmts: Sequence[int]


@dataclass(frozen=True)
class DumpBinary:
    """One meta group, read and merged: everything the dump prints of it."""

    group: MetaGroup
    mode: int
    granularity: int
    packages: list[DumpPackage]
    units: DumpUnits
    counts: Sequence[int]
    """The merged count of each unit."""
    executed: Sequence[int]
    """Per function (all packages, in order): whether a counter file had a record of it."""
    file_args: list[dict[str, str]]
    """Each counter file's recorded arguments, in the group's order."""


@dataclass
class StatementTotals:
    """Statements of every function dumped (or hidden by `-live`), and those covered."""

    total: int = 0
    covered: int = 0

    def line(self) -> bytes:
        return f"totalStmts: {self.total} coveredStmts: {self.covered}\n".encode()


@dataclass
class DumpPrinter:
    """One debugdump run: where it writes and traces, what it selects, what it counted.

    The trace shares stdout with the dump, so each trace line is printed where Go
    prints it: a counter file's just before its line, its records' after it, and a
    function's before the function."""

    out: Output
    trace: Trace
    live: bool
    matcher: PackageFilter | None
    totals: StatementTotals = field(default_factory=StatementTotals)

    def binary(self, binary: DumpBinary, replay: VisitReplay | None = None) -> None:
        """Dump one meta group: its modes, its counter files, its selected packages."""
        self._header(binary, replay)
        first_func = 0
        for pkg, package in enumerate(binary.packages):
            if self.matcher is None or self.matcher(package.path):
                self._package(binary, package, pkg, first_func, replay)
            first_func += len(package.functions)

    def finish(self) -> None:
        self.out.write(self.totals.line())

    def _header(self, binary: DumpBinary, replay: VisitReplay | None) -> None:
        mode, granularity = go_name(binary.mode), go_name(binary.granularity)
        self.out.write(go_bytes(f"Cover mode: {mode}\nCover granularity: {granularity}\n"))
        for ref, args in zip(binary.group.counter_files, binary.file_args, strict=True):
            self.trace.dbg(2, VISIT_COUNTER_FILE.format(path=ref.path, index=ref.dir_index))
            line = f"data file {ref.path}"
            if args.get("GOOS"):
                line += f" GOOS={args['GOOS']}"
            if args.get("GOARCH"):
                line += f" GOARCH={args['GOARCH']}"
            program_args = os_args(args)
            if program_args:
                line += f"  program args: [{' '.join(program_args)}]\n"
            self.out.write(go_bytes(line + "\n"))
            for record_line in replay.counter_lines(ref.path) if replay else []:
                self.trace.dbg(5, record_line)

    def _package(
        self,
        binary: DumpBinary,
        package: DumpPackage,
        pkg: int,
        first_func: int,
        replay: VisitReplay | None,
    ) -> None:
        """Dump the functions of package `pkg`, after its preamble (only when one is shown);
        every function's statements count, shown or not."""
        preamble = (
            f"\nPackage path: {package.path}\nPackage name: {package.name}\n"
            f"Module path: {package.module}\n"
        )
        stmts = binary.units.stmts
        for index, function in enumerate(package.functions):
            if replay:
                self.trace.dbg(5, replay.meta_line(pkg, index))
            lo, hi = function.first_unit, function.first_unit + function.n_units
            has_counters = bool(binary.executed[first_func + index])
            counts = list(binary.counts[lo:hi]) if has_counters else [0] * (hi - lo)
            for stmt, count in zip(stmts[lo:hi], counts, strict=True):
                self.totals.total += stmt
                self.totals.covered += stmt if count else 0
            if self.live and not has_counters:
                continue
            self.out.write(go_bytes(preamble + _function(binary.units, function, counts)))
            preamble = ""


def _function(units: DumpUnits, function: FunctionSpan, counts: list[int]) -> str:
    """Return the dump of `function`: its name, file, literal flag and units."""
    literal = go_bool(function.literal)
    text = [f"\nFunc: {function.name}\nSrcfile: {function.file}\nLiteral: {literal}\n"]
    for slot, count in enumerate(counts):
        unit = function.first_unit + slot
        text.append(
            f"{slot}: L{units.start_line[unit]}:C{units.start_col[unit]} -- "
            f"L{units.end_line[unit]}:C{units.end_col[unit]} NS={units.stmts[unit]} = {count}\n"
        )
    return "".join(text)
