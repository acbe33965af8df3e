"""`cluster diff` on real data: a baseline collection and a head with more workload and a
rebuilt, changed program (tests/difffixtures.py), every category checked against an
independent computation from `go tool covdata textfmt` of both sides."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from coverage_collector import compile, trust
from coverage_collector.cli import main
from tests.helpers.difffixtures import (
    DiffCollections,
    add_categories,
    make_diff_collections,
    oracle_categories,
)

CATEGORIES = (
    "newly_covered",
    "lost",
    "still_covered",
    "never_covered",
    "new_code",
    "new_code_covered",
    "removed_code",
)


@pytest.fixture(scope="module")
def compiled(go_toolchain: Path, tmp_path_factory: pytest.TempPathFactory) -> DiffCollections:
    collections = make_diff_collections(tmp_path_factory.mktemp("diff"))
    for collection in (collections.baseline, collections.head):
        assert compile.run(compile.Options(collection=str(collection), max_concurrency=1)).ok
    return collections


def run_diff(
    compiled: DiffCollections, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    argv = [
        "cluster",
        "diff",
        "--collection",
        str(compiled.head),
        "--baseline",
        str(compiled.baseline),
    ]
    status = main([*argv, *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def totals(collection: Path) -> tuple[int, int]:
    conn = sqlite3.connect(collection / "coverage.db")
    return conn.execute("SELECT sum(statements), sum(covered) FROM binaries").fetchone()


def test_categories_match_covdata(
    compiled: DiffCollections, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run_diff(compiled, capsys, "--format", "json", "--output-dir", str(tmp_path))
    assert status == 0
    result = json.loads(out)
    oracle = {
        owner: oracle_categories(compiled.go, compiled.base_dirs(owner), compiled.head_dirs(owner))
        for owner in compiled.owners
    }
    by_owner = {o["owner_name"]: o for o in result["owners"]}
    assert set(by_owner) == set(oracle)
    for owner, expected in oracle.items():
        got = by_owner[owner]
        assert {k: got[k] for k in CATEGORIES} == {k: expected[k] for k in CATEGORIES}, owner
        for side in ("head", "base"):
            assert (got[f"{side}_statements"], got[f"{side}_covered"]) == (
                expected[f"{side}_statements"],
                expected[f"{side}_covered"],
            )
    overall = add_categories(*oracle.values())
    assert {k: result["total"][k] for k in CATEGORIES} == {k: overall[k] for k in CATEGORIES}
    for key in CATEGORIES:  # the data exercises every category
        assert overall[key] > 0, key
    # coverage totals count each binary once, as `cluster summary` does
    assert (result["total"]["head_statements"], result["total"]["head_covered"]) == totals(
        compiled.head
    )
    assert (result["total"]["base_statements"], result["total"]["base_covered"]) == totals(
        compiled.baseline
    )
    # namespaces add up their owners
    for owner in result["owners"]:
        ns = result["namespaces"][owner["namespace"]]
        assert ns["lost"] == sum(
            o["lost"] for o in result["owners"] if o["namespace"] == owner["namespace"]
        )
    # files of a binary add up to the binary
    for binary in result["binaries"]:
        for key in CATEGORIES:
            assert binary[key] == sum(f[key] for f in binary["files"]), (binary["name"], key)
    # the changed function's file holds the new and removed code
    auditor = next(b for b in result["binaries"] if b["name"] == "auditor")
    changed = [f for f in auditor["files"] if f["new_code"] or f["removed_code"]]
    assert [f["path"] for f in changed] == ["example.com/ledger/audit/audit.go"]
    assert json.loads((tmp_path / "diff.json").read_text()) == result
    assert "| owner | binary |" in (tmp_path / "diff.md").read_text()


def test_table_and_markdown(compiled: DiffCollections, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_diff(compiled, capsys)
    assert status == 0
    assert "audit/StatefulSet/auditor" in out and "bank/Deployment/ledger" in out
    assert "Binaries" in out and "Namespaces" in out and "Files with changes" in out
    assert "19 newly covered, 14 lost" in out.replace("\n", " ")
    status, out, _ = run_diff(compiled, capsys, "--format", "markdown", "--namespace", "bank")
    assert status == 0
    assert "| bank/Deployment/ledger | ledger |" in out
    assert "auditor" not in out


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("--fail-under", "50"), 0),
        (("--fail-under", "60"), 3),  # the head's total is 58.4%
        (("--fail-on-lost",), 4),
        (("--fail-on-lost", "--fail-under", "60"), 5),
        (("--namespace", "bank", "--fail-under", "55", "--fail-on-lost"), 0),  # ledger: 55.1%
        (("--namespace", "bank", "--fail-under", "56"), 3),
        (("--namespace", "audit", "--fail-on-lost"), 4),
    ],
)
def test_gates(
    compiled: DiffCollections,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    status: int,
) -> None:
    got, _, err = run_diff(compiled, capsys, "--format", "json", *args)
    assert got == status, err
    if status in (3, 5):
        assert "below --fail-under" in err
    if status in (4, 5):
        assert "lost their coverage (--fail-on-lost)" in err


def test_unchanged_copy_and_bad_input(
    compiled: DiffCollections, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(compiled.head, copy)
    argv = ["cluster", "diff", "--collection", str(compiled.head), "--format", "json"]
    assert main([*argv, "--baseline", str(copy), "--fail-on-lost"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    for key in ("newly_covered", "lost", "new_code", "removed_code"):
        assert result["total"][key] == 0
    assert result["total"]["delta"] == 0

    assert main([*argv, "--baseline", str(compiled.head)]) == 2
    assert "The baseline is the collection itself" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*argv, "--baseline", str(empty)]) == 1
    assert "No database in" in capsys.readouterr().err


HOSTILE_NAMESPACE = "evil|ns`<b>x</b>"
HOSTILE_OWNER = "led\x1b[31mger\nfake | row\u009b2J\u202eend"
HOSTILE_BINARY = "led\x1b]0;title\x07<i>y</i>"


@pytest.fixture
def hostile(compiled: DiffCollections, tmp_path: Path) -> DiffCollections:
    """Both collections with `bank/Deployment/ledger` renamed to hostile names."""
    copies = []
    for side in (compiled.baseline, compiled.head):
        copy = tmp_path / side.name
        shutil.copytree(side, copy)
        with sqlite3.connect(copy / "coverage.db") as conn:
            conn.execute(
                "UPDATE owners SET namespace = ?, owner_name = ?, binary_name = ? "
                "WHERE owner_name = 'ledger'",
                (HOSTILE_NAMESPACE, HOSTILE_OWNER, HOSTILE_BINARY),
            )
            conn.execute("UPDATE binaries SET name = ? WHERE name = 'ledger'", (HOSTILE_BINARY,))
        copies.append(copy)
    return replace(compiled, baseline=copies[0], head=copies[1])


def test_hostile_names_stay_inert(
    hostile: DiffCollections, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    controls = ("\x1b", "\x07", "\u009b", "\u202e")
    status, table, _ = run_diff(hostile, capsys)
    assert status == 0
    assert not [c for c in controls if c in table]
    label = trust.terminal(f"{HOSTILE_NAMESPACE}/Deployment/{HOSTILE_OWNER}")
    (row,) = [line for line in table.splitlines() if label in line]
    assert row.startswith("│") and trust.terminal(HOSTILE_BINARY) in row
    assert "fake | row" not in table.replace(label, "")  # no forged row

    out = tmp_path / "out"
    status, markdown, _ = run_diff(
        hostile, capsys, "--format", "markdown", "--output-dir", str(out)
    )
    assert status == 0
    for text in (markdown, (out / "diff.md").read_text(encoding="utf-8")):
        assert not [c for c in controls if c in text]
        tables = [t for t in text.split("\n\n") if t.startswith("|")]
        assert len(tables) == 4
        for table in tables:  # each keeps its column count
            columns = {len(line.replace("\\|", "").split("|")) for line in table.splitlines()}
            assert len(columns) == 1, table
        assert "<b>" not in text and "<i>" not in text
        assert trust.markdown(HOSTILE_OWNER) in text

    status, raw, _ = run_diff(hostile, capsys, "--format", "json")
    assert not [c for c in controls if c in raw]
    owners = {(o["namespace"], o["owner_name"]) for o in json.loads(raw)["owners"]}
    assert (HOSTILE_NAMESPACE, HOSTILE_OWNER) in owners
