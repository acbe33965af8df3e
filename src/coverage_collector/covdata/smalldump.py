"""`covdata debugdump` of small input without numpy: each meta group read by `small`, then
printed by `dumpformat` exactly as the full path (`debugdump`) prints it."""

from __future__ import annotations

from coverage_collector.covdata.dumpformat import (
    DumpBinary,
    DumpPackage,
    DumpPrinter,
    DumpUnits,
)
from coverage_collector.covdata.metagroups import MetaGroup
from coverage_collector.covdata.policy import ModeMerger, package_filter
from coverage_collector.covdata.request import Outcome, Request
from coverage_collector.covdata.small import UNIT_FIELDS, merge_counters, read_small_meta


def dump_binaries(groups: list[MetaGroup]) -> list[DumpBinary]:
    """Read and merge every meta group (each in its own mode, as debugdump does); raise
    `small.NotSmallError` for anything the full path must handle."""
    binaries = []
    for group in groups:
        meta = read_small_meta(group.meta_path)
        merger = ModeMerger(relaxed=False)
        merger.visit(meta)
        paths = [ref.path for ref in group.counter_files]
        counters = merge_counters(meta, paths, merger.mode)
        packages = [
            DumpPackage(
                package.path,
                package.name,
                package.module,
                package.functions,
            )
            for package in meta.packages
        ]
        units = DumpUnits(*(meta.units[field::UNIT_FIELDS] for field in range(UNIT_FIELDS)))
        binaries.append(
            DumpBinary(
                group,
                meta.mode,
                meta.granularity,
                packages,
                units,
                counters.totals,
                counters.executed,
                counters.file_args,
            )
        )
    return binaries


def print_dump(request: Request, binaries: list[DumpBinary]) -> Outcome:
    """Print the dump of `binaries` (read by `dump_binaries`) and the statement totals."""
    matcher = package_filter(request.packages)
    printer = DumpPrinter(request.stdout, request.trace, request.live, matcher)
    for binary in binaries:
        printer.binary(binary)
    printer.finish()
    return Outcome()
