"""Compile's reads and writes of the database: one work item per transaction.

Writes that belong together are one transaction: an entry's report, its instances, its
errors and its binary (if new); one binary's merged numbers together with every owner of
it that changed (`binary_transaction`). A compile killed or failing at any moment (a full
disk) leaves a database that every stage can read and that the next compile completes.
Every string stored is valid text: names that were not UTF-8 are escaped (`names`).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np

from coverage_collector import blobs, database
from coverage_collector.compiler import stats
from coverage_collector.compiler.decode import DecodedEntry
from coverage_collector.compiler.grouping import (
    Group,
    OwnerIdentity,
    ReportRow,
    program_name,
    source_key,
)
from coverage_collector.compiler.names import decode_safe_meta, storable
from coverage_collector.compiler.scan import RefusedEntry
from coverage_collector.compiler.stats import DEFAULT_EXCLUDES
from coverage_collector.covdata.model import BoolArray, MetaFile
from coverage_collector.database import Database

STAGE = "compile"


@dataclass(frozen=True)
class StoredReport:
    """What the database knows about an entry before this run."""

    id: int
    stat_sig: str
    input_hash: str
    is_host: bool
    view: dict[str, str]


def stored_reports(conn: Database) -> dict[str, StoredReport]:
    """Return the reports already compiled, by entry name."""
    rows = conn.execute(
        "SELECT id, dir_name, stat_sig, input_hash, namespace, hostname, container_name, "
        "image, binary_name, pod_name, is_host, explicit_owner_kind, explicit_owner_name "
        "FROM reports"
    )
    return {
        name: StoredReport(
            rid,
            sig,
            input_hash,
            bool(is_host),
            {
                "namespace": ns,
                "node": host,
                "container": container,
                "image": image,
                "binary": binary or container,
                "pod": pod,
                "explicit_kind": kind,
                "explicit_name": owner,
            },
        )
        for (
            rid,
            name,
            sig,
            input_hash,
            ns,
            host,
            container,
            image,
            binary,
            pod,
            is_host,
            kind,
            owner,
        ) in rows
    }


def delete_reports(conn: Database, names: Iterable[str]) -> None:
    """Forget entries that are gone from the collection."""
    for name in names:
        with conn.transaction():
            conn.execute("DELETE FROM reports WHERE dir_name = ?", (name,))
            conn.execute("DELETE FROM errors WHERE stage = ? AND item = ?", (STAGE, name))


def record_refused_entries(conn: Database, refused: Iterable[RefusedEntry]) -> None:
    """Record the entry directories that cannot be reports (their errors have no report
    row), replacing those of earlier runs: a directory renamed or removed is forgotten."""
    with conn.transaction():
        conn.execute(
            "DELETE FROM errors WHERE stage = ? AND item NOT IN (SELECT dir_name FROM reports)",
            (STAGE,),
        )
        conn.executemany(
            "INSERT INTO errors (stage, item, message) VALUES (?, ?, ?)",
            [(STAGE, r.item, r.defect) for r in refused],
        )


def write_report(conn: Database, entry: DecodedEntry) -> None:
    """Store one decoded entry (and its binary, if new) in one transaction."""
    meta = entry.metadata
    is_host = meta.host_process or not meta.namespace
    with conn.transaction():
        binary_id = _ensure_binary(conn, entry) if not entry.failed else None
        values = {
            "dir_name": entry.name,
            "binary_id": binary_id,
            "namespace": meta.namespace,
            "pod_name": meta.pod_name,
            "container_name": meta.container_name,
            "image": meta.image,
            "binary_name": meta.binary_name,
            "hostname": meta.hostname,
            "is_host": int(is_host),
            "explicit_owner_kind": meta.owner_kind,
            "explicit_owner_name": meta.owner_name,
            "collected_at": meta.collected_at,
            "first_seen": meta.first_seen or meta.collected_at,
            "last_seen": meta.last_seen or meta.collected_at,
            "source_key": source_key(
                meta.image,
                is_host,
                program_name(
                    meta.binary_name,
                    meta.container_name,
                    entry.binary.meta_hash if entry.binary else "",
                ),
            ),
            **entry.sources.values(),
            "instances": len(entry.instances),
            "counts_blob": None if entry.failed else entry.counts_blob,
            "statements": entry.statements,
            "covered": entry.covered,
            "status": entry.status,
            "error_msg": storable("; ".join(entry.problems)),
            "stat_sig": entry.stat_sig,
            "input_hash": "" if entry.failed else entry.input_hash,
            "metadata_hash": entry.metadata_hash,
        }
        columns = ", ".join(values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "dir_name")
        (report_id,) = conn.execute(
            f"INSERT INTO reports ({columns}) VALUES ({', '.join('?' * len(values))}) "
            f"ON CONFLICT(dir_name) DO UPDATE SET {updates} RETURNING id",
            list(values.values()),
        ).fetchone()
        conn.execute("DELETE FROM instances WHERE report_id = ?", (report_id,))
        conn.executemany(
            "INSERT INTO instances VALUES (?, ?, ?, ?, ?)",
            [
                (report_id, storable(i.counter_file), i.pid, i.discovered_ns, i.size)
                for i in entry.instances
            ],
        )
        conn.execute("DELETE FROM errors WHERE stage = ? AND item = ?", (STAGE, entry.name))
        conn.executemany(
            "INSERT INTO errors (stage, item, message) VALUES (?, ?, ?)",
            [(STAGE, entry.name, storable(problem)) for problem in entry.problems],
        )


def _ensure_binary(conn: Database, entry: DecodedEntry) -> int:
    binary = entry.binary
    assert binary is not None
    row = conn.execute(
        "SELECT id FROM binaries WHERE meta_hash = ?", (binary.meta_hash,)
    ).fetchone()
    if row is not None:
        return int(row[0])
    if binary.meta_blob is None:
        raise LookupError(f"binary {binary.meta_hash} vanished from the database")
    (binary_id,) = conn.execute(
        "INSERT INTO binaries (meta_hash, name, mode, granularity, n_units, n_funcs, meta_blob) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            binary.meta_hash,
            entry.metadata.binary_name,
            binary.mode,
            binary.granularity,
            binary.n_units,
            binary.n_funcs,
            binary.meta_blob,
        ),
    ).fetchone()
    return int(binary_id)


def known_binaries(conn: Database) -> frozenset[str]:
    return frozenset(h for (h,) in conn.execute("SELECT meta_hash FROM binaries"))


def compiled_reports(conn: Database) -> list[ReportRow]:
    """Return every report with usable counters, for grouping."""
    rows = conn.execute(
        "SELECT r.id, r.dir_name, r.binary_id, b.meta_hash, r.namespace, r.pod_name, "
        "r.container_name, r.image, r.binary_name, r.hostname, r.is_host, "
        "r.explicit_owner_kind, r.explicit_owner_name, r.first_seen, r.last_seen, "
        "r.instances, r.input_hash, r.metadata_hash, r.source_key, "
        "r.source_url, r.source_commit, r.software_group, r.software_key "
        "FROM reports r JOIN binaries b ON b.id = r.binary_id "
        "WHERE r.status != 'error' ORDER BY r.dir_name"
    )
    return [
        ReportRow(*row[:10], bool(row[10]), *row[11:19], sources=tuple(row[19:]))  # type: ignore[arg-type]
        for row in rows
    ]


def mark_duplicates(conn: Database, duplicates: dict[int, int]) -> None:
    """Record which host reports are the same process as a pod report."""
    current = dict(
        conn.execute("SELECT id, duplicate_of FROM reports WHERE duplicate_of IS NOT NULL")
    )
    if current == duplicates:
        return
    with conn.transaction():
        conn.execute("UPDATE reports SET duplicate_of = NULL WHERE duplicate_of IS NOT NULL")
        conn.executemany(
            "UPDATE reports SET duplicate_of = ? WHERE id = ?",
            [(pod, host) for host, pod in duplicates.items()],
        )


@dataclass(frozen=True)
class BinaryModel:
    """A binary's decoded units and the parts of it that are the application."""

    meta: MetaFile
    app: BoolArray
    files: stats.FileTable


