"""`cluster summary`: the compiled numbers at a glance, read from the database.

Rows per owner, binary or namespace; totals always count each binary once (a
namespace's total counts each binary running in it once).

The stage (`Options`, `Summary`, `run`) prints the overview: its output is the table, JSON
or Markdown on stdout, not lines to log.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coverage_collector import blobs, database
from coverage_collector.analysis import totals
from coverage_collector.compile.store import BinaryModels, stored_excludes
from coverage_collector.database import Database, binaries, entries, errors, owners
from coverage_collector.results import CountsMerge, Numbers
from coverage_collector.stage import ExitFromOk
from coverage_collector.textformat import markdown_table, terminal_cell

LABELS = {
    "owner": ("namespace", "type", "owner", "binary"),
    "binary": ("binary", "hash", "owners"),
    "namespace": ("namespace", "binaries"),
    "cluster": ("cluster", "binaries", "first_seen", "last_seen"),
}
"""The columns that name a row, per grouping."""
HOST = "(host)"
UNKNOWN_CLUSTER = "(not recorded)"
"""The cluster of entries downloaded before collections recorded clusters."""


@dataclass(frozen=True)
class Row:
    labels: tuple[str, ...]
    entries: int
    statements: int
    covered: int

    @property
    def numbers(self) -> Numbers:
        return Numbers(self.statements, self.covered)


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
    def numbers(self) -> Numbers:
        return Numbers(self.statements, self.covered)


def overview(collection: str, by: str = "owner") -> Overview:
    """Read the summary of the compiled `collection`, grouped `by` owner, binary, namespace
    or cluster."""
    with database.open_readonly(collection) as db:
        rows = {
            "owner": _owner_rows,
            "binary": _binary_rows,
            "namespace": namespace_rows,
            "cluster": cluster_rows,
        }[by](db)
        span = entries.collection_span(db)
        totals = binaries.collection_totals(db)
        return Overview(
            by,
            span.entries,
            owners.owner_count(db),
            totals.binaries,
            totals.statements,
            totals.covered,
            errors.items_with_errors(db, entries.COMPILE_STAGE),
            span.host_duplicates,
            rows,
            _sources(db),
        )


def _sources(conn: Database) -> dict[str, int]:
    found = database.source_counts(conn)
    counts = dict(found.binaries)
    if counts:
        counts.update(
            files_resolved=found.files_resolved,
            files_missing=found.files_missing,
            files_unresolved=found.files_unresolved,
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


def _owner_rows(db: Database) -> list[Row]:
    return [
        Row(
            (o.namespace or HOST, o.owner_type, o.owner_name, o.binary_name),
            o.entries,
            o.statements,
            o.covered,
        )
        for o in owners.owner_rows(db, order=owners.OwnerOrder.BY_NAME_THEN_KIND)
    ]


def _binary_rows(db: Database) -> list[Row]:
    per_binary = owners.owners_per_binary(db)
    return [
        Row(
            (b.name, b.meta_hash[:12], str(per_binary.get(b.id, 0))),
            b.entries,
            b.statements,
            b.covered,
        )
        for b in binaries.binary_rows(db)
    ]


def namespace_rows(db: Database) -> list[Row]:
    """Per namespace: each binary's counters merged over its owners there, counted once."""
    entry_counts: dict[str, int] = {}

    def counted() -> Iterator[tuple[str, int, bytes | None]]:
        for owner in owners.owner_counters_by_binary(db):
            entry_counts[owner.namespace] = entry_counts.get(owner.namespace, 0) + owner.entries
            yield owner.namespace, owner.binary_id, owner.counts_blob

    rolled = _roll_up(db, counted())
    return [
        Row((ns or HOST, str(up.binaries)), entry_counts[ns], up.statements, up.covered)
        for ns, up in sorted(rolled.items())
    ]


