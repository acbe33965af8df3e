"""Go's binary coverage data, decoded natively: no Go toolchain at run time.

    meta = read_meta("covmeta.<hash>")            # columnar units of one binary
    counters = read_counters("covcounters.<...>")  # one counter data file
    merged = accumulate(meta, [counters], meta.mode, warn=print).counts  # one per unit

`read_meta_group` merges a whole directory's files of one binary (thousands at array
speed); `commands` reproduces `go tool covdata` byte for byte on top of these.
"""

from coverage_collector.covdata.accumulate import UnitCounters, accumulate
from coverage_collector.covdata.counters import CounterFile, read_counters
from coverage_collector.covdata.meta import read_meta
from coverage_collector.covdata.metagroups import MetaGroup, collect_meta_groups
from coverage_collector.covdata.model import CounterMode, Granularity, MetaFile, PackageMeta
from coverage_collector.covdata.reader import MetaGroupData, ModeMerger, read_meta_group

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
