"""`covdata debugdump` on the full path: each meta group read by `reader` (numpy), then
printed by `dumpformat` as Go prints it. Each binary is merged in its own mode (debugdump
resets the mode after every binary, so it never reports a mode clash).
"""

from __future__ import annotations

from coverage_collector.covdata.accumulate import Warn
from coverage_collector.covdata.dumpformat import (
    DumpBinary,
    DumpPackage,
    DumpPrinter,
    DumpUnits,
)
from coverage_collector.covdata.metagroups import MetaGroup
from coverage_collector.covdata.model import FunctionSpan
from coverage_collector.covdata.reader import (
    MetaGroupData,
    ModeMerger,
    package_filter,
    read_meta_group,
)
from coverage_collector.covdata.trace import Output, Trace


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
    printer = DumpPrinter(out, trace, live, package_filter(packages))
    for group in groups:
        trace.pod(group)
        data = read_meta_group(group, ModeMerger(relaxed=False), warn)
        printer.binary(dump_binary(data), trace.replay(data.meta))
    printer.finish()


def dump_binary(data: MetaGroupData) -> DumpBinary:
    """Return what the dump prints of one meta group read on the full path."""
    meta = data.meta
    func_units = meta.func_units.tolist()
    names, files = meta.func_name.tolist(), meta.func_file.tolist()
    literals = meta.func_lit.tolist()
    packages = []
    for package in meta.packages:
        functions = [
            FunctionSpan(
                meta.strings[names[f]],
                meta.strings[files[f]],
                bool(literals[f]),
                func_units[f],
                func_units[f + 1] - func_units[f],
            )
            for f in range(package.first_func, package.first_func + package.num_funcs)
        ]
        packages.append(DumpPackage(package.path, package.name, package.module, functions))
    units = DumpUnits(
        meta.start_line.tolist(),
        meta.start_col.tolist(),
        meta.end_line.tolist(),
        meta.end_col.tolist(),
        meta.stmts.tolist(),
    )
    return DumpBinary(
        data.group,
        meta.mode,
        meta.granularity,
        packages,
        units,
        data.counters.counts.tolist(),
        data.counters.executed_funcs.tolist(),
        data.file_args,
    )
