"""The report stage's shape: keyword-only options; problems reach the exit status."""

from __future__ import annotations

import pytest

from coverage_collector import report
from coverage_collector.sources.tree import RefusedSource


def test_options_are_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        report.Options("collection")  # type: ignore[misc]
    options = report.Options(collection="c")
    assert options.output.endswith("html")
    with pytest.raises(AttributeError):
        options.collection = "d"  # type: ignore[misc]


def test_summary_problems_and_refusals_make_it_not_ok() -> None:
    assert report.Summary().ok and report.Summary().exit_status == 0
    highlighted = report.Summary(problems=["could not highlight x.go"])
    assert not highlighted.ok and highlighted.exit_status == 1
    assert "  could not highlight x.go" in highlighted.lines()
    refused = report.Summary(refused=[RefusedSource("b", "p.go", "a symbolic link")])
    assert not refused.ok and refused.exit_status == 1
