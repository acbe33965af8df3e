"""covdata without numpy: small input for every subcommand, any input with the kernels.

Loading numpy takes about 50 ms, more than all the work on one cluster entry's files (a
meta file of a few kB, a counter file of a few hundred bytes). When a command's input files
add up to at most `SMALL_INPUT_BYTES`, they are read here (meta files into flat arrays,
counter files record by record) and answered by `smallreport`, `smallfilter`, `smalldump`
or `combine`, in the same words and bytes as the full path. With the compiled kernels
(`speedups`), the commands that need no sorted unit table (`SCALABLE_COMMANDS`) come here
at any size.

Only clean input takes this path: anything it does not handle (a corrupt or unusual
file, a record of an unknown function, a sum past 2**32 - 1, `-v` tracing, a failed
write, no meta file at all) makes `run_small` return None before anything is printed or
written, and the caller runs the full path from the start, which applies every covdata
rule and message. Both paths are checked against `go tool covdata` on the same data.
"""

from __future__ import annotations

import os
from array import array
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, TypeAlias

from coverage_collector.countrules import merge_count
from coverage_collector.covdata import speedups, uleb
from coverage_collector.covdata.counterformat import parse_header, regular_header
from coverage_collector.covdata.metaformat import (
    BLOB_HEADER_SIZE,
    UNIT_FIELDS,
    BlobHeader,
    parse_blob_header,
    parse_meta,
)
from coverage_collector.covdata.metagroups import MetaGroup, collect_meta_groups, read_input
from coverage_collector.covdata.model import (
    CounterMode,
    FunctionSpan,
    Granularity,
    enum_or_raw,
)
from coverage_collector.covdata.policy import ArgsSummary, ModeMerger, PackageFilter, package_filter
from coverage_collector.covdata.request import Outcome, Request
from coverage_collector.covdata.writer import (
    COPY_FAILED,
    COUNTERS_FAILED,
    META_FAILED,
    FuncCounters,
    OutputFile,
    encode_counter_file,
    encode_meta_file,
    merged_meta_hash,
    write_output,
)
from coverage_collector.exceptions import CollectorError

if TYPE_CHECKING:
    from coverage_collector.covdata.dumpformat import DumpBinary

SMALL_INPUT_BYTES = 256 << 10
"""Input (meta and counter files) up to this size is read here: plain Python reads it in
less time than importing numpy takes (measured in BENCHMARKS.md)."""
LIMIT_VARIABLE = "COVERAGE_COLLECTOR_COVDATA_SMALL_BYTES"
"""Overrides `SMALL_INPUT_BYTES`: 0 sends everything to the full path; the tests run both
paths against Go on every data set with it."""
FILTER_COMMANDS = frozenset({"subtract", "intersect"})
"""Taken here only with the compiled kernels (`smallfilter`)."""
SMALL_COMMANDS = frozenset(
    {"textfmt", "percent", "func", "pkglist", "merge", "debugdump", *FILTER_COMMANDS}
)
SCALABLE_COMMANDS = frozenset({"percent", "pkglist", "merge", *FILTER_COMMANDS})
"""Commands that, with the compiled kernels, take this path at any size: they need no
sorted unit table (`textfmt` and `func` do; numpy sorts it faster)."""
U32_MAX = 0xFFFFFFFF
Position = tuple[int, int, int, int, int]
"""A unit: start line, start column, end line, end column, statements."""


class NotSmallError(Exception):
    """The input is not clean, small input: the full path handles it."""


Record = tuple[int, int, int, bool]
"""A function record: its number of units, name and file (string indexes), literal flag."""
FunctionTables: TypeAlias = "tuple[array[int], array[int], array[int]]"
"""Where each function's counters go: each package's first function and number of
functions, each function's first unit (and one past the last unit)."""


@dataclass(frozen=True)
class SmallPackage:
    """A package of a meta-data file and its functions, in index order."""

    path: str
    name: str
    module: str
    functions: list[FunctionSpan]
    first_func: int
    """Index of its first function among all functions of the file."""
    first_unit: int


