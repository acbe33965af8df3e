"""`cluster summary` keeps names from the cluster inert in every format.

A compiled collection of real programs whose database then holds hostile names (as an
older database, or any future path around the checks at the door, could): ESC sequences,
line breaks, C1 and bidirectional controls, `|`, backticks and HTML.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from coverage_collector import compile, trust
from coverage_collector.cli import main
from tests.helpers.clusterfixtures import ClusterCollection

NAMESPACE = "evil|ns`<b>x</b>"
OWNER = "inv\x1b[31mred\nfake | row\u009b2J\u202eend"
BINARY = "bin\x1b]0;title\x07<i>y</i>"
CONTROLS = ("\x1b", "\x07", "\u009b", "\u202e")


@pytest.fixture
def hostile(cluster: ClusterCollection) -> Path:
    assert compile.run(compile.Options(collection=str(cluster.root), max_concurrency=1)).ok
    with sqlite3.connect(cluster.root / "coverage.db") as conn:
        (binary_id,) = conn.execute(
            "SELECT binary_id FROM owners WHERE owner_name = 'inventory-api'"
        ).fetchone()
        conn.execute(
            "UPDATE owners SET namespace = ?, owner_name = ?, binary_name = ? "
            "WHERE owner_name = 'inventory-api'",
            (NAMESPACE, OWNER, BINARY),
        )
        conn.execute("UPDATE binaries SET name = ? WHERE id = ?", (BINARY, binary_id))
    return cluster.root


def summary(collection: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["cluster", "summary", "--collection", str(collection), *args]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("by", ["owner", "binary", "namespace"])
@pytest.mark.parametrize("output_format", ["table", "markdown", "json"])
def test_no_control_character_reaches_the_terminal(
    hostile: Path, capsys: pytest.CaptureFixture[str], by: str, output_format: str
) -> None:
    out = summary(hostile, capsys, "--by", by, "--format", output_format)
    assert not [c for c in CONTROLS if c in out]


@pytest.mark.parametrize("by", ["owner", "binary", "namespace"])
def test_table_rows_show_names_escaped_on_one_line(
    hostile: Path, capsys: pytest.CaptureFixture[str], by: str
) -> None:
    out = summary(hostile, capsys, "--by", by)
    shown = {"owner": OWNER, "binary": BINARY, "namespace": NAMESPACE}[by]
    (row,) = [line for line in out.splitlines() if trust.terminal(shown) in line]
    assert row.startswith("│") and row.endswith("│")
    assert "fake | row" not in out.replace(trust.terminal(OWNER), "")  # no second, forged row


@pytest.mark.parametrize("by", ["owner", "namespace"])
def test_markdown_keeps_its_columns_and_renders_no_html(
    hostile: Path, capsys: pytest.CaptureFixture[str], by: str
) -> None:
    out = summary(hostile, capsys, "--by", by, "--format", "markdown")
    table = [line for line in out.splitlines() if line.startswith("|")]
    columns = {len(line.replace("\\|", "").split("|")) for line in table}
    assert len(columns) == 1, table
    assert "<b>" not in out and "<i>" not in out and "`<" not in out
    assert any(trust.markdown(NAMESPACE) in line for line in table)


def test_json_keeps_the_names_exactly(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(summary(hostile, capsys, "--format", "json"))
    names = {(r["namespace"], r["owner"], r["binary"]) for r in data["rows"]}
    assert (NAMESPACE, OWNER, BINARY) in names
