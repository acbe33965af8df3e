"""covdata's reports on small inputs, in plain Python: no numpy to load.

Loading numpy takes about 60 ms, more than all the work on one cluster entry's files
(a meta file of a few kB, a counter file of a few hundred bytes). When a report
command's input files add up to at most `SMALL_INPUT_BYTES`, they are read here
record by record and printed through the same `textreport` functions as the full path.

Only clean input takes this path: anything it does not handle (a corrupt or unusual
file, a record of an unknown function, a sum past 2**32 - 1, `-v` tracing, a failed
write, no meta file at all) makes `run_small` return None before anything is printed or
written, and the caller runs the full path from the start, which applies every covdata
rule and message. Both paths are checked against `go tool covdata` on the same data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from itertools import groupby

from coverage_collector.countrules import merge_count
from coverage_collector.covdata import uleb
from coverage_collector.covdata.counterformat import FLAVOR_ULEB, parse_header
from coverage_collector.covdata.metaformat import (
    BLOB_HEADER_SIZE,
    UNIT_FIELDS,
    parse_blob_header,
    parse_meta,
)
from coverage_collector.covdata.metagroups import MetaGroup, collect_meta_groups, read_input
from coverage_collector.covdata.model import CounterMode, Granularity, enum_or_raw, go_bytes
from coverage_collector.covdata.policy import ArgsSummary, ModeMerger, PackageFilter, package_filter
from coverage_collector.covdata.request import Outcome, Request
from coverage_collector.covdata.textreport import (
    FuncLine,
    UnitColumns,
    func_report,
    mode_line,
    percent_report,
    pkglist_report,
    unit_lines,
)
from coverage_collector.covdata.writer import (
    COPY_FAILED,
    COUNTERS_FAILED,
    META_FAILED,
    FuncCounters,
    WriteFailure,
    counter_file_name,
    encode_counter_file,
    encode_meta_file,
    merged_meta_hash,
    write_output,
)
from coverage_collector.exceptions import CollectorError

SMALL_INPUT_BYTES = 256 << 10
"""Input (meta and counter files) up to this size is read here: plain Python reads it in
less time than importing numpy takes (measured in BENCHMARKS.md)."""
LIMIT_VARIABLE = "COVERAGE_COLLECTOR_COVDATA_SMALL_BYTES"
"""Overrides `SMALL_INPUT_BYTES`: 0 sends everything to the full path; the tests run both
paths against Go on every data set with it."""
SMALL_COMMANDS = frozenset({"textfmt", "percent", "func", "pkglist", "merge"})
U32_MAX = 0xFFFFFFFF
Position = tuple[int, int, int, int, int]
"""A unit: start line, start column, end line, end column, statements."""


class _NotSmallError(Exception):
    """The input is not clean, small input: the full path handles it."""


@dataclass(frozen=True)
class SmallFunction:
    """A function of a meta-data file and its units, in counter-slot order."""

    name: str
    file: str
    literal: bool
    units: list[Position]


@dataclass(frozen=True)
class SmallMeta:
    """A decoded meta-data file: what `ModeMerger` and the reports read."""

    path: str
    mode: CounterMode | int
    granularity: Granularity | int
    packages: list[tuple[str, list[SmallFunction]]]
    """Import path and functions of each package, in package-index order."""
    file_hash: bytes
    raw: bytes
    """The file's bytes (`merge` copies them)."""
    blobs: list[bytes]
    """Each package's raw blob (`merge -pkg` re-encodes a file from them)."""


@dataclass(frozen=True)
class _Output:
    """A file `merge` writes: named `name`, or a fresh counter-file name for `meta_hash`."""

    name: str
    data: bytes
    failure: WriteFailure
    meta_hash: bytes = b""


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