@dataclass(frozen=True)
class SmallMeta:
    """A decoded meta-data file: what `ModeMerger` and the reports read."""

    path: str
    mode: CounterMode | int
    granularity: Granularity | int
    packages: list[SmallPackage]
    """In package-index order."""
    file_hash: bytes
    blobs: list[bytes]
    """Each package's raw blob (`merge -pkg` re-encodes a file from them)."""
    units: array[int]
    """Every unit (line, column, end line, end column, statements), function by function."""
    repeats_in_functions: bool
    """Whether a function may list a unit twice (True when unknown: no kernels)."""

    @cached_property
    def unique_units(self) -> bool:
        """Whether each unit key is known to appear once (then reports need no unit table)."""
        return not self.repeats_in_functions and _unit_keys_unique(self.packages, self.units)

    @property
    def n_units(self) -> int:
        return len(self.units) // UNIT_FIELDS

    @property
    def n_funcs(self) -> int:
        return sum(len(package.functions) for package in self.packages)

    def function_tables(self) -> FunctionTables:
        """Return the tables `merge_records` places counters with."""
        functions = [f for package in self.packages for f in package.functions]
        func_units = array("q", [f.first_unit for f in functions])
        func_units.append(self.n_units)
        return (
            array("q", [package.first_func for package in self.packages]),
            array("q", [len(package.functions) for package in self.packages]),
            func_units,
        )


def run_small(command: str, request: Request) -> Outcome | None:
    """Run `command` on small or (with the compiled kernels) regular input; None when the
    full path must run it."""
    if command not in SMALL_COMMANDS or request.trace.level > 0:
        return None
    groups = collect_meta_groups(request.inputs).groups  # its errors are the full path's too
    binaries: list[DumpBinary] = []  # debugdump's, printed only once all are read
    try:
        if not groups:
            return None
        small = _input_bytes(groups) <= small_input_bytes()
        if not small and not (_scales() and command in SCALABLE_COMMANDS):
            return None
        outputs = []
        if command == "debugdump":
            from coverage_collector.covdata.smalldump import dump_binaries

            binaries = dump_binaries(groups)
        elif command in FILTER_COMMANDS:
            from coverage_collector.covdata.smallfilter import filter_outputs

            outputs = filter_outputs(request, groups, intersect=command == "intersect")
        elif command == "merge" and request.pcombine:
            outputs = _combined_outputs(request, groups)
        elif command == "merge":
            outputs = _merge_outputs(request, groups)
        else:
            from coverage_collector.covdata.smallreport import report

            return report(command, request, groups, small)
    except (NotSmallError, CollectorError, OSError, ValueError, IndexError, KeyError):
        return None
    if command == "debugdump":
        from coverage_collector.covdata.smalldump import print_dump

        return print_dump(request, binaries)
    for output in outputs:  # in the full path's order: a failure stops at the same file
        data = read_input(output.copy_of, "meta-data file") if output.copy_of else output.data
        write_output(request.output, output.file_name(), data, output.failure)
    return Outcome()


def small_input_bytes() -> int:
    """Return the size limit of small input (`LIMIT_VARIABLE` or `SMALL_INPUT_BYTES`)."""
    text = os.environ.get(LIMIT_VARIABLE, "")
    return int(text) if text.isdigit() else SMALL_INPUT_BYTES


def _scales() -> bool:
    """Whether input of any size may come here: the kernels are built and no limit is set."""
    return speedups.KERNELS is not None and not os.environ.get(LIMIT_VARIABLE, "").isdigit()


def _input_bytes(groups: list[MetaGroup]) -> int:
    paths = [g.meta_path for g in groups] + [r.path for g in groups for r in g.counter_files]
    return sum(os.stat(path).st_size for path in paths)


def is_selected(matcher: PackageFilter | None, package: SmallPackage) -> bool:
    return matcher is None or matcher(package.path)


def paths_of(group: MetaGroup) -> list[str]:
    return [ref.path for ref in group.counter_files]


def _merge_outputs(request: Request, groups: list[MetaGroup]) -> list[OutputFile]:
    """Return the files `merge` writes (without `-pcombine`): per binary, its meta file
    and one counter file."""
    matcher = package_filter(request.packages)
    outputs = []
    for group in groups:
        meta = read_small_meta(group.meta_path)
        counters = merge_counters(meta, paths_of(group), meta.mode)
        args = counters.args.as_args()
        outputs.extend(binary_outputs(meta, matcher, counters.totals, counters.executed, args))
    return outputs