def stored_excludes(conn: Database) -> tuple[str, ...]:
    """The `--exclude-file` globs the database was compiled with."""
    stored = database.get_setting(conn, "signature")
    return (
        tuple(json.loads(stored).get("excludes", DEFAULT_EXCLUDES)) if stored else DEFAULT_EXCLUDES
    )


class BinaryModels:
    """Decoded binaries, loaded from the database on demand (a few at a time)."""

    def __init__(self, conn: Database, excludes: tuple[str, ...], size: int = 8):
        self.conn = conn
        self.excludes = excludes
        self.size = size
        self._cache: OrderedDict[int, BinaryModel] = OrderedDict()

    def get(self, binary_id: int) -> BinaryModel:
        model = self._cache.get(binary_id)
        if model is None:
            row = self.conn.execute(
                "SELECT meta_blob FROM binaries WHERE id = ?", (binary_id,)
            ).fetchone()
            blob = None if row is None else row[0]
            meta = decode_safe_meta(blobs.unpack_bytes(blob), f"<binary {binary_id}>").meta
            app = stats.application_units(meta, self.excludes)
            model = BinaryModel(meta, app, stats.file_table(meta, app))
            self._cache[binary_id] = model
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(binary_id)
        return model


def binary_counts(conn: Database, binary_id: int) -> np.ndarray:
    """The binary's merged counters (every owner's), per unit."""
    row = conn.execute("SELECT counts_blob FROM binaries WHERE id = ?", (binary_id,)).fetchone()
    return blobs.unpack_counts(None if row is None else row[0])


