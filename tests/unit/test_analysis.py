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
from coverage_collector.covdata.model import MetaFile
from coverage_collector.results import Numbers
from tests.helpers.handmeta import hand_meta


@pytest.fixture
def meta() -> MetaFile:
    return hand_meta()


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