def _combined_outputs(request: Request, groups: list[MetaGroup]) -> list[OutputFile]:
    """Return the two files `merge -pcombine` writes (see `combine`)."""
    from coverage_collector.covdata.combine import BinaryView, Combiner, PackageView

    merger = ModeMerger(relaxed=True)
    combiner = Combiner(package_filter(request.packages), request.trace)
    for group in groups:
        meta = read_small_meta(group.meta_path)
        merger.visit(meta)
        counters = merge_counters(meta, paths_of(group), merger.mode)
        for args in counters.file_args:
            combiner.args.add(args)
        functions = [f for package in meta.packages for f in package.functions]
        func_units = [f.first_unit for f in functions] + [meta.n_units]
        columns = (meta.units[field::UNIT_FIELDS] for field in range(UNIT_FIELDS))
        view = BinaryView(
            [
                PackageView(p.path, p.name, p.module, p.first_func, len(p.functions))
                for p in meta.packages
            ],
            [f.name for f in functions],
            [f.file for f in functions],
            [f.literal for f in functions],
            func_units,
            list(zip(*columns, strict=True)),
            counters.totals,
            counters.executed,
        )
        combiner.add(view, merger.mode)
    return combiner.files(merger.mode, merger.granularity)


def binary_outputs(
    meta: SmallMeta,
    matcher: PackageFilter | None,
    totals: array[int],
    executed: bytearray,
    args: dict[str, str],
) -> list[OutputFile]:
    """Return one binary's output files: its meta file (copied, or re-encoded with the
    packages `matcher` selects) and a counter file of the functions marked in `executed`."""
    chosen = [i for i, package in enumerate(meta.packages) if is_selected(matcher, package)]
    if matcher is None:
        file_hash = meta.file_hash
        name = os.path.basename(meta.path)
        meta_file = OutputFile(name, b"", COPY_FAILED, copy_of=meta.path)
    else:
        blobs = [meta.blobs[i] for i in chosen]
        file_hash = merged_meta_hash(blobs)
        data = encode_meta_file(file_hash, blobs, meta.mode, meta.granularity)
        meta_file = OutputFile(f"covmeta.{file_hash.hex()}", data, META_FAILED)
    records = [
        FuncCounters(new_index, index, totals[f.first_unit : f.first_unit + f.n_units])
        for new_index, pkg in enumerate(chosen)
        for index, f in enumerate(meta.packages[pkg].functions)
        if executed[meta.packages[pkg].first_func + index]
    ]
    data = encode_counter_file(file_hash, args, records)
    return [meta_file, OutputFile("", data, COUNTERS_FAILED, file_hash)]


def read_small_meta(path: str) -> SmallMeta:
    """Decode meta-data file `path`; raise `NotSmallError` for anything unusual."""
    raw = read_input(path, "meta-data file")
    layout = parse_meta(raw, path)
    units = array("I")
    packages = []
    first_func = 0
    repeats = speedups.KERNELS is None
    for blob in layout.blobs:
        header = parse_blob_header(blob)
        records, package_units, duplicates = _decode_functions(blob, header)
        repeats = repeats or duplicates
        first_unit = len(units) // UNIT_FIELDS
        functions = []
        unit = first_unit
        strings = header.strings
        for n_units, name, file, literal in records:
            functions.append(FunctionSpan(strings[name], strings[file], literal, unit, n_units))
            unit += n_units
        units.frombytes(package_units)
        packages.append(
            SmallPackage(header.path, header.name, header.module, functions, first_func, first_unit)
        )
        first_func += len(functions)
    return SmallMeta(
        path,
        enum_or_raw(CounterMode, layout.mode),
        enum_or_raw(Granularity, layout.granularity),
        packages,
        layout.file_hash,
        layout.blobs,
        units,
        repeats,
    )


def _decode_functions(blob: bytes, header: BlobHeader) -> tuple[list[Record], bytes, bool]:
    """Return a package's function records, its units (5 uint32 each) and whether a function
    lists a unit twice (compiled: `_speedups.decode_functions`; in Python only small input
    comes here, and the duplicate check is left to the unit table)."""
    if speedups.KERNELS is not None:
        try:
            return speedups.KERNELS.decode_functions(
                blob, header.records_start, header.num_funcs, header.declared_len
            )
        except ValueError:
            raise NotSmallError from None
    pos = header.records_start
    records: list[Record] = []
    units = array("I")
    for index in range(header.num_funcs):
        at = BLOB_HEADER_SIZE + 4 * index
        if int.from_bytes(blob[at : at + 4], "little") != pos:
            raise NotSmallError
        n_units, pos = _read_u32(blob, pos)
        name, pos = _read_u32(blob, pos)
        file, pos = _read_u32(blob, pos)
        for _ in range(UNIT_FIELDS * n_units):
            value, pos = _read_u32(blob, pos)
            units.append(value)
        literal, pos = _read_u32(blob, pos)
        records.append((n_units, name, file, literal != 0))
    if pos > header.declared_len or pos > len(blob):
        raise NotSmallError
    return records, units.tobytes(), True


