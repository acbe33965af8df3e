"""Names from the cluster stay inert in the plain-text outputs: markdown tables, rich table
cells, progress lines and log lines (stderr and the log file)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table

from coverage_collector import logs
from coverage_collector.progress import Reporter
from coverage_collector.textformat import markdown_table, terminal_cell

HOSTILE = "kv\x1b[31mred\x1b[0m\nerror: forged | line\r\u009b2J\u202e[bold]:thumbs_up:"
RAW = ("\x1b", "\r", "\u009b", "\u202e")


def test_markdown_table_keeps_its_columns_and_renders_no_html() -> None:
    rows = [["evil|ns`<b>x</b>", "a\nb"], ["*x*", "[l](http://e)"]]
    table = markdown_table(["namespace", "owner"], rows)
    lines = table.splitlines()
    assert len(lines) == 4  # the newline inside a cell does not start a row
    assert {len(line.replace("\\|", "").split("|")) for line in lines} == {4}
    assert "<b>" not in table and "`<" not in table and r"\[l\](" in table  # not a link
    assert lines[2] == r"| evil\|ns\`\<b\>x\</b\> | a\\nb |"


def test_terminal_cells_escape_controls_and_ignore_markup() -> None:
    table = Table()
    table.add_column("owner")
    table.add_row(terminal_cell(HOSTILE))
    console = Console(file=io.StringIO(), width=300, force_terminal=False)
    console.print(table)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert not [c for c in RAW if c in out]
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == 1 and "forged" in rows[0]  # one row (the header uses ┃)
    assert "[bold]:thumbs_up:" in out  # shown as written: no markup, no emoji


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = logs.configure("debug", str(tmp_path))
    assert path is not None
    yield Path(path)
    logs.configure("info")


def test_log_lines_escape_their_arguments(
    log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = logs.get_logger("test")
    log.warning("%s: %s", HOSTILE, ValueError(HOSTILE))
    log.info("fetching %r, %d bytes", HOSTILE, 12)
    log.error("two lines:\nnext %(name)s", {"name": HOSTILE})
    try:
        raise OSError(HOSTILE)
    except OSError:
        log.debug("failed", exc_info=True)
    for text in (capsys.readouterr().err, log_file.read_text(encoding="utf-8")):
        assert not [c for c in RAW if c in text]
        assert not [line for line in text.splitlines() if line.startswith("error: forged")]
        assert "12 bytes" in text and "'kv\\x1b[31mred" in text  # %d and %r still work
        assert "two lines:\n" in text  # our own line breaks stay
        assert "OSError: kv\\x1b[31m" in text  # the traceback too


def test_progress_descriptions_escape_controls_and_markup(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    log = logs.get_logger("test")
    with caplog.at_level(logging.INFO, logger=log.name), Reporter(HOSTILE, 2, log) as plain:
        plain.advance(2)
    with Reporter(HOSTILE, 1, log, interactive=True) as bar:
        bar.advance()
    out = capsys.readouterr()
    for text in (caplog.text, out.out + out.err):
        assert not [c for c in RAW if c in text]
    assert "[bold]:thumbs_up:" in out.out + out.err
