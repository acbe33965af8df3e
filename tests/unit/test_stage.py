"""Every stage has one shape (stage.py): a keyword-only, frozen `Options`, a `Summary` with
`lines()`, `ok` and `exit_status`, and `run(options) -> Summary`; problems reach the status."""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType

import pytest

from coverage_collector import stage
from coverage_collector.bigquery.load import Target
from coverage_collector.diff.gates import Gates
from coverage_collector.sources.clone import CloneSummary
from coverage_collector.sources.resolve import BinarySources, FileSource, ResolveSummary
from coverage_collector.sources.tree import RefusedSource

STAGES = (
    "download",
    "compile",
    "sources",
    "summary",
    "report",
    "export",
    "codecov",
    "bigquery",
    "diff",
    "gocoverdir",
)
BUILD_TOOLS = ("inject", "collect")
"""Stages that need no collection: inject works on source trees, collect may upload."""
REFUSED = RefusedSource("binary", "main.go", "a symbolic link")


def package(name: str) -> ModuleType:
    return importlib.import_module(f"coverage_collector.{name}")


@pytest.mark.parametrize("name", STAGES + BUILD_TOOLS)
def test_every_stage_exports_options_summary_and_run(name: str) -> None:
    module = package(name)
    assert {"Options", "Summary", "run"} <= set(vars(module))
    assert callable(module.run)
    assert module.Options.__dataclass_params__.frozen
    assert all(f.kw_only for f in dataclasses.fields(module.Options))
    assert all(hasattr(module.Summary, attr) for attr in ("lines", "ok", "exit_status"))


@pytest.mark.parametrize("name", STAGES)
def test_options_take_no_positional_argument(name: str) -> None:
    options = package(name).Options
    with pytest.raises(TypeError):
        options("collection")
    required = [f.name for f in dataclasses.fields(options) if _required(f)]
    assert required[0] == "collection"


def _required(field: dataclasses.Field[object]) -> bool:
    missing = dataclasses.MISSING
    return field.default is missing and field.default_factory is missing


def test_exit_status_follows_ok() -> None:
    from coverage_collector import compile

    assert compile.Summary().exit_status == stage.OK
    failed = compile.Summary(errors=[("entry", "corrupt covmeta")])
    assert not failed.ok and failed.exit_status == stage.ERR


def test_sources_are_not_ok_when_a_clone_fails_or_a_file_is_refused() -> None:
    from coverage_collector import sources

    refused = BinarySources(1, [FileSource(1, "unresolved", reason="a symbolic link")])
    assert sources.Summary(CloneSummary(), ResolveSummary()).exit_status == 0
    summary = sources.Summary(CloneSummary(), ResolveSummary(binaries=[("b", refused)]))
    assert not summary.ok and summary.exit_status == 1
    assert summary.lines()[0].startswith("0 source checkouts")  # the clone, then the resolve
    assert summary.lines()[1].startswith("resolved sources of 1 binaries")


def test_export_is_not_ok_with_refused_sources() -> None:
    from coverage_collector import export

    assert export.Summary("out").ok
    assert export.Summary("out", refused=[REFUSED]).exit_status == 1


def test_ingest_is_not_ok_when_a_source_could_not_be_read() -> None:
    from coverage_collector import bigquery

    assert bigquery.Summary("c", dry_run=True).exit_status == 0
    unreadable = bigquery.Summary("c", dry_run=True, files_without_source=2)
    assert not unreadable.ok and unreadable.exit_status == 1
    assert bigquery.Summary("c", dry_run=True, refused=[REFUSED]).exit_status == 1
    options = bigquery.Options(collection="c", target=Target("p", "d"))
    assert options.resolved_collection_id == "c"


def test_codecov_is_not_ok_when_an_upload_failed() -> None:
    from coverage_collector import codecov

    assert codecov.Summary(dry_run=True, skipped_no_source=["b"]).ok
    assert codecov.Summary(dry_run=False, failed=["org/repo: 500"]).exit_status == 1


def test_diff_exit_status_is_the_gates() -> None:
    from coverage_collector import diff

    summary = diff.Summary(result=None, gates=Gates())  # type: ignore[arg-type]
    assert summary.ok and summary.exit_status == 0 and summary.lines() == []
    below = diff.Summary(result=None, gates=Gates(below=["total: 50.0%"]))  # type: ignore[arg-type]
    assert not below.ok and below.exit_status == 3
    both = diff.Summary(result=None, gates=Gates(below=["total: 50.0%"], lost=2))  # type: ignore[arg-type]
    assert both.exit_status == 5