def _unit_keys_unique(packages: list[SmallPackage], units: array[int]) -> bool:
    """Whether no unit key (import path, file, function, literal flag, position) appears
    twice in one binary, so that reports can skip the unit table. Functions of one package
    with the same file, name and flag (several `init`s of a file) are checked unit by unit."""
    if len({package.path for package in packages}) != len(packages):
        return False
    for package in packages:
        by_key: dict[tuple[str, str, bool], list[FunctionSpan]] = {}
        for function in package.functions:
            by_key.setdefault((function.file, function.name, function.literal), []).append(function)
        for same in by_key.values():
            if len(same) > 1:
                positions = [p for function in same for p in unit_positions(units, function)]
                if len(set(positions)) != len(positions):
                    return False
    return True


def unit_positions(units: array[int], function: FunctionSpan) -> list[Position]:
    """Return the units of `function` as (line, column, end line, end column, statements)."""
    base = UNIT_FIELDS * function.first_unit
    flat = units[base : base + UNIT_FIELDS * function.n_units]
    return list(zip(flat[0::5], flat[1::5], flat[2::5], flat[3::5], flat[4::5], strict=True))


def _read_u32(data: bytes, pos: int) -> tuple[int, int]:
    value, pos = uleb.read(data, pos)
    if value > U32_MAX:
        raise NotSmallError
    return value, pos


@dataclass(frozen=True)
class SmallCounters:
    """One binary's merged counter files."""

    totals: array[int]
    """Per unit of the meta file (in its order): the merged count."""
    executed: bytearray
    """Per function of the meta file: whether any file had a record of it."""
    args: ArgsSummary
    file_args: list[dict[str, str]]
    """Each file's recorded arguments, in order (`debugdump` prints them)."""


def merge_counters(meta: SmallMeta, paths: list[str], mode: CounterMode | int) -> SmallCounters:
    """Merge counter files `paths` of binary `meta`: OR-ed in set mode, else summed. Only
    what Go writes is taken (ULEB records of known functions with one counter per unit,
    sums within 32 bits); anything else raises `NotSmallError`."""
    totals = array("Q", bytes(8 * meta.n_units))
    executed = bytearray(meta.n_funcs)
    tables = meta.function_tables()
    args = ArgsSummary()
    file_args = []
    for path in paths:
        data = read_input(path, "counter data file")
        header = parse_header(data, path)
        if not regular_header(data, header):
            raise NotSmallError
        args.add(header.args)
        file_args.append(header.args)
        if speedups.KERNELS is not None:
            try:
                speedups.KERNELS.merge_records(
                    data, header.records_start, header.n_entries, *tables, totals, executed
                )
            except ValueError:
                raise NotSmallError from None
        else:
            _merge_records(data, header.records_start, header.n_entries, tables, totals, executed)
    if mode == CounterMode.SET:
        totals = array("Q", map(bool, totals))
    if totals and max(totals) > U32_MAX:
        raise NotSmallError  # covdata warns about the overflow: the full path does
    return SmallCounters(totals, executed, args, file_args)


def _merge_records(
    data: bytes,
    pos: int,
    n_entries: int,
    tables: FunctionTables,
    totals: array[int],
    executed: bytearray,
) -> None:
    """`_speedups.merge_records` in Python (small input only): sum one file's records."""
    pkg_first, pkg_funcs, func_units = tables
    for _ in range(n_entries):
        n_counters, pos = _read_u32(data, pos)
        pkg, pos = _read_u32(data, pos)
        func, pos = _read_u32(data, pos)
        if pkg >= len(pkg_first) or func >= pkg_funcs[pkg]:
            raise NotSmallError  # covdata warns about it: the full path does
        index = pkg_first[pkg] + func
        slot = func_units[index]
        if n_counters != func_units[index + 1] - slot or not n_counters:
            raise NotSmallError
        executed[index] = 1
        for offset in range(slot, slot + n_counters):
            value, pos = _read_u32(data, pos)
            totals[offset] = merge_count(totals[offset], value, CounterMode.COUNT)
