"""What the report shows, read from the database into frozen rows (no HTML here).

Each row type is a frozen dataclass whose `to_json()` is the one place that names the keys
the page's script reads, in the order the pages have always carried them (the pages stay
byte-identical). A row never changes once built: the difference with a baseline is a new row
with a `change` (report/delta.py), and what rendering finds out about a file (its source was
refused, unreadable, or its coverage landed in a group) is a new row too (`dataclasses.replace`).
Functions travel as positional arrays, to keep pages small: their positions are named in
report/fields.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from coverage_collector.database import Database, binaries, entries, errors, owners, sources
from coverage_collector.report.fields import TALLY, FunctionRow
from coverage_collector.report.upstream import Upstream, upstream
from coverage_collector.results import Numbers
from coverage_collector.selection import checkout_relative
from coverage_collector.summary import namespace_rows

HIDDEN_NAMESPACE_PREFIXES = ("e2e-", "openshift-must-gather-")
HIDDEN_BINARIES = ("openshift-tests",)

Json = dict[str, Any]


def percent(covered: int, statements: int) -> float:
    """Return the percent the page data carries: one decimal (results.py's rule)."""
    return Numbers(statements, covered).percent_rounded(1)


@dataclass(frozen=True)
class Tallies:
    """A row's statements per category since the baseline (the `diff` of a row's JSON)."""

    newly: int
    lost: int
    still: int
    never: int
    new_code: int
    new_covered: int
    removed: int
    base_statements: int
    base_covered: int
    rebuilt: bool | None = None
    """Owners only: whether the head build differs from the baseline's."""

    def to_json(self) -> Json:
        row: Json = {
            "newly": self.newly,
            "lost": self.lost,
            "still": self.still,
            "never": self.never,
            "newCode": self.new_code,
            "newCovered": self.new_covered,
            "removed": self.removed,
            "baseStatements": self.base_statements,
            "baseCovered": self.base_covered,
        }
        if self.rebuilt is not None:
            row["rebuilt"] = self.rebuilt
        return row

    def to_row(self) -> list[Any]:
        """The numbers as a list, in report/fields.py's TALLY order (the index's data files
        carry one per owner)."""
        named = self.to_json()
        return [named.get(name) for name in TALLY]


@dataclass(frozen=True)
class Change:
    """A file's or an owner's coverage change since the baseline, as the Δ column shows it."""

    delta: float
    """In points, rounded to 4 decimals."""
    delta_text: str
    direction: str
    """'up', 'down' or '' (see delta.direction)."""
    changed: bool
    tallies: Tallies | None
    """None: the row is not in the comparison."""

    def to_json(self) -> Json:
        return {
            "delta": self.delta,
            "deltaText": self.delta_text,
            "direction": self.direction,
            "changed": self.changed,
            "diff": self.tallies.to_json() if self.tallies else None,
        }


@dataclass(frozen=True)
class OwnerChange(Change):
    """An owner's change, with its baseline coverage (None: a new owner, or not compared)."""

    base: float | None = None
    base_text: str = ""

    def to_json(self) -> Json:
        return {"base": self.base, "baseText": self.base_text, **super().to_json()}


@dataclass(frozen=True)
class OwnerRow:
    """One owner (a workload running one binary) on the index."""

    id: int
    namespace: str
    type: str
    owner: str
    binary: str
    binary_id: str
    """The key of its binary in `IndexData.binaries` (a string, as a JSON object key)."""
    image: str
    images: tuple[str, ...]
    pods: tuple[str, ...]
    containers: tuple[str, ...]
    hosts: tuple[str, ...]
    entries: int
    instances: int
    statements: int
    covered: int
    percent: float
    first_seen: str
    last_seen: str
    errors: int
    test_namespace: bool
    test_binary: bool
    change: OwnerChange | None = None
    clusters: tuple[str, ...] = ()
    """The clusters its process instances ran in (download's prefixes)."""

    def to_json(self) -> Json:
        row: Json = {
            "id": self.id,
            "namespace": self.namespace,
            "type": self.type,
            "owner": self.owner,
            "binary": self.binary,
            "binaryId": self.binary_id,
            "image": self.image,
            "images": list(self.images),
            "pods": list(self.pods),
            "containers": list(self.containers),
            "hosts": list(self.hosts),
            "reports": self.entries,
            "instances": self.instances,
            "statements": self.statements,
            "covered": self.covered,
            "percent": self.percent,
            "firstSeen": self.first_seen,
            "lastSeen": self.last_seen,
            "errors": self.errors,
            "testNamespace": self.test_namespace,
            "testBinary": self.test_binary,
            "clusters": list(self.clusters),
        }
        if self.change is not None:
            row.update(self.change.to_json())
        return row


@dataclass(frozen=True)
class BinaryRow:
    """One binary (one covmeta hash) and where its source was resolved."""

    id: int
    name: str
    meta_hash: str
    mode: str
    statements: int
    covered: int
    percent: float
    confidence: str
    resolved: int
    missing: int
    unresolved: int
    notes: str
    commit: str
    source: str
    checkout: str = ""
    """Its main checkout, relative to the collection ('' if none): not in the page data."""

    @property
    def page(self) -> str:
        """Its page, relative to the index."""
        return f"binaries/{self.meta_hash}.html"

    def to_json(self) -> Json:
        return {
            "id": self.id,
            "name": self.name,
            "hash": self.meta_hash,
            "mode": self.mode,
            "statements": self.statements,
            "covered": self.covered,
            "percent": self.percent,
            "confidence": self.confidence,
            "resolved": self.resolved,
            "missing": self.missing,
            "unresolved": self.unresolved,
            "notes": self.notes,
            "commit": self.commit,
            "source": self.source,
            "page": self.page,
        }


@dataclass(frozen=True)
class NamespaceRow:
    """One namespace: its binaries counted once each."""

    namespace: str
    binaries: int
    entries: int
    statements: int
    covered: int
    percent: float

    def to_json(self) -> Json:
        return {
            "namespace": self.namespace,
            "binaries": self.binaries,
            "entries": self.entries,
            "statements": self.statements,
            "covered": self.covered,
            "percent": self.percent,
        }


@dataclass(frozen=True)
class FileRow:
    """One file of a binary page: its numbers, how its source was resolved and, once
    rendered, what became of it (`refusal`, `problem`, `group`)."""

    id: int
    path: str
    statements: int
    covered: int
    percent: float
    status: str
    """'resolved', 'missing' or 'unresolved'."""
    method: str
    source: str
    """The resolved source path (what CollectionSources reads)."""
    reason: str = ""
    """Why resolution did not find the file."""
    change: Change | None = None
    refusal: str = ""
    """Why the source, resolved, was refused when read (sources/tree.py)."""
    problem: str = ""
    """Why the source, resolved, could not be read."""
    group: int | None = None
    """The id of the first file of the data file its coverage is in (`g<group>.js`)."""
    upstream: Upstream | None = None
    """The file in its repository at the binary's commit (only for hosts we can link)."""

    def to_json(self) -> Json:
        row: Json = {
            "id": self.id,
            "path": self.path,
            "statements": self.statements,
            "covered": self.covered,
            "percent": self.percent,
            "status": self.status,
            "method": self.method,
            "source": self.source,
        }
        if self.reason:
            row["reason"] = self.reason
        if self.upstream is not None:
            row["upstream"] = self.upstream.file_url
            row["anchor"] = self.upstream.line_anchor
        if self.change is not None:
            row.update(self.change.to_json())
        if self.refusal:
            row["reason"] = self.refusal  # a refusal is why the source is not shown
        if self.problem:
            row["problem"] = self.problem
        if self.group is not None:
            row["group"] = self.group
        return row


@dataclass(frozen=True)
class IndexData:
    """Everything index.html shows; `binaries` and `namespaces` go to the page as JSON, the
    owners to data files as columns (report/ownertable.py)."""

    title: str
    first_seen: str
    last_seen: str
    entries: int
    instances: int
    errors: int
    unresolved: int
    owners: tuple[OwnerRow, ...]
    binaries: dict[str, BinaryRow]
    """Binary id (as a string: a JSON object key) -> its row, in id order."""
    namespaces: tuple[NamespaceRow, ...]
    clusters: int = 0
    """Clusters recorded for the entries (0 when none was: one cluster, unnamed)."""

    def to_json(self) -> Json:
        """What index.html carries itself (without the owners)."""
        return {
            "binaries": {key: b.to_json() for key, b in self.binaries.items()},
            "namespaces": [n.to_json() for n in self.namespaces],
        }


def load_index(db: Database, collection: str) -> IndexData:
    """Read the owners and binaries of the compiled collection."""
    span = entries.collection_span(db)
    resolved = sources.binary_sources(db)
    binary_rows: dict[str, BinaryRow] = {}
    for binary in binaries.binary_rows(db):
        source = resolved.get(binary.id) or sources.BinarySourceRow.not_resolved(binary.id)
        binary_rows[str(binary.id)] = BinaryRow(
            id=binary.id,
            name=binary.name,
            meta_hash=binary.meta_hash,
            mode=binary.mode,
            statements=binary.statements,
            covered=binary.covered,
            percent=percent(binary.covered, binary.statements),
            confidence=source.confidence,
            resolved=source.resolved,
            missing=source.missing,
            unresolved=source.unresolved,
            notes=source.notes,
            commit=source.commit_id,
            source=source.source_url,
            checkout=source.checkout,
        )
    errors_by_owner = errors.compile_errors_by_owner(db)
    owner_rows = tuple(
        OwnerRow(
            id=owner.id,
            namespace=owner.namespace,
            type=owner.owner_type,
            owner=owner.owner_name,
            binary=owner.binary_name,
            binary_id=str(owner.binary_id),
            image=owner.image,
            images=tuple(owner.images),
            pods=tuple(owner.pods),
            containers=tuple(owner.containers),
            hosts=tuple(owner.hosts),
            entries=owner.entries,
            instances=owner.instances,
            statements=owner.statements,
            covered=owner.covered,
            percent=percent(owner.covered, owner.statements),
            first_seen=owner.first_seen,
            last_seen=owner.last_seen,
            errors=errors_by_owner.get(owner.id, 0),
            test_namespace=owner.namespace.startswith(HIDDEN_NAMESPACE_PREFIXES),
            test_binary=owner.binary_name in HIDDEN_BINARIES,
            clusters=owner.clusters,
        )
        for owner in owners.owner_rows(db, order=owners.OwnerOrder.BY_NAME)
    )
    namespaces = tuple(
        NamespaceRow(
            namespace=row.labels[0],
            binaries=int(row.labels[1]),
            entries=row.entries,
            statements=row.statements,
            covered=row.covered,
            percent=percent(row.covered, row.statements),
        )
        for row in namespace_rows(db)
    )
    return IndexData(
        title=os.path.basename(os.path.abspath(collection)),
        first_seen=span.first_seen,
        last_seen=span.last_seen,
        entries=span.entries,
        instances=span.instances,
        errors=errors.items_with_errors(db),
        unresolved=sum(b.confidence == "none" for b in binary_rows.values()),
        owners=owner_rows,
        binaries=binary_rows,
        namespaces=namespaces,
        clusters=len({cluster for owner in owner_rows for cluster in owner.clusters}),
    )


@dataclass(frozen=True)
class BinaryPage:
    """One binary's report: its owners and files."""

    binary: BinaryRow
    owners: tuple[OwnerRow, ...]
    files: tuple[FileRow, ...]


def load_binary(db: Database, binary_id: int, index: IndexData) -> BinaryPage:
    """The binary's page as resolution left it (before any baseline or rendering)."""
    key = str(binary_id)
    resolved = sources.file_sources(db, binary_id)
    files = []
    binary = index.binaries[key]
    for file in binaries.binary_files(db, binary_id):
        source = resolved.get(file.file_id)
        status = (source.status if source else "") or "unresolved"
        inside = (
            checkout_relative(source.source_path, [binary.checkout])
            if source and status == "resolved" and binary.checkout
            else None
        )
        files.append(
            FileRow(
                id=file.file_id,
                path=file.path,
                statements=file.statements,
                covered=file.covered,
                percent=percent(file.covered, file.statements),
                status=status,
                method=source.method if source else "",
                source=source.source_path if source else "",
                reason=source.reason if source else "",
                upstream=upstream(binary.source, binary.commit, inside) if inside else None,
            )
        )
    owners_of = tuple(o for o in index.owners if o.binary_id == key)
    return BinaryPage(binary, owners_of, tuple(files))


def load_functions(db: Database, binary_id: int) -> list[FunctionRow]:
    """The binary's named functions: read only when its page is written (an unchanged
    binary never needs them)."""
    return [
        FunctionRow(f.name, f.file_id, f.start_line, f.statements, f.covered, f.executions)
        for f in binaries.named_functions(db, binary_id)
    ]
