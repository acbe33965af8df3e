"""The index's owners as data files: dictionaries instead of repeated strings, chunks under
the size limit (split again when one is too large), details apart unless small."""

from __future__ import annotations

import dataclasses
import json

import pytest

from coverage_collector.report import ownertable
from coverage_collector.report.fields import TALLY
from coverage_collector.report.model import IndexData, OwnerChange, OwnerRow, Tallies
from coverage_collector.report.render import to_json

OWNER = OwnerRow(
    3, "ns", "Deployment", "api", "api", "7", "img", ("img",), ("p1", "p2"), ("c",), ("h",),
    2, 3, 10, 4, 40.0, "t0", "t1", 0, False, False, clusters=("east", "west"),
)  # fmt: skip


def index_of(owners: list[OwnerRow]) -> IndexData:
    return IndexData("c", "", "", 0, 0, 0, 0, tuple(owners), {}, ())


def payload(text: str) -> dict[str, object]:
    """The JSON a data file hands to coverageCollector.owners."""
    start = text.index("(") + 1
    return json.loads(text[start : text.rindex(")")])


def test_columns_use_dictionaries_and_details_load_with_a_small_page() -> None:
    other = dataclasses.replace(OWNER, owner="web", namespace="e2e-x", test_namespace=True)
    table = ownertable.owner_table(index_of([OWNER, other]), to_json)
    words = table.page["dictionaries"]
    assert words["namespace"] == ["ns", "e2e-x"] and words["namespaceTest"] == [0, 1]
    assert words["cluster"] == ["east", "west"]
    (summary, details) = table.files
    assert table.scripts == (summary.path, details.path)  # small: details come with the page
    assert summary.text.startswith("coverageCollector.owners.add(")
    columns = payload(summary.text)
    assert columns["namespace"] == [0, 1] and columns["owner"] == ["api", "web"]
    assert columns["clusters"] == [[0, 1], [0, 1]] and columns["pods"] == [2, 2]
    assert "base" not in columns  # no baseline, no change columns
    assert payload(details.text)["pods"] == [["p1", "p2"], ["p1", "p2"]]


def test_large_tables_split_into_files_and_keep_details_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ownertable, "CHUNK_ROWS", 4)
    monkeypatch.setattr(ownertable, "DETAIL_ROWS", 3)
    monkeypatch.setattr(ownertable, "CHUNK_BYTES", 300)
    monkeypatch.setattr(ownertable, "EAGER_DETAIL_BYTES", 100)
    owners = [dataclasses.replace(OWNER, owner=f"o{i}") for i in range(10)]
    table = ownertable.owner_table(index_of(owners), to_json)
    summaries = [f for f in table.files if "/owners-" in f.path]
    assert tuple(f.path for f in summaries) == table.scripts  # details load on demand
    assert all(len(f.text) <= 300 for f in summaries) and len(summaries) > 3
    shown = [name for f in summaries for name in payload(f.text)["owner"]]
    assert shown == [o.owner for o in owners]  # every row once, in order
    firsts = [payload(f.text)["first"] for f in summaries]
    assert firsts == sorted(firsts) and table.page["chunks"] == len(summaries)
    assert [first for first, _ in table.page["details"]] == [0, 3, 6, 9]


def test_change_columns_carry_tallies_in_field_order() -> None:
    tallies = Tallies(1, 2, 3, 4, 5, 6, 7, 8, 9, rebuilt=True)
    assert tallies.to_row() == [*range(1, 10), True]
    assert len(TALLY) == len(tallies.to_row())
    change = OwnerChange(-2.0, "-2.0", "down", True, tallies, base=42.0, base_text="42.0%")
    table = ownertable.owner_table(index_of([dataclasses.replace(OWNER, change=change)]), to_json)
    columns = payload(table.files[0].text)
    assert columns["deltaText"] == ["-2.0"] and columns["diff"] == [[*range(1, 10), True]]
    assert Tallies(1, 2, 3, 4, 5, 6, 7, 8, 9).to_row()[-1] is None


def test_stale_files_are_the_earlier_renders_only(tmp_path: object) -> None:
    from pathlib import Path

    out = Path(str(tmp_path))
    directory = out / ownertable.DATA_DIR
    directory.mkdir(parents=True)
    for name in ("owners-0.js", "owners-1.js", "details-5.js", "notes.txt"):
        (directory / name).write_text("x")
    table = ownertable.owner_table(index_of([OWNER]), to_json)
    stale = [Path(p).name for p in ownertable.stale_files(str(out), table)]
    assert stale == ["details-5.js", "owners-1.js"]
