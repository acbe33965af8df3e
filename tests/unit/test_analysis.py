"""analysis.py on a hand-made binary: the figures below are counted by hand, not by the code.

The binary has a function with two blocks in a.go, one with one block and one without any
in b.go, and the injected coverage server (excluded by default):

    unit  function  file                   statements  count
    0     main      a.go                   2           7
    1     main      a.go                   3           0
    2     helper    b.go                   4           0
    3     serve     x/coverage_server.go   5           9
"""

from __future__ import annotations

import numpy as np
import pytest

from coverage_collector import analysis
from coverage_collector.covdata.model import CounterMode, Granularity, MetaFile
from coverage_collector.results import Numbers

STRINGS = ["main", "helper", "a.go", "b.go", "x/coverage_server.go", "serve", "empty"]


def i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def u32(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint32)


@pytest.fixture
def meta() -> MetaFile:
    return MetaFile(
        path="covmeta.x",
        file_hash=bytes(16),
        mode=CounterMode.COUNT,
        granularity=Granularity.PERBLOCK,
        packages=(),
        strings=STRINGS,
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


COUNTS = np.array([7, 0, 0, 9], dtype=np.uint64)


def test_the_injected_server_is_not_the_application(meta: MetaFile) -> None:
    app = analysis.application_units(meta, analysis.DEFAULT_EXCLUDES)
    assert app.tolist() == [True, True, True, False]
    assert analysis.application_units(meta, ()).tolist() == [True] * 4


def test_totals_count_application_statements(meta: MetaFile) -> None:
    app = analysis.application_units(meta, analysis.DEFAULT_EXCLUDES)
    assert analysis.totals(meta, COUNTS, app) == Numbers(9, 2)
    everything = analysis.application_units(meta, ())
    assert analysis.totals(meta, COUNTS, everything) == Numbers(14, 7)


def test_files_sorted_by_path_with_their_numbers(meta: MetaFile) -> None:
    app = analysis.application_units(meta, analysis.DEFAULT_EXCLUDES)
    table = analysis.file_table(meta, app)
    assert table.paths == ["a.go", "b.go"]
    stats = analysis.file_stats(meta, COUNTS, table, app)
    assert stats.statements.tolist() == [5, 4]
    assert stats.covered.tolist() == [2, 0]


def test_functions_include_those_without_blocks_in_application_files(meta: MetaFile) -> None:
    app = analysis.application_units(meta, analysis.DEFAULT_EXCLUDES)
    stats = analysis.function_stats(meta, COUNTS, app)
    assert stats.func_ids.tolist() == [0, 1, 3]  # main, helper, empty; not serve
    assert stats.statements.tolist() == [5, 4, 0]
    assert stats.covered.tolist() == [2, 0, 0]
    assert stats.executions.tolist() == [7, 0, 0]  # the entry block's count


def test_units_and_blocks_by_file(meta: MetaFile) -> None:
    app = analysis.application_units(meta, analysis.DEFAULT_EXCLUDES)
    units = analysis.units_by_file(meta, app)
    assert {path: u.tolist() for path, u in units.items()} == {"a.go": [0, 1], "b.go": [2]}
    blocks = analysis.blocks_by_file(meta, app, COUNTS)
    assert [column.tolist() for column in blocks["a.go"]] == [
        [10, 12],
        [2, 2],
        [11, 14],
        [3, 4],
        [7, 0],
    ]
