"""covdata's reports (`textfmt`, `percent`, `func`, `pkglist`) on the numpy-free path.

One binary whose unit keys are all different needs no unit table for `percent` and
`pkglist`: they come straight from the merged counters, at any size. Otherwise the units
are keyed in covdata's order, sorted and merged here (small input only), and printed
through the same `textreport` functions as the full path (`profile`).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, replace
from itertools import compress, groupby

from coverage_collector.countrules import merge_count
from coverage_collector.covdata.metaformat import UNIT_FIELDS
from coverage_collector.covdata.metagroups import MetaGroup
from coverage_collector.covdata.model import CounterMode, FunctionSpan, go_bytes
from coverage_collector.covdata.policy import ModeMerger, PackageFilter, package_filter
from coverage_collector.covdata.request import Outcome, Request
from coverage_collector.covdata.small import (
    SCALABLE_COMMANDS,
    U32_MAX,
    NotSmallError,
    Position,
    SmallMeta,
    is_selected,
    merge_counters,
    paths_of,
    read_small_meta,
    unit_positions,
)
from coverage_collector.covdata.textreport import (
    FuncLine,
    UnitColumns,
    func_report,
    mode_line,
    percent_report,
    pkglist_report,
    unit_lines,
)


@dataclass(frozen=True)
class _Unit:
    """One unit of the report, its sort key first (covdata's order, see `profile`)."""

    key: tuple[bytes, bytes, int, int, int, int, int, bytes, bool]
    package: str
    file: str
    function: str
    literal: bool
    position: Position
    count: int


def report(command: str, request: Request, groups: list[MetaGroup], small: bool) -> Outcome:
    """Read every meta group as `commands.build_profile` does, then print `command`.

    One binary whose unit keys are all different needs no unit table for `percent` and
    `pkglist`: they come straight from the merged counters, at any size. Otherwise the
    units are sorted and merged here only when the input is small."""
    matcher = package_filter(request.packages)
    merger = ModeMerger(relaxed=command != "textfmt")
    metas = []
    for group in groups:
        meta = read_small_meta(group.meta_path)
        merger.visit(meta)
        metas.append((meta, merge_counters(meta, paths_of(group), merger.mode).totals))
    report_mode = metas[0][0].mode
    packages = {p.path for meta, _ in metas for p in meta.packages if is_selected(matcher, p)}
    direct = len(metas) == 1 and metas[0][0].unique_units and command in SCALABLE_COMMANDS
    if not direct and not small:
        raise NotSmallError
    if command == "pkglist":
        return Outcome(pkglist_report(packages))
    if direct and not (command == "percent" and request.output):
        meta, counts = metas[0]
        return Outcome(percent_report(packages, _direct_totals(meta, counts, matcher)))
    units = [u for meta, counts in metas for u in _selected_units(meta, counts, matcher)]
    table = _merge_duplicates(sorted(units, key=lambda u: u.key), report_mode)
    if command == "textfmt" or (command == "percent" and request.output):
        _write_textfmt(request.output, report_mode, table)
    if command == "percent":
        return Outcome(percent_report(packages, _package_totals(table)))
    if command == "func":
        return Outcome(_func_table(table))
    return Outcome()


def _direct_totals(
    meta: SmallMeta, counts: array[int], matcher: PackageFilter | None
) -> dict[str, tuple[int, int]]:
    """Return covered and total statements per chosen package of one binary whose unit keys
    are all different (nothing to merge)."""
    totals = {}
    ends = [p.first_unit for p in meta.packages[1:]] + [meta.n_units]
    for package, end in zip(meta.packages, ends, strict=True):
        if is_selected(matcher, package):
            first = package.first_unit
            stmts = meta.units[UNIT_FIELDS * first + 4 : UNIT_FIELDS * end : UNIT_FIELDS]
            covered = sum(compress(stmts, counts[first:end]))
            totals[package.path] = (covered, sum(stmts))
    return totals


def _selected_units(
    meta: SmallMeta, counts: array[int], matcher: PackageFilter | None
) -> list[_Unit]:
    """Return the units of the packages `matcher` selects."""
    units = []
    for package in meta.packages:
        if is_selected(matcher, package):
            for function in package.functions:
                units.extend(_function_units(package.path, meta, function, counts))
    return units


def _function_units(
    package: str, meta: SmallMeta, function: FunctionSpan, counts: array[int]
) -> list[_Unit]:
    """Return the units of `function` of `package`, keyed in covdata's order."""
    raw = (go_bytes(package), go_bytes(function.file), go_bytes(function.name))
    first = function.first_unit
    units = []
    for position, count in zip(
        unit_positions(meta.units, function), counts[first : first + function.n_units], strict=True
    ):
        line, col, end_line, end_col, stmts = position
        key = (raw[0], raw[1], line, end_line, col, end_col, stmts, raw[2], function.literal)
        unit = _Unit(key, package, function.file, function.name, function.literal, position, count)
        units.append(unit)
    return units


def _merge_duplicates(units: list[_Unit], mode: CounterMode | int) -> list[_Unit]:
    """Merge units with the same key (the same unit in several binaries), as covdata does:
    in the report's mode, saturating at 2**32 - 1."""
    merged: list[_Unit] = []
    for unit in units:
        if merged and merged[-1].key == unit.key:
            count = min(merge_count(merged[-1].count, unit.count, mode), U32_MAX)
            merged[-1] = replace(merged[-1], count=count)
        else:
            merged.append(unit)
    return merged


def _write_textfmt(path: str, mode: CounterMode | int, table: list[_Unit]) -> None:
    columns = UnitColumns(
        [u.file for u in table],
        [u.position[0] for u in table],
        [u.position[1] for u in table],
        [u.position[2] for u in table],
        [u.position[3] for u in table],
        [u.position[4] for u in table],
        [u.count for u in table],
    )
    with open(path, "wb") as handle:
        handle.write(mode_line(mode))
        handle.write(unit_lines(columns))


def _package_totals(table: list[_Unit]) -> dict[str, tuple[int, int]]:
    """Return covered and total statements per import path."""
    totals: dict[str, tuple[int, int]] = {}
    for unit in table:
        covered, statements = totals.get(unit.package, (0, 0))
        stmts = unit.position[4]
        totals[unit.package] = (covered + (stmts if unit.count else 0), statements + stmts)
    return totals


def _func_table(table: list[_Unit]) -> bytes:
    """Return `func`'s table: runs of units of one package and function name, each shown
    at its first unit unless it is a function literal."""
    lines: list[FuncLine] = []
    covered_all = statements_all = 0
    for _, run in groupby(table, key=lambda unit: (unit.package, unit.function)):
        units = list(run)
        statements = sum(unit.position[4] for unit in units)
        covered = sum(unit.position[4] for unit in units if unit.count)
        first = units[0]
        if not first.literal:
            lines.append(
                FuncLine(first.file, first.position[0], first.function, covered, statements)
            )
        covered_all += covered
        statements_all += statements
    return func_report(lines, covered_all, statements_all)
