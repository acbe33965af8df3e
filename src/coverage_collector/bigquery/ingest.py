"""`bigquery ingest`: one compiled collection into BigQuery, replacing its previous copy.

The stage of the `bigquery` package (`Options`, `Summary`, `run`)."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from coverage_collector import database, logs
from coverage_collector.bigquery import schema
from coverage_collector.bigquery.load import Loader, Target, make_client
from coverage_collector.bigquery.outputs import TableOutput
from coverage_collector.bigquery.rows import BuildOptions, build_tables
from coverage_collector.exceptions import CollectorError, UsageError
from coverage_collector.selection import OwnerSelection
from coverage_collector.sources.tree import RefusedSource, refused_lines
from coverage_collector.stage import ExitFromOk

log = logs.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class Options:
    """Which collection, where to (`target`), under which id, which owners, and whether
    only to build the rows (`dry_run`)."""

    collection: str
    target: Target
    collection_id: str | None = None
    selection: OwnerSelection = field(default_factory=OwnerSelection)
    dry_run: bool = False
    max_concurrency: int = 3
    """Load jobs running at once."""

    @property
    def resolved_collection_id(self) -> str:
        """The collection id: given, or the collection directory's name (not its path)."""
        return self.collection_id or os.path.basename(os.path.abspath(self.collection))


@dataclass
class Summary(ExitFromOk):
    """The rows written (or that would be) per table, and the source files whose text is
    missing from them."""

    collection_id: str
    dry_run: bool
    tables: list[TableOutput] = field(default_factory=list)
    owners: int = 0
    binaries: int = 0
    files_without_source: int = 0
    refused: list[RefusedSource] = field(default_factory=list)
    load_jobs: int = 0
    prepare_seconds: float = 0.0
    load_seconds: float = 0.0
    replace_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def ok(self) -> bool:
        """False when source files were refused or could not be read: their line rows carry
        no text, so the tables are incomplete."""
        return not self.refused and not self.files_without_source

    def table_lines(self) -> list[str]:
        """Per table: rows, bytes uploaded and BigQuery's (logical) storage size."""
        width = max(len(t.spec.name) for t in self.tables)
        header = f"{'table':<{width}}  {'rows':>12}  {'upload':>10}  {'stored':>10}"
        return [header] + [
            f"{t.spec.name:<{width}}  {t.rows:>12,}  {_size(t.upload_bytes):>10}  "
            f"{_size(t.stored_bytes):>10}"
            for t in self.tables
        ]

    def lines(self) -> list[str]:
        verb = "would write" if self.dry_run else "wrote"
        lines = [
            f"collection {self.collection_id!r}: {self.owners} owners, {self.binaries} binaries; "
            f"{verb} {self.rows:,} rows",
            *self.table_lines(),
        ]
        if self.files_without_source:
            lines.append(f"{self.files_without_source} files without readable source (no text)")
        lines.extend(refused_lines(self.refused))
        if not self.dry_run:
            total = self.prepare_seconds + self.load_seconds + self.replace_seconds
            rate = self.rows / total if total else 0.0
            lines.append(
                f"{self.load_jobs} load jobs; prepared in {self.prepare_seconds:.1f} s, loaded in "
                f"{self.load_seconds:.1f} s, replaced in {self.replace_seconds:.1f} s "
                f"({rate:,.0f} rows/s)"
            )
        return lines


def _size(n: int) -> str:
    """Bytes in B, kB, MB or GB (powers of 1000)."""
    for exponent, unit in enumerate(("B", "kB", "MB")):
        if n < 1000 ** (exponent + 1):
            return f"{n} B" if not exponent else f"{n / 1000**exponent:.1f} {unit}"
    return f"{n / 1e9:.1f} GB"


def run(options: Options) -> Summary:
    """Build every table's rows, then (unless a dry run) load and swap them in."""
    collection_id = options.resolved_collection_id
    if not collection_id.strip():
        raise UsageError("The collection id is empty", hint="pass --collection-id")
    try:
        import pyarrow  # noqa: F401 - the line table is written as Parquet
    except ImportError:
        raise CollectorError(
            "pyarrow is not installed", hint="pip install 'coverage-collector[bigquery]'"
        ) from None
    loader = None
    if not options.dry_run:  # fail on credentials before the long part
        loader = Loader(options.target, make_client(options.target), options.max_concurrency)
    conn = database.open_readonly(options.collection)
    summary = Summary(collection_id, options.dry_run)
    build = BuildOptions(options.collection, collection_id, options.selection, datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="cc-bigquery-") as work:
        started = time.monotonic()
        try:
            result = build_tables(conn, build, work)
        finally:
            conn.close()
        summary.tables = list(result.outputs.values())
        summary.owners, summary.binaries = result.owners, result.binaries
        summary.files_without_source = len(result.files_without_source)
        summary.refused = result.refused
        summary.prepare_seconds = time.monotonic() - started
        if not result.owners:
            raise UsageError(
                f"No owner matches {options.selection.describe() or 'the collection'}",
                hint="`coverage-collector cluster summary` lists namespaces and owners",
            )
        if loader is None:
            return summary
        _load(loader, collection_id, summary)
    return summary


def _load(loader: Loader, collection_id: str, summary: Summary) -> None:
    started = time.monotonic()
    loader.ensure_dataset()
    for spec in schema.TABLES:
        loader.ensure_table(spec)
    staged = loader.stage(summary.tables)
    summary.load_jobs = len(staged)
    summary.load_seconds = time.monotonic() - started
    started = time.monotonic()
    try:
        loader.replace(collection_id, schema.TABLES, staged)
    finally:
        loader.drop(staged.values())
    summary.replace_seconds = time.monotonic() - started
