"""What the report shows, read from the database into plain rows (no HTML here)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from coverage_collector.database import Database
from coverage_collector.summary import namespace_rows

HIDDEN_NAMESPACE_PREFIXES = ("e2e-", "openshift-must-gather-")
HIDDEN_BINARIES = ("openshift-tests",)


def percent(covered: int, statements: int) -> float:
    return round(100.0 * covered / statements, 1) if statements else 0.0


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


def load_index(conn: Database, collection: str) -> IndexData:
    """Read the owners and binaries of the compiled collection."""
    first, last, entries, instances = conn.execute(
        "SELECT coalesce(min(nullif(first_seen, '')), ''), coalesce(max(last_seen), ''), "
        "count(*), coalesce(sum(instances), 0) FROM reports"
    ).fetchone()
    errors = conn.execute("SELECT count(DISTINCT item) FROM errors").fetchone()[0]
    data = IndexData(
        os.path.basename(os.path.abspath(collection)), first, last, entries, instances, errors, 0
    )
    for row in conn.execute(
        "SELECT b.id, b.name, b.meta_hash, b.mode, b.statements, b.covered, "
        "coalesce(s.confidence, 'none'), coalesce(s.resolved, 0), coalesce(s.missing, 0), "
        "coalesce(s.unresolved, 0), coalesce(s.notes, ''), coalesce(s.commit_id, ''), "
        "coalesce(s.source_url, '') FROM binaries b LEFT JOIN binary_sources s "
        "ON s.binary_id = b.id ORDER BY b.name, b.meta_hash"
    ):
        (
            bid,
            name,
            meta_hash,
            mode,
            total,
            covered,
            confidence,
            resolved,
            missing,
            unresolved,
            notes,
            commit,
            url,
        ) = row
        data.binaries[str(bid)] = {
            "id": bid,
            "name": name,
            "hash": meta_hash,
            "mode": mode,
            "statements": total,
            "covered": covered,
            "percent": percent(covered, total),
            "confidence": confidence,
            "resolved": resolved,
            "missing": missing,
            "unresolved": unresolved,
            "notes": notes,
            "commit": commit,
            "source": url,
            "page": f"binaries/{meta_hash}.html",
        }
        data.unresolved += confidence == "none"
    errors_by_owner = dict(
        conn.execute(
            "SELECT x.owner_id, count(*) FROM owner_reports x JOIN reports r ON r.id = x.report_id "
            "JOIN errors e ON e.stage = 'compile' AND e.item = r.dir_name GROUP BY x.owner_id"
        )
    )
    for row in conn.execute(
        "SELECT o.id, o.namespace, o.owner_type, o.owner_name, o.binary_name, o.binary_id, "
        "o.image, o.images_json, o.pods_json, o.containers_json, o.hosts_json, o.reports, "
        "o.instances, o.statements, o.covered, o.first_seen, o.last_seen FROM owners o "
        "ORDER BY o.namespace, o.owner_name, o.binary_name"
    ):
        (
            oid,
            ns,
            kind,
            name,
            binary,
            bid,
            image,
            images,
            pods,
            containers,
            hosts,
            reports,
            instances,
            total,
            covered,
            first_seen,
            last_seen,
        ) = row
        data.owners.append(
            {
                "id": oid,
                "namespace": ns,
                "type": kind,
                "owner": name,
                "binary": binary,
                "binaryId": str(bid),
                "image": image,
                "images": json.loads(images),
                "pods": json.loads(pods),
                "containers": json.loads(containers),
                "hosts": json.loads(hosts),
                "reports": reports,
                "instances": instances,
                "statements": total,
                "covered": covered,
                "percent": percent(covered, total),
                "firstSeen": first_seen,
                "lastSeen": last_seen,
                "errors": errors_by_owner.get(oid, 0),
                "testNamespace": ns.startswith(HIDDEN_NAMESPACE_PREFIXES),
                "testBinary": binary in HIDDEN_BINARIES,
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
        for row in namespace_rows(conn)
    ]
    return data


@dataclass
class BinaryPage:
    """One binary's report: its owners and files."""

    binary: dict[str, Any]
    owners: list[dict[str, Any]]
    files: list[dict[str, Any]]


def load_binary(conn: Database, binary_id: int, index: IndexData) -> BinaryPage:
    binary = index.binaries[str(binary_id)]
    owners = [o for o in index.owners if o["binaryId"] == str(binary_id)]
    files = [
        {
            "id": fid,
            "path": path,
            "statements": total,
            "covered": covered,
            "percent": percent(covered, total),
            "status": status or "unresolved",
            "method": method or "",
            "source": source or "",
            **({"reason": reason} if reason else {}),
        }
        for fid, path, total, covered, status, method, source, reason in conn.execute(
            "SELECT f.file_id, f.path, f.statements, f.covered, x.status, x.method, "
            "x.source_path, x.reason FROM binary_files f LEFT JOIN file_sources x "
            "ON x.binary_id = f.binary_id AND x.file_id = f.file_id "
            "WHERE f.binary_id = ? ORDER BY f.path",
            (binary_id,),
        )
    ]
    return BinaryPage(binary, owners, files)


def load_functions(conn: Database, binary_id: int) -> list[list[Any]]:
    """The binary's named functions as [name, file id, line, statements, covered, executions]:
    read only when its page is written (an unchanged binary never needs them)."""
    return [
        list(row)
        for row in conn.execute(
            "SELECT name, file_id, start_line, statements, covered, executions "
            "FROM binary_functions WHERE binary_id = ? AND literal = 0 "
            "ORDER BY file_id, start_line",
            (binary_id,),
        )
    ]