@dataclass(frozen=True)
class GroupResult:
    counts: np.ndarray
    totals: stats.Totals
    files: stats.FileStats
    functions: stats.FunctionStats


def group_result(conn: Database, model: BinaryModel, group: Group) -> GroupResult:
    """Merge the counters of the group's reports and compute its numbers."""
    ids = [row.id for row in group.members]
    vectors = [
        blobs.unpack_counts(blob)
        for (blob,) in conn.execute(
            f"SELECT counts_blob FROM reports WHERE id IN ({', '.join('?' * len(ids))})", ids
        )
    ]
    counts = stats.combine(vectors, model.meta.mode)
    return GroupResult(
        counts,
        stats.totals(model.meta, counts, model.app),
        stats.file_stats(model.meta, counts, model.files, model.app),
        stats.function_stats(model.meta, counts, model.app),
    )


def binary_transaction(conn: Database) -> AbstractContextManager[None]:
    """One transaction for a binary's merged numbers and those of its changed owners: the
    database never holds owners newer than their binary, or a binary without its owners."""
    return conn.transaction()


def _require_transaction(conn: Database) -> None:
    if not conn.in_transaction:
        raise RuntimeError("owner and binary rows are written inside binary_transaction")


def stored_hashes(conn: Database, table: str, key: str) -> dict[object, str]:
    """Return `key -> input_hash` of the owners or binaries table; '' for a row without
    counters (never merged, or damaged), so that compile recomputes it."""
    return dict(
        conn.execute(
            f"SELECT {key}, CASE WHEN counts_blob IS NULL THEN '' ELSE input_hash END FROM {table}"
        )
    )


def _sorted_json(values: Iterable[str]) -> str:
    return json.dumps(sorted({v for v in values if v}))


def write_owner(
    conn: Database,
    identity: OwnerIdentity,
    group: Group,
    result: GroupResult,
    image: str,
    input_hash: str,
) -> None:
    """Store one owner, its membership and its file and function numbers.

    Runs inside the caller's transaction (`binary_transaction`): never half an owner.
    """
    _require_transaction(conn)
    members = group.members
    pods = {r.pod_name or r.hostname for r in members}
    values = {
        "group_key": identity.key,
        "namespace": identity.namespace,
        "owner_type": str(identity.owner.kind),
        "owner_name": identity.owner.name,
        "binary_name": identity.program,
        "binary_id": group.binary_id,
        "image": image,
        "images_json": _sorted_json(r.source_key for r in members),
        "pods_json": _sorted_json(pods),
        "pod_count": len(pods - {""}),
        "containers_json": _sorted_json(r.container_name or r.program for r in members),
        "hosts_json": _sorted_json(r.hostname for r in members),
        "reports": len(members),
        "instances": sum(r.instances for r in members),
        "statements": result.totals.statements,
        "covered": result.totals.covered,
        "coverage_pct": result.totals.percent,
        "counts_blob": blobs.pack_counts(result.counts),
        "first_seen": min((r.first_seen for r in members if r.first_seen), default=""),
        "last_seen": max((r.last_seen for r in members if r.last_seen), default=""),
        "input_hash": input_hash,
    }
    updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "group_key")
    (owner_id,) = conn.execute(
        f"INSERT INTO owners ({', '.join(values)}) VALUES ({', '.join('?' * len(values))}) "
        f"ON CONFLICT(group_key) DO UPDATE SET {updates} RETURNING id",
        list(values.values()),
    ).fetchone()
    for table in ("owner_reports", "owner_files", "owner_functions"):
        conn.execute(f"DELETE FROM {table} WHERE owner_id = ?", (owner_id,))
    conn.executemany("INSERT INTO owner_reports VALUES (?, ?)", [(owner_id, r.id) for r in members])
    conn.executemany(
        "INSERT INTO owner_files VALUES (?, ?, ?)",
        [(owner_id, file_id, covered) for file_id, covered in _nonzero(result.files.covered)],
    )
    fn = result.functions
    executed = fn.covered > 0
    conn.executemany(
        "INSERT INTO owner_functions VALUES (?, ?, ?, ?)",
        [
            (owner_id, func, covered, executions)
            for func, covered, executions in zip(
                fn.func_ids[executed].tolist(),
                fn.covered[executed].tolist(),
                fn.executions[executed].tolist(),
                strict=True,
            )
        ],
    )


def _nonzero(values: np.ndarray) -> list[tuple[int, int]]:
    """(index, value) of the non-zero `values`."""
    indexes = np.flatnonzero(values)
    return list(zip(indexes.tolist(), values[indexes].tolist(), strict=True))


