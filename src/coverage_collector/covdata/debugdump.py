"""`covdata debugdump`: Go's human-readable dump of meta-data and counter files.

Go's own checks read this dump to inspect merge/subtract/intersect outputs, so it is
printed exactly as `cmd/covdata/dump.go` prints it (Go 1.27): per binary its mode and
granularity, per counter file its GOOS/GOARCH and program arguments, per function of
each selected package its units in counter-slot order with their merged counts,
and the statement totals at the end. Each binary is merged in its own mode
(debugdump resets the mode after every binary, so it never reports a mode clash).
"""

from __future__ import annotations

from dataclasses import dataclass

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
from coverage_collector.covdata.trace import VISIT_COUNTER_FILE, Output, Trace, VisitReplay


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
    matcher = package_filter(packages)
    totals = StatementTotals()
    for group in groups:
        trace.pod(group)
        data = read_meta_group(group, ModeMerger(relaxed=False), warn)
        replay = trace.replay(data.meta)
        _write_pod_header(data, out, trace, replay)
        _dump_packages(data, matcher, live, out, totals, trace, replay)
    out.write(totals.line())


def _write_pod_header(
    data: MetaGroupData, out: Output, trace: Trace, replay: VisitReplay | None
) -> None:
    """Write the mode lines and one line per counter file, tracing each file just
    before its line and its records after it (the trace shares stdout with the dump)."""
    meta = data.meta
    mode, granularity = go_name(meta.mode), go_name(meta.granularity)
    out.write(go_bytes(f"Cover mode: {mode}\nCover granularity: {granularity}\n"))
    for ref, args in zip(data.group.counter_files, data.file_args, strict=True):
        trace.dbg(2, VISIT_COUNTER_FILE.format(path=ref.path, index=ref.dir_index))
        line = f"data file {ref.path}"
        if args.get("GOOS"):
            line += f" GOOS={args['GOOS']}"
        if args.get("GOARCH"):
            line += f" GOARCH={args['GOARCH']}"
        program_args = os_args(args)
        if program_args:
            line += f"  program args: [{' '.join(program_args)}]\n"
        out.write(go_bytes(line + "\n"))
        for record_line in replay.counter_lines(ref.path) if replay else []:
            trace.dbg(5, record_line)


def _dump_packages(
    data: MetaGroupData,
    matcher: PackageFilter | None,
    live: bool,
    out: Output,
    totals: StatementTotals,
    trace: Trace,
    replay: VisitReplay | None,
) -> None:
    """Dump the functions of the selected packages of one meta group, package by package."""
    meta = data.meta
    executed = data.counters.executed_funcs.tolist()
    counts = data.counters.counts.tolist()
    units = _Units.of(meta)
    stmts = units.stmts
    for pkg, package in enumerate(meta.packages):
        if matcher is not None and not matcher(package.path):
            continue
        preamble = True
        for func in range(package.first_func, package.first_func + package.num_funcs):
            if replay:
                trace.dbg(5, replay.meta_line(pkg, func - package.first_func))
            lo, hi = int(meta.func_units[func]), int(meta.func_units[func + 1])
            has_counters = executed[func]
            unit_counts = counts[lo:hi] if has_counters else [0] * (hi - lo)
            for stmt, count in zip(stmts[lo:hi], unit_counts, strict=True):
                totals.total += stmt
                totals.covered += stmt if count else 0
            if live and not has_counters:
                continue
            text = _function(meta, units, func, lo, unit_counts)
            if preamble:
                preamble = False
                text = (
                    f"\nPackage path: {package.path}\nPackage name: {package.name}\n"
                    f"Module path: {package.module}\n{text}"
                )
            out.write(go_bytes(text))


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
    literal = "true" if meta.func_lit[func] else "false"
    text = [f"\nFunc: {name}\nSrcfile: {source}\nLiteral: {literal}\n"]
    for slot, count in enumerate(counts):
        unit = first_unit + slot
        text.append(
            f"{slot}: L{units.start_line[unit]}:C{units.start_col[unit]} -- "
            f"L{units.end_line[unit]}:C{units.end_col[unit]} NS={units.stmts[unit]} = {count}\n"
        )
    return "".join(text)
