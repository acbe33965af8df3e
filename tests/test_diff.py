"""`cluster diff` on real data: a baseline collection and a head with more workload and a
rebuilt, changed program (tests/difffixtures.py), every category checked against an
independent computation from `go tool covdata textfmt` of both sides."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from coverage_collector.cli import main
from coverage_collector.compiler import CompileOptions, compile_collection
from difffixtures import (
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
        assert compile_collection(CompileOptions(str(collection), max_concurrency=1)).ok
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
