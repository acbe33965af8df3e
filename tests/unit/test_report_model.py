"""The report's rows: built, never changed, and serialised with the keys (and key order) the
pages have always carried, so that a row type cannot drift from what report.js reads."""

from __future__ import annotations

import dataclasses

import pytest

from coverage_collector.report.model import Change, FileRow, OwnerChange, OwnerRow, Tallies

FILE = FileRow(1, "a/b.go", 10, 5, 50.0, "resolved", "go.mod", "repos/x/a/b.go")
TALLIES = Tallies(1, 2, 3, 4, 5, 6, 7, 8, 9)


def test_rows_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        FILE.status = "missing"  # type: ignore[misc]


def test_file_row_keys_in_page_order() -> None:
    base = ["id", "path", "statements", "covered", "percent", "status", "method", "source"]
    assert list(FILE.to_json()) == base
    changed = dataclasses.replace(FILE, change=Change(1.5, "+1.5", "up", True, TALLIES))
    rendered = dataclasses.replace(changed, group=1)
    delta = ["delta", "deltaText", "direction", "changed", "diff"]
    assert list(rendered.to_json()) == [*base, *delta, "group"]
    refused = dataclasses.replace(changed, status="unresolved", refusal="a symbolic link")
    assert list(refused.to_json()) == [*base, *delta, "reason"]
    assert refused.to_json()["reason"] == "a symbolic link"
    # a reason from resolution keeps its place; a refusal replaces its text
    explained = dataclasses.replace(FILE, reason="not in the checkout", change=changed.change)
    assert list(explained.to_json()) == [*base, "reason", *delta]
    overridden = dataclasses.replace(explained, refusal="too large").to_json()
    assert list(overridden) == [*base, "reason", *delta] and overridden["reason"] == "too large"


def test_owner_change_and_tallies() -> None:
    owner = OwnerRow(
        3, "ns", "Deployment", "api", "api", "7", "img", ("img",), ("p",), ("c",), ("h",),
        2, 3, 10, 4, 40.0, "t0", "t1", 0, False, False,
    )  # fmt: skip
    row = owner.to_json()
    assert row["binaryId"] == "7" and row["reports"] == 2 and row["images"] == ["img"]
    assert "delta" not in row
    change = OwnerChange(
        -2.0, "-2.0", "down", True, dataclasses.replace(TALLIES, rebuilt=True), base=42.0,
        base_text="42.0%",
    )  # fmt: skip
    compared = dataclasses.replace(owner, change=change).to_json()
    assert list(compared)[-7:] == ["base", "baseText", "delta", "deltaText", "direction",
                                   "changed", "diff"]  # fmt: skip
    assert compared["diff"]["rebuilt"] is True and "rebuilt" not in TALLIES.to_json()
