"""`covdata debugdump`: Go's human-readable dump of meta-data and counter files.

Go's own checks read this dump to inspect merge/subtract/intersect outputs, so it is
printed exactly as `cmd/covdata/dump.go` prints it (Go 1.27): per binary its mode and
granularity, per counter file its GOOS/GOARCH and program arguments, per function of
each selected package its units in counter-slot order with their merged counts,
and the statement totals at the end. Each binary is merged in its own mode
(debugdump resets the mode after every binary, so it never reports a mode clash).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coverage_collector.covdata.accumulate import Warn
from coverage_collector.covdata.counters import os_args
from coverage_collector.covdata.metagroups import MetaGroup
from coverage_collector.covdata.model import MetaFile, go_bytes, go_name
from coverage_collector.covdata.reader import (
    MetaGroupData,
    ModeMerger,
    PackageFilter,
    package_filter,
    read_meta_group,
)
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


@dataclass
class StatementTotals:
    """Statements of every function dumped (or hidden by `-live`), and those covered."""

    total: int = 0
    covered: int = 0

    def line(self) -> bytes:
        return f"totalStmts: {self.total} coveredStmts: {self.covered}\n".encode()


def dump_groups(
    groups: list[MetaGroup],
    packages: str,
    live: bool,
    out: Output,
    trace: Trace,
    warn: Warn,
) -> None:
    """Dump every meta group of `groups` to `out`, then the statement totals.

    `packages` is the `-pkg` filter; `live` hides functions without counter records.
    Raises `CovDataError` for an input covdata cannot read.
    """
    dump = _Dump(out, trace, live, package_filter(packages))
    for group in groups:
        trace.pod(group)
        dump.meta_group(read_meta_group(group, ModeMerger(relaxed=False), warn))
    out.write(dump.totals.line())


@dataclass
class _Dump:
    """One debugdump run: where it writes and traces, what it selects, what it counted.

    The trace shares stdout with the dump, so each trace line is printed where Go
    prints it: a counter file's just before its line, its records' after it, and a
    function's before the function."""

    out: Output
    trace: Trace
    live: bool
    matcher: PackageFilter | None
    totals: StatementTotals = field(default_factory=StatementTotals)

    def meta_group(self, data: MetaGroupData) -> None:
        """Dump one meta group: its modes, its counter files, its selected packages."""
        replay = self.trace.replay(data.meta)
        self._header(data, replay)
        units = _Units.of(data.meta)
        for pkg, package in enumerate(data.meta.packages):
            if self.matcher is None or self.matcher(package.path):
                self._package(data, units, pkg, replay)

    def _header(self, data: MetaGroupData, replay: VisitReplay | None) -> None:
        meta = data.meta
        mode, granularity = go_name(meta.mode), go_name(meta.granularity)
        self.out.write(go_bytes(f"Cover mode: {mode}\nCover granularity: {granularity}\n"))
        for ref, args in zip(data.group.counter_files, data.file_args, strict=True):
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
        self, data: MetaGroupData, units: _Units, pkg: int, replay: VisitReplay | None
    ) -> None:
        """Dump the functions of package `pkg`, after its preamble (only when one is shown);
        every function's statements count, shown or not."""
        meta, package = data.meta, data.meta.packages[pkg]
        executed = data.counters.executed_funcs
        preamble = (
            f"\nPackage path: {package.path}\nPackage name: {package.name}\n"
            f"Module path: {package.module}\n"
        )
        for func in range(package.first_func, package.first_func + package.num_funcs):
            if replay:
                self.trace.dbg(5, replay.meta_line(pkg, func - package.first_func))
            lo, hi = int(meta.func_units[func]), int(meta.func_units[func + 1])
            has_counters = bool(executed[func])
            counts = data.counters.counts[lo:hi].tolist() if has_counters else [0] * (hi - lo)
            for stmt, count in zip(units.stmts[lo:hi], counts, strict=True):
                self.totals.total += stmt
                self.totals.covered += stmt if count else 0
            if self.live and not has_counters:
                continue
            self.out.write(go_bytes(preamble + _function(meta, units, func, lo, counts)))
            preamble = ""


@dataclass(frozen=True)
class _Units:
    """The unit columns of a meta file as Python lists (formatting numpy scalars is slow)."""

    start_line: list[int]
    start_col: list[int]
    end_line: list[int]
    end_col: list[int]
    stmts: list[int]

    @classmethod
    def of(cls, meta: MetaFile) -> _Units:
        return cls(
            meta.start_line.tolist(),
            meta.start_col.tolist(),
            meta.end_line.tolist(),
            meta.end_col.tolist(),
            meta.stmts.tolist(),
        )


def _function(meta: MetaFile, units: _Units, func: int, first_unit: int, counts: list[int]) -> str:
    """Return the dump of function `func`: its name, file, literal flag and units."""
    name = meta.strings[int(meta.func_name[func])]
    source = meta.strings[int(meta.func_file[func])]
    literal = go_bool(bool(meta.func_lit[func]))
    text = [f"\nFunc: {name}\nSrcfile: {source}\nLiteral: {literal}\n"]
    for slot, count in enumerate(counts):
        unit = first_unit + slot
        text.append(
            f"{slot}: L{units.start_line[unit]}:C{units.start_col[unit]} -- "
            f"L{units.end_line[unit]}:C{units.end_col[unit]} NS={units.stmts[unit]} = {count}\n"
        )
    return "".join(text)
