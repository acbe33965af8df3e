"""What the report shows, read from the database into plain rows (no HTML here)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from coverage_collector.database import Database, binaries, entries, errors, owners, sources
from coverage_collector.results import Numbers
from coverage_collector.summary import namespace_rows

HIDDEN_NAMESPACE_PREFIXES = ("e2e-", "openshift-must-gather-")
HIDDEN_BINARIES = ("openshift-tests",)


def percent(covered: int, statements: int) -> float:
    """Return the percent the page data carries: one decimal (results.py's rule)."""
    return Numbers(statements, covered).percent_rounded(1)


@dataclass
class IndexData:
    """Everything index.html shows; `owners` and `binaries` go to the page as JSON."""

    title: str
    first_seen: str
    last_seen: str
    entries: int
    instances: int
    errors: int
    unresolved: int
    owners: list[dict[str, Any]] = field(default_factory=list)
    binaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    namespaces: list[dict[str, Any]] = field(default_factory=list)


def load_index(db: Database, collection: str) -> IndexData:
    """Read the owners and binaries of the compiled collection."""
    span = entries.collection_span(db)
    data = IndexData(
        os.path.basename(os.path.abspath(collection)),
        span.first_seen,
        span.last_seen,
        span.entries,
        span.instances,
        errors.items_with_errors(db),
        0,
    )
    resolved = sources.binary_sources(db)
    for binary in binaries.binary_rows(db):
        source = resolved.get(binary.id) or sources.BinarySourceRow.not_resolved(binary.id)
        data.binaries[str(binary.id)] = {
            "id": binary.id,
            "name": binary.name,
            "hash": binary.meta_hash,
            "mode": binary.mode,
            "statements": binary.statements,
            "covered": binary.covered,
            "percent": percent(binary.covered, binary.statements),
            "confidence": source.confidence,
            "resolved": source.resolved,
            "missing": source.missing,
            "unresolved": source.unresolved,
            "notes": source.notes,
            "commit": source.commit_id,
            "source": source.source_url,
            "page": f"binaries/{binary.meta_hash}.html",
        }
        data.unresolved += source.confidence == "none"
    errors_by_owner = errors.compile_errors_by_owner(db)
    for owner in owners.owner_rows(db, order=owners.OwnerOrder.BY_NAME):
        data.owners.append(
            {
                "id": owner.id,
                "namespace": owner.namespace,
                "type": owner.owner_type,
                "owner": owner.owner_name,
                "binary": owner.binary_name,
                "binaryId": str(owner.binary_id),
                "image": owner.image,
                "images": list(owner.images),
                "pods": list(owner.pods),
                "containers": list(owner.containers),
                "hosts": list(owner.hosts),
                "reports": owner.entries,
                "instances": owner.instances,
                "statements": owner.statements,
                "covered": owner.covered,
                "percent": percent(owner.covered, owner.statements),
                "firstSeen": owner.first_seen,
                "lastSeen": owner.last_seen,
                "errors": errors_by_owner.get(owner.id, 0),
                "testNamespace": owner.namespace.startswith(HIDDEN_NAMESPACE_PREFIXES),
                "testBinary": owner.binary_name in HIDDEN_BINARIES,
            }
        )
    data.namespaces = [
        {
            "namespace": row.labels[0],
            "binaries": int(row.labels[1]),
            "entries": row.entries,
            "statements": row.statements,
            "covered": row.covered,
            "percent": percent(row.covered, row.statements),
        }
        for row in namespace_rows(db)
    ]
    return data


@dataclass
class BinaryPage:
    """One binary's report: its owners and files."""

    binary: dict[str, Any]
    owners: list[dict[str, Any]]
    files: list[dict[str, Any]]


def load_binary(db: Database, binary_id: int, index: IndexData) -> BinaryPage:
    binary = index.binaries[str(binary_id)]
    owners_of = [o for o in index.owners if o["binaryId"] == str(binary_id)]
    resolved = sources.file_sources(db, binary_id)
    files = []
    for file in binaries.binary_files(db, binary_id):
        source = resolved.get(file.file_id)
        files.append(
            {
                "id": file.file_id,
                "path": file.path,
                "statements": file.statements,
                "covered": file.covered,
                "percent": percent(file.covered, file.statements),
                "status": (source.status if source else "") or "unresolved",
                "method": source.method if source else "",
                "source": source.source_path if source else "",
                **({"reason": source.reason} if source and source.reason else {}),
            }
        )
    return BinaryPage(binary, owners_of, files)


def load_functions(db: Database, binary_id: int) -> list[list[Any]]:
    """The binary's named functions as [name, file id, line, statements, covered, executions]:
    read only when its page is written (an unchanged binary never needs them)."""
    return [
        [f.name, f.file_id, f.start_line, f.statements, f.covered, f.executions]
        for f in binaries.named_functions(db, binary_id)
    ]
