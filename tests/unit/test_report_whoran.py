"""report/whoran.py on a hand-made binary: every expected figure is counted by hand.

    unit  function  file                   lines   statements  owner 10 (entries a, b)  owner 11
    0     main      a.go                   10-11   2           7 (3 + 4)                0
    1     main      a.go                   12-14   3           0                        5
    2     helper    b.go                   3-5     4           0                        1
    3     serve     x/coverage_server.go   1-2     5           9 (4 + 5)                0

a.go has 13 lines (unit 1 ends past them: cut at 13). Owner 10 merges two entries, in
clusters "a" (2 process instances) and "b" (1); owner 11 one entry (the database gives the
entries of owners of several only: one entry's lines are its owner's).
"""

from __future__ import annotations

import pytest

from coverage_collector.analysis import DEFAULT_EXCLUDES, application_units
from coverage_collector.covdata.model import MetaFile
from coverage_collector.database.owners import OwnerCountsRow, OwnerEntryCounters
from coverage_collector.report import whoran
from tests.helpers.handmeta import hand_meta, i64, u64


@pytest.fixture
def meta() -> MetaFile:
    return hand_meta()


def owners() -> list[OwnerCountsRow]:
    return [OwnerCountsRow(10, u64(7, 0, 0, 9)), OwnerCountsRow(11, u64(0, 5, 1, 0))]


def test_the_owners_file_lists_units_their_functions_and_what_each_owner_ran(
    meta: MetaFile,
) -> None:
    # units file by file; function rows as (row, units) runs; executed units as (gap, run)
    app = application_units(meta, DEFAULT_EXCLUDES)
    payload = whoran.owners_payload(meta, app, {"a.go": 0, "b.go": 1}, [0, 1], owners())
    assert payload == {
        "files": [0, 2, 1, 1],
        "stmts": [2, 3, 4],
        "funcs": [0, 2, 1, 1],
        "owners": [10, 11],
        "hit": [[0, 1], [1, 2]],
        "calls": [[0, 7], [1, 1]],  # main called 7 times by owner 10, helper once by 11
    }


def test_who_ran_each_line_with_entries_instances_and_clusters(meta: MetaFile) -> None:
    files = [
        whoran.file_blocks(meta, 0, 0, 13, i64(1, 0), [0, 1, 1]),  # units in any order
        whoran.file_blocks(meta, 1, 0, 5, i64(2), [0]),
    ]
    entries = [
        OwnerEntryCounters(10, "a", 2, u64(3, 0, 0, 4)),
        OwnerEntryCounters(10, "b", 1, u64(4, 0, 0, 5)),
    ]
    groups = dict(whoran.who_payloads(meta, files, owners(), entries))
    assert groups == {
        0: [
            {
                "id": 0,
                "blocks": [10, 11, 12, 13],
                "spanBlock": [0, 1, 1],
                "owners": [
                    # counts: (blocks skipped, count); ran: 2 lines by 2 entries, 3 process
                    # instances, 2 clusters
                    {"id": 10, "counts": [0, 7], "ran": [2, 2, 3, 2]},
                    {"id": 11, "counts": [1, 5]},
                ],
            },
            {
                "id": 1,
                "blocks": [3, 5],
                "spanBlock": [0],
                "owners": [{"id": 11, "counts": [0, 1]}],
            },
        ]
    }


def test_an_entry_that_ran_one_line_of_a_block_counts_for_that_block_only(
    meta: MetaFile,
) -> None:
    # owner 10's second entry ran nothing of a.go: the lines count one entry, one cluster
    files = [whoran.file_blocks(meta, 0, 0, 13, i64(0, 1), [])]
    entries = [
        OwnerEntryCounters(10, "a", 2, u64(7, 0, 0, 4)),
        OwnerEntryCounters(10, "b", 1, u64(0, 0, 0, 5)),
    ]
    ((group, (payload,)),) = whoran.who_payloads(meta, files, owners()[:1], entries)
    assert group == 0
    assert payload["owners"] == [{"id": 10, "counts": [0, 7], "ran": [2, 1, 2, 1]}]