def run_small(command: str, request: Request) -> Outcome | None:
    """Run `command` on small, clean input; None when the full path must run it."""
    if command not in SMALL_COMMANDS or request.trace.level > 0 or request.pcombine:
        return None
    groups = collect_meta_groups(request.inputs).groups  # its errors are the full path's too
    try:
        if not groups or _input_bytes(groups) > small_input_bytes():
            return None
        if command != "merge":
            return _report(command, request, groups)
        outputs = _merge_outputs(request, groups)
    except (_NotSmallError, CollectorError, OSError, ValueError, IndexError, KeyError):
        return None
    for output in outputs:  # in the full path's order: a failure stops at the same file
        name = output.name or counter_file_name(output.meta_hash)
        write_output(request.output, name, output.data, output.failure)
    return Outcome()


def small_input_bytes() -> int:
    """Return the size limit of small input (`LIMIT_VARIABLE` or `SMALL_INPUT_BYTES`)."""
    text = os.environ.get(LIMIT_VARIABLE, "")
    return int(text) if text.isdigit() else SMALL_INPUT_BYTES


def _input_bytes(groups: list[MetaGroup]) -> int:
    paths = [g.meta_path for g in groups] + [r.path for g in groups for r in g.counter_files]
    return sum(os.stat(path).st_size for path in paths)


def _report(command: str, request: Request, groups: list[MetaGroup]) -> Outcome:
    """Read every meta group as `commands.build_profile` does, then print `command`."""
    matcher = package_filter(request.packages)
    merger = ModeMerger(relaxed=command != "textfmt")
    report_mode: CounterMode | int | None = None
    packages: set[str] = set()
    units: list[_Unit] = []
    for group in groups:
        meta = read_small_meta(group.meta_path)
        merger.visit(meta)
        counts = merge_counters(meta, _paths(group), merger.mode).counts
        if report_mode is None:
            report_mode = meta.mode
        units.extend(_selected_units(meta, counts, matcher, packages))
    assert report_mode is not None
    table = _merge_duplicates(sorted(units, key=lambda u: u.key), report_mode)
    if command == "textfmt" or (command == "percent" and request.output):
        _write_textfmt(request.output, report_mode, table)
    if command == "percent":
        return Outcome(percent_report(packages, _package_totals(table)))
    if command == "func":
        return Outcome(_func_table(table))
    if command == "pkglist":
        return Outcome(pkglist_report(packages))
    return Outcome()


def _paths(group: MetaGroup) -> list[str]:
    return [ref.path for ref in group.counter_files]


def _merge_outputs(request: Request, groups: list[MetaGroup]) -> list[_Output]:
    """Return the files `merge` writes (without `-pcombine`): per binary, its meta file
    (copied, or re-encoded with the packages `-pkg` selects) and one counter file."""
    matcher = package_filter(request.packages)
    outputs = []
    for group in groups:
        meta = read_small_meta(group.meta_path)
        counters = merge_counters(meta, _paths(group), meta.mode)
        chosen = [
            i for i, (path, _) in enumerate(meta.packages) if matcher is None or matcher(path)
        ]
        if matcher is None:
            file_hash = meta.file_hash
            outputs.append(_Output(os.path.basename(meta.path), meta.raw, COPY_FAILED))
        else:
            blobs = [meta.blobs[i] for i in chosen]
            file_hash = merged_meta_hash(blobs)
            data = encode_meta_file(file_hash, blobs, meta.mode, meta.granularity)
            outputs.append(_Output(f"covmeta.{file_hash.hex()}", data, META_FAILED))
        records = [
            FuncCounters(new_index, func, counters.counts[pkg][func])
            for new_index, pkg in enumerate(chosen)
            for func, ran in enumerate(counters.executed[pkg])
            if ran
        ]
        data = encode_counter_file(file_hash, counters.args.as_args(), records)
        outputs.append(_Output("", data, COUNTERS_FAILED, file_hash))
    return outputs


def read_small_meta(path: str) -> SmallMeta:
    """Decode meta-data file `path`; raise `_NotSmallError` for anything unusual."""
    raw = read_input(path, "meta-data file")
    layout = parse_meta(raw, path)
    return SmallMeta(
        path,
        enum_or_raw(CounterMode, layout.mode),
        enum_or_raw(Granularity, layout.granularity),
        [_read_package(blob) for blob in layout.blobs],
        layout.file_hash,
        raw,
        layout.blobs,
    )