def cluster_rows(db: Database) -> list[Row]:
    """Per cluster: each binary's counters merged over its entries there, counted once, and
    when the cluster's processes were first and last seen."""
    entry_blobs = entries.entry_counters_by_binary(db)
    rolled = _roll_up(db, ((e.cluster, e.binary_id, e.counts_blob) for e in entry_blobs))
    rows = []
    for cluster in entries.cluster_rows(db):
        up = rolled.get(cluster.name, _RolledUp())
        labels = (
            cluster.name or UNKNOWN_CLUSTER,
            str(up.binaries),
            cluster.first_seen,
            cluster.last_seen,
        )
        rows.append(Row(labels, cluster.entries, up.statements, up.covered))
    return rows


@dataclass
class _RolledUp:
    """One group's numbers, each binary counted once, and how many binaries ran in it."""

    numbers: Numbers = field(default_factory=Numbers)
    binaries: int = 0

    @property
    def statements(self) -> int:
        return self.numbers.statements

    @property
    def covered(self) -> int:
        return self.numbers.covered


def _roll_up(db: Database, items: Iterable[tuple[str, int, bytes | None]]) -> dict[str, _RolledUp]:
    """Per group: the counters of each binary merged over the group's items, counted once.

    `items` are (group, binary id, packed counters) ordered by binary, then group: one binary
    is decoded and held at a time, and one merged vector (a binary's run in one group is
    finished before the next starts). Never every item's counters at once, nor one vector
    per group: a binary can run in hundreds of namespaces (each cluster's e2e ones).
    """
    models = BinaryModels(db, stored_excludes(db), size=1)
    rolled: dict[str, _RolledUp] = {}
    done: set[tuple[int, str]] = set()
    for key, run in itertools.groupby(items, key=lambda item: (item[1], item[0])):
        if key in done:
            raise ValueError(f"roll-up items out of order: binary {key[0]} again in {key[1]!r}")
        done.add(key)
        binary_id, group = key
        model = models.get(binary_id)
        merge = CountsMerge(model.meta.mode)
        for _, _, blob in run:
            merge.add(blobs.unpack_counts(blob))
        found = rolled.setdefault(group, _RolledUp())
        found.numbers += totals(model.meta, merge.total, model.app)
        found.binaries += 1
    return rolled


def render(view: Overview, output_format: str, console: Console) -> None:
    """Print `view` as a rich table, JSON or a markdown table."""
    labels = LABELS[view.by]
    if output_format == "json":
        data = asdict(view)
        data["percent"] = view.numbers.percent_rounded(2)
        data["rows"] = [
            {
                **dict(zip(labels, row.labels, strict=True)),
                "entries": row.entries,
                "statements": row.statements,
                "covered": row.covered,
                "percent": row.numbers.percent_rounded(2),
            }
            for row in view.rows
        ]
        # ASCII only: rich would print C1 and bidirectional controls in names raw.
        console.print_json(json.dumps(data), ensure_ascii=True)
        return
    header = (*labels, "entries", "statements", "covered", "coverage")
    cells = [
        (*r.labels, str(r.entries), str(r.statements), str(r.covered), r.numbers.percent_text())
        for r in view.rows
    ]
    footer = (
        f"{view.entries} entries, {view.owners} owners, {view.binaries} binaries: "
        f"{view.covered}/{view.statements} statements covered "
        f"({view.numbers.percent_text()}, each binary "
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


TABLE_WIDTH = 160
"""Columns of the table when stdout is not a terminal (logs, pipes): no folded cells."""


@dataclass(frozen=True, kw_only=True)
class Options:
    """Which collection, grouped by owner, binary, namespace or cluster, in which format."""

    collection: str
    by: str = "owner"
    output_format: str = "table"
    """table, json or markdown."""


@dataclass(frozen=True)
class Summary(ExitFromOk):
    """The overview `run` printed."""

    overview: Overview

    @property
    def ok(self) -> bool:
        """Always: reading the numbers refuses nothing (compile's errors are counted in
        them, and the command runner fails on them)."""
        return True

    def lines(self) -> list[str]:
        """Nothing more to say: the overview went to stdout."""
        return []


def run(options: Options) -> Summary:
    """Print the overview of `options.collection` on stdout."""
    view = overview(options.collection, options.by)
    width = None if sys.stdout.isatty() else TABLE_WIDTH
    render(view, options.output_format, Console(width=width, soft_wrap=True))
    return Summary(view)
