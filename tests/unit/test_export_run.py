"""The export stage's summary: a file its reader would drop fails the export."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from coverage_collector import export

export_run = importlib.import_module("coverage_collector.export.run")
"""The module (the package's `run` is the stage function of the same name)."""


def test_a_file_over_its_format_limit_makes_the_export_not_ok(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(export_run.SIZE_LIMITS, "cobertura", (10, "the reader skips it"))
    (tmp_path / "small.xml").write_bytes(b"x" * 10)
    (tmp_path / "large.xml").write_bytes(b"x" * 11)
    problems = export_run._oversized("cobertura", str(tmp_path), ["small.xml", "large.xml"])
    assert problems == ["large.xml has 11 bytes: the reader skips it"]
    assert export_run._oversized("lcov", str(tmp_path), ["large.xml"]) == []
    summary = export.Summary(str(tmp_path), 1, files=["large.xml"], oversized=problems)
    assert not summary.ok and summary.exit_status == 1
    assert summary.lines()[-1] == "  large.xml has 11 bytes: the reader skips it"
