"""Go's binary coverage data, decoded natively: no Go toolchain at run time.

    meta = read_meta("covmeta.<hash>")            # columnar units of one binary
    counters = read_counters("covcounters.<...>")  # one counter data file
    merged = accumulate(meta, [counters], meta.mode, warn=print).counts  # one per unit

`read_meta_group` merges a whole directory's files of one binary (thousands at array
speed); `commands` reproduces `go tool covdata` byte for byte on top of these, and
`small` answers small inputs without numpy. The names below load on first use, so that
`coverage-collector covdata` on a small input never imports numpy.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_HOMES = {
    "CounterFile": "coverage_collector.covdata.counters",
    "CounterMode": "coverage_collector.covdata.model",
    "Granularity": "coverage_collector.covdata.model",
    "MetaFile": "coverage_collector.covdata.model",
    "MetaGroup": "coverage_collector.covdata.metagroups",
    "MetaGroupData": "coverage_collector.covdata.reader",
    "ModeMerger": "coverage_collector.covdata.reader",
    "PackageMeta": "coverage_collector.covdata.model",
    "UnitCounters": "coverage_collector.covdata.accumulate",
    "accumulate": "coverage_collector.covdata.accumulate",
    "collect_meta_groups": "coverage_collector.covdata.metagroups",
    "read_counters": "coverage_collector.covdata.counters",
    "read_meta": "coverage_collector.covdata.meta",
    "read_meta_group": "coverage_collector.covdata.reader",
}

__all__ = [
    "CounterFile",
    "CounterMode",
    "Granularity",
    "MetaFile",
    "MetaGroup",
    "MetaGroupData",
    "ModeMerger",
    "PackageMeta",
    "UnitCounters",
    "accumulate",
    "collect_meta_groups",
    "read_counters",
    "read_meta",
    "read_meta_group",
]


class _LazyPackage(types.ModuleType):
    """This package, its public names resolved on each use: `accumulate` is both a function
    here and a submodule, and importing the submodule sets the package's attribute to the
    module; the function must win, as it did when this file imported it eagerly."""

    def __getattribute__(self, name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            return super().__getattribute__(name)
        return getattr(importlib.import_module(home), name)


sys.modules[__name__].__class__ = _LazyPackage