def write_binary(
    conn: Database,
    model: BinaryModel,
    group: Group,
    result: GroupResult,
    input_hash: str,
) -> None:
    """Store a binary's merged counters and its per-file and per-function numbers.

    Runs inside the caller's transaction (`binary_transaction`), with its owners' writes.
    """
    _require_transaction(conn)
    names = [r.program for r in group.members]
    name = max(sorted(set(names)), key=names.count)
    conn.execute(
        "UPDATE binaries SET name = ?, counts_blob = ?, statements = ?, covered = ?, "
        "reports = ?, instances = ?, input_hash = ? WHERE id = ?",
        (
            name,
            blobs.pack_counts(result.counts),
            result.totals.statements,
            result.totals.covered,
            len(group.members),
            sum(r.instances for r in group.members),
            input_hash,
            group.binary_id,
        ),
    )
    conn.execute("DELETE FROM binary_files WHERE binary_id = ?", (group.binary_id,))
    conn.execute("DELETE FROM binary_functions WHERE binary_id = ?", (group.binary_id,))
    conn.executemany(
        "INSERT INTO binary_files VALUES (?, ?, ?, ?, ?)",
        [
            (group.binary_id, file_id, path, total, covered)
            for file_id, (path, total, covered) in enumerate(
                zip(
                    model.files.paths,
                    result.files.statements.tolist(),
                    result.files.covered.tolist(),
                    strict=True,
                )
            )
        ],
    )
    conn.executemany(
        "INSERT INTO binary_functions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(group.binary_id, *row) for row in function_rows(model, result.functions)],
    )


def function_rows(model: BinaryModel, fn: stats.FunctionStats) -> list[tuple[Any, ...]]:
    """Per function of `fn`: (function id, file id, package, name, is literal, start line,
    units, statements, covered, executions)."""
    meta = model.meta
    packages = [p.path for p in meta.packages]
    file_ids = model.files.string_to_file[meta.func_file[fn.func_ids]].tolist()
    return [
        (
            func,
            file_id,
            packages[int(meta.func_pkg[func])],
            meta.strings[int(meta.func_name[func])],
            int(meta.func_lit[func]),
            int(meta.start_line[meta.func_units[func]]) if units else 0,
            units,
            total,
            covered,
            executions,
        )
        for func, file_id, units, total, covered, executions in zip(
            fn.func_ids.tolist(),
            file_ids,
            np.diff(meta.func_units)[fn.func_ids].tolist(),
            fn.statements.tolist(),
            fn.covered.tolist(),
            fn.executions.tolist(),
            strict=True,
        )
    ]


def delete_stale(conn: Database, table: str, key: str, keep: Iterable[object]) -> int:
    """Delete rows of the owners or binaries table whose `key` is not in `keep`."""
    stale = set(stored_hashes(conn, table, key)) - set(keep)
    for value in stale:
        with conn.transaction():
            conn.execute(f"DELETE FROM {table} WHERE {key} = ?", (value,))
    return len(stale)


def delete_unused_binaries(conn: Database) -> int:
    """Delete binaries no report uses any more."""
    with conn.transaction():
        cursor = conn.execute(
            "DELETE FROM binaries WHERE id NOT IN "
            "(SELECT binary_id FROM reports WHERE binary_id IS NOT NULL)"
        )
    return cursor.rowcount


def update_image_sources(conn: Database, rows: list[ReportRow]) -> int:
    """Record info.json's source values per image (or `host:<binary>`); return rows changed.

    The newest report's non-empty value wins; an empty value never replaces one.
    """
    found: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: (r.last_seen, r.dir_name), reverse=True):
        values = found.setdefault(row.source_key, ["", "", "", ""])
        for i, value in enumerate(row.sources):
            values[i] = values[i] or value
    stored = {
        image: list(values)
        for image, *values in conn.execute(
            "SELECT image, source_repo, commit_id, software_group, software_key FROM image_sources"
        )
    }
    changed = 0
    for image, values in sorted(found.items()):
        old = stored.get(image, ["", "", "", ""])
        new = [v or o for v, o in zip(values, old, strict=True)]
        if not any(new) or (new == old and image in stored):
            continue
        changed += 1
        with conn.transaction():
            conn.execute(
                "INSERT INTO image_sources (image, source_repo, commit_id, software_group, "
                "software_key, origin, updated_at) VALUES (?, ?, ?, ?, ?, 'info.json', "
                "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) ON CONFLICT(image) DO UPDATE SET "
                "source_repo = excluded.source_repo, commit_id = excluded.commit_id, "
                "software_group = excluded.software_group, software_key = excluded.software_key, "
                "origin = excluded.origin, updated_at = excluded.updated_at",
                (image, *new),
            )
    return changed


def resolved_images(conn: Database) -> set[str]:
    """Images whose source repository is known."""
    return {i for (i,) in conn.execute("SELECT image FROM image_sources WHERE source_repo != ''")}
