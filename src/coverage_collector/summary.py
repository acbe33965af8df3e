"""`cluster summary`: the compiled numbers at a glance, read from the database.

Rows per owner, binary or namespace; totals always count each binary once (a
namespace's total counts each binary running in it once).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coverage_collector import blobs, database
from coverage_collector.compiler.stats import combine, totals
from coverage_collector.compiler.store import BinaryModels, stored_excludes
from coverage_collector.database import Database
from coverage_collector.textformat import markdown_table, terminal_cell

LABELS = {
    "owner": ("namespace", "type", "owner", "binary"),
    "binary": ("binary", "hash", "owners"),
    "namespace": ("namespace", "binaries"),
}
"""The columns that name a row, per grouping."""
HOST = "(host)"


@dataclass(frozen=True)
class Row:
    labels: tuple[str, ...]
    entries: int
    statements: int
    covered: int

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.statements if self.statements else 0.0


@dataclass(frozen=True)
class Overview:
    """The whole database in a few numbers, plus one row per group."""

    by: str
    entries: int
    owners: int
    binaries: int
    statements: int
    covered: int
    errors: int
    host_duplicates: int
    rows: list[Row]
    sources: dict[str, int]
    """Binaries per source confidence, and files resolved / missing / unresolved."""

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.statements if self.statements else 0.0


def overview(collection: str, by: str = "owner") -> Overview:
    """Read the summary of the compiled `collection`, grouped `by` owner, binary or namespace."""
    conn = database.open_readonly(collection)
    try:
        rows = {"owner": _owner_rows, "binary": _binary_rows, "namespace": namespace_rows}[by](conn)
        (entries,) = conn.execute("SELECT count(*) FROM reports").fetchone()
        (owners,) = conn.execute("SELECT count(*) FROM owners").fetchone()
        binaries, statements, covered = conn.execute(
            "SELECT count(*), coalesce(sum(statements), 0), coalesce(sum(covered), 0) FROM binaries"
        ).fetchone()
        (errors,) = conn.execute(
            "SELECT count(DISTINCT item) FROM errors WHERE stage = 'compile'"
        ).fetchone()
        (duplicates,) = conn.execute(
            "SELECT count(*) FROM reports WHERE duplicate_of IS NOT NULL"
        ).fetchone()
        sources = _sources(conn)
    finally:
        conn.close()
    return Overview(
        by, entries, owners, binaries, statements, covered, errors, duplicates, rows, sources
    )


def _sources(conn: Database) -> dict[str, int]:
    counts = dict(conn.execute("SELECT confidence, count(*) FROM binary_sources GROUP BY 1"))
    files = conn.execute(
        "SELECT coalesce(sum(resolved), 0), coalesce(sum(missing), 0), "
        "coalesce(sum(unresolved), 0) FROM binary_sources"
    ).fetchone()
    if counts:
        counts.update(
            zip(("files_resolved", "files_missing", "files_unresolved"), files, strict=True)
        )
    return counts


def _sources_line(sources: dict[str, int]) -> str:
    if not sources:
        return "sources: not resolved yet (run `cluster clone-sources`)"
    binaries = ", ".join(
        f"{sources.get(c, 0)} {c}" for c in ("exact", "module", "low", "fallback", "none")
    )
    return (
        f"sources: binaries {binaries}; files {sources['files_resolved']} resolved, "
        f"{sources['files_missing']} missing from their checkout, "
        f"{sources['files_unresolved']} without a repository"
    )


def _owner_rows(conn: Database) -> list[Row]:
    return [
        Row((ns or HOST, kind, name, binary), reports, total, covered)
        for ns, kind, name, binary, reports, total, covered in conn.execute(
            "SELECT namespace, owner_type, owner_name, binary_name, reports, statements, covered "
            "FROM owners ORDER BY namespace, owner_name, owner_type, binary_name"
        )
    ]


def _binary_rows(conn: Database) -> list[Row]:
    return [
        Row((name, meta_hash[:12], str(owners)), reports, total, covered)
        for name, meta_hash, owners, reports, total, covered in conn.execute(
            "SELECT b.name, b.meta_hash, (SELECT count(*) FROM owners o WHERE o.binary_id = b.id), "
            "b.reports, b.statements, b.covered FROM binaries b ORDER BY b.name, b.meta_hash"
        )
    ]


def namespace_rows(conn: Database) -> list[Row]:
    """Per namespace: each binary's counters merged over its owners there, counted once.

    Binary by binary (each decoded once), namespace by namespace within it."""
    per_binary: dict[int, dict[str, list[bytes]]] = {}
    reports: dict[str, int] = {}
    for ns, binary_id, blob, count in conn.execute(
        "SELECT namespace, binary_id, counts_blob, reports FROM owners ORDER BY binary_id"
    ):
        per_binary.setdefault(binary_id, {}).setdefault(ns, []).append(blob)
        reports[ns] = reports.get(ns, 0) + count
    models = BinaryModels(conn, stored_excludes(conn), size=1)
    numbers: dict[str, list[int]] = {ns: [0, 0, 0] for ns in reports}
    for binary_id, by_namespace in per_binary.items():
        model = models.get(binary_id)
        for ns, owner_blobs in by_namespace.items():
            counts = combine([blobs.unpack_counts(b) for b in owner_blobs], model.meta.mode)
            found = totals(model.meta, counts, model.app)
            numbers[ns][0] += 1
            numbers[ns][1] += found.statements
            numbers[ns][2] += found.covered
    return [
        Row((ns or HOST, str(numbers[ns][0])), reports[ns], numbers[ns][1], numbers[ns][2])
        for ns in sorted(numbers)
    ]


def render(view: Overview, output_format: str, console: Console) -> None:
    """Print `view` as a rich table, JSON or a markdown table."""
    labels = LABELS[view.by]
    if output_format == "json":
        data = asdict(view)
        data["percent"] = round(view.percent, 2)
        data["rows"] = [
            {
                **dict(zip(labels, row.labels, strict=True)),
                "entries": row.entries,
                "statements": row.statements,
                "covered": row.covered,
                "percent": round(row.percent, 2),
            }
            for row in view.rows
        ]
        # ASCII only: rich would print C1 and bidirectional controls in names raw.
        console.print_json(json.dumps(data), ensure_ascii=True)
        return
    header = (*labels, "entries", "statements", "covered", "coverage")
    cells = [
        (*r.labels, str(r.entries), str(r.statements), str(r.covered), f"{r.percent:.1f}%")
        for r in view.rows
    ]
    footer = (
        f"{view.entries} entries, {view.owners} owners, {view.binaries} binaries: "
        f"{view.covered}/{view.statements} statements covered ({view.percent:.1f}%, each binary "
        f"counted once); {view.errors} entries with errors; {view.host_duplicates} host entries "
        "dropped as duplicates\n" + _sources_line(view.sources)
    )
    if output_format == "markdown":
        console.print(
            markdown_table(header, cells) + f"\n\n{footer}",
            markup=False,
            highlight=False,
            emoji=False,
        )
        return
    table = Table(title=f"Coverage by {view.by}")
    for column in header:
        table.add_column(column, justify="left" if column in labels else "right")
    for row in cells:
        table.add_row(*(terminal_cell(c) for c in row))
    console.print(table)
    console.print(escape(footer), highlight=False)