def _read_package(blob: bytes) -> tuple[str, list[SmallFunction]]:
    """Decode one package blob whose function records follow its string table back to back."""
    header = parse_blob_header(blob)
    strings = header.strings
    pos = header.records_start
    functions = []
    for index in range(header.num_funcs):
        at = BLOB_HEADER_SIZE + 4 * index
        if int.from_bytes(blob[at : at + 4], "little") != pos:
            raise _NotSmallError
        n_units, pos = _read_u32(blob, pos)
        name, pos = _read_u32(blob, pos)
        file, pos = _read_u32(blob, pos)
        units = []
        for _ in range(n_units):
            fields = []
            for _ in range(UNIT_FIELDS):
                value, pos = _read_u32(blob, pos)
                fields.append(value)
            units.append((fields[0], fields[1], fields[2], fields[3], fields[4]))
        literal, pos = _read_u32(blob, pos)
        functions.append(SmallFunction(strings[name], strings[file], literal != 0, units))
    if pos > header.declared_len or pos > len(blob):
        raise _NotSmallError
    return header.path, functions


def _read_u32(data: bytes, pos: int) -> tuple[int, int]:
    value, pos = uleb.read(data, pos)
    if value > U32_MAX:
        raise _NotSmallError
    return value, pos


@dataclass(frozen=True)
class SmallCounters:
    """One binary's merged counter files."""

    counts: list[list[list[int]]]
    """Per package, per function (in index order): a counter per unit."""
    executed: list[list[bool]]
    """Per package, per function: whether any file had a record of it."""
    args: ArgsSummary


def merge_counters(meta: SmallMeta, paths: list[str], mode: CounterMode | int) -> SmallCounters:
    """Merge counter files `paths` of binary `meta`: OR-ed in set mode, else summed. Only
    what Go writes is taken (ULEB records of known functions with one counter per unit,
    sums within 32 bits); anything else raises `_NotSmallError`."""
    totals = [[[0] * len(f.units) for f in funcs] for _, funcs in meta.packages]
    executed = [[False] * len(funcs) for _, funcs in meta.packages]
    args = ArgsSummary()
    for path in paths:
        data = read_input(path, "counter data file")
        header = parse_header(data, path)
        if header.flavor != FLAVOR_ULEB:
            raise _NotSmallError
        args.add(header.args)
        pos = header.records_start
        for _ in range(header.n_entries):
            n_counters, pos = _read_u32(data, pos)
            pkg, pos = _read_u32(data, pos)
            func, pos = _read_u32(data, pos)
            if pkg >= len(meta.packages) or func >= len(meta.packages[pkg][1]):
                raise _NotSmallError  # covdata warns about it: the full path does
            held = totals[pkg][func]
            if n_counters != len(held) or not n_counters:
                raise _NotSmallError
            executed[pkg][func] = True
            for slot in range(n_counters):
                value, pos = _read_u32(data, pos)
                held[slot] = merge_count(held[slot], value, mode)
    if any(count > U32_MAX for package in totals for counts in package for count in counts):
        raise _NotSmallError  # covdata warns about the overflow: the full path does
    return SmallCounters(totals, executed, args)


def _selected_units(
    meta: SmallMeta,
    counts: list[list[list[int]]],
    matcher: PackageFilter | None,
    packages: set[str],
) -> list[_Unit]:
    """Return the units of the packages `matcher` selects; add their paths to `packages`."""
    units = []
    for (path, functions), package_counts in zip(meta.packages, counts, strict=True):
        if matcher is None or matcher(path):
            packages.add(path)
            for function, function_counts in zip(functions, package_counts, strict=True):
                units.extend(_function_units(path, function, function_counts))
    return units


def _function_units(package: str, function: SmallFunction, counts: list[int]) -> list[_Unit]:
    """Return the units of `function` of `package`, keyed in covdata's order."""
    raw = (go_bytes(package), go_bytes(function.file), go_bytes(function.name))
    units = []
    for position, count in zip(function.units, counts, strict=True):
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
