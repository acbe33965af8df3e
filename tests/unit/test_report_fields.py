"""The positional rows' positions are defined once (report/fields.py): the arrays the
generator writes, the script's constants and the templates' sort keys must all agree."""

from __future__ import annotations

import re
from dataclasses import fields
from importlib import resources

from coverage_collector.report.annotate import coverage_spans
from coverage_collector.report.fields import FIELDS, SPAN, FunctionRow, SourceChunk, script
from coverage_collector.report.render import SCRIPT_MODULES, STATIC, report_script
from coverage_collector.results import Blocks


def test_rows_serialise_in_field_order() -> None:
    function = FunctionRow("main", 3, 12, 4, 2, 7)
    assert function.to_json() == [getattr(function, f.name) for f in fields(FunctionRow)]
    chunk = SourceChunk("d", 1, 2, 100, ["x"])
    assert chunk.to_json() == [getattr(chunk, f.name) for f in fields(SourceChunk)]
    assert FIELDS["function"]["percent"] == len(fields(FunctionRow))  # the page appends it


def test_spans_have_the_named_positions() -> None:
    blocks = Blocks.of([1], [2], [1], [6], [5])
    (span,) = coverage_spans(b"abcdefgh\n", blocks)
    assert len(span) == len(SPAN)
    assert span[FIELDS["span"]["count"]] == 5 and span[FIELDS["span"]["line"]] == 0


def test_the_script_gets_the_positions_and_reads_no_row_by_number() -> None:
    text = report_script()
    assert text.startswith(script())
    for name in SCRIPT_MODULES:
        module = (STATIC / f"report-{name}.js").read_text(encoding="utf-8")
        assert module in text
        # rows are read through cc.fields, never as r[4]
        assert not re.search(r"\b(r|row|chunk|span|item)\[\d", module), name


def test_the_functions_table_sorts_by_named_positions() -> None:
    template = resources.files("coverage_collector.report") / "templates" / "binary.html.j2"
    text = template.read_text(encoding="utf-8")
    keys = re.findall(r'data-key="\{\{ fields\.function\.(\w+) \}\}"', text)
    assert keys and set(keys) <= set(FIELDS["function"])
