"""A hand-made binary of four functions and four units (one in the injected coverage server),
shared by the unit tests that compute from a `MetaFile` without decoding one."""

from __future__ import annotations

import numpy as np

from coverage_collector.covdata.model import CounterMode, Granularity, MetaFile

STRINGS = ["main", "helper", "a.go", "b.go", "x/coverage_server.go", "serve", "empty"]


def i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def u32(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint32)


def u64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


def hand_meta() -> MetaFile:
    """main (a.go, units 0-1), helper (b.go, unit 2), serve (the coverage server, unit 3),
    empty (b.go, no unit)."""
    return MetaFile(
        path="covmeta.x",
        file_hash=bytes(16),
        mode=CounterMode.COUNT,
        granularity=Granularity.PERBLOCK,
        packages=(),
        strings=list(STRINGS),
        func_pkg=i64(0, 0, 0, 0),
        func_name=i64(0, 1, 5, 6),
        func_file=i64(2, 3, 4, 3),
        func_lit=np.zeros(4, dtype=bool),
        func_units=i64(0, 2, 3, 4, 4),
        start_line=u32(10, 12, 3, 1),
        start_col=u32(2, 2, 1, 1),
        end_line=u32(11, 14, 5, 2),
        end_col=u32(3, 4, 9, 9),
        stmts=u32(2, 3, 4, 5),
        unit_func=i64(0, 0, 1, 2),
    )
