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


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
