"""The rows of every table, built from the compiled database into the files the load jobs
upload (bigquery/outputs.py).

Nothing here talks to BigQuery, so `--dry-run` builds the same files and only reports their
rows and sizes. Numbers are compile's: a
binary's counters are its selected owners' counters combined (summed, or OR-ed in set mode),
so with no filter they are exactly the binary's numbers in the database and the report.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from coverage_collector import __version__, blobs, logs
from coverage_collector.bigquery import schema
from coverage_collector.bigquery.outputs import ParquetOutput, TableOutput, is_flat
from coverage_collector.compiler import stats
from coverage_collector.compiler.store import (
    BinaryModel,
    BinaryModels,
    binary_counts,
    function_rows,
    stored_excludes,
)
from coverage_collector.owners import OwnerKind
from coverage_collector.progress import Reporter
from coverage_collector.report.annotate import Blocks, line_counts
from coverage_collector.selection import OwnerSelection

log = logs.get_logger(__name__)
INT64_MAX = np.iinfo(np.int64).max


def _from_ns(ns: int) -> datetime:
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=rest // 1000)


def parse_timestamp(text: str) -> datetime | None:
    """A database time (RFC 3339); None when empty or unreadable."""
    try:
        return datetime.fromisoformat(text).astimezone(UTC) if text else None
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# What is selected


@dataclass
class OwnerRow:
    id: int
    namespace: str
    owner_type: str
    owner_name: str
    binary_name: str
    binary_id: int
    image: str
    images: list[str]
    pods: list[str]
    containers: list[str]
    hosts: list[str]
    reports: int
    instances: int
    statements: int
    covered: int
    first_seen: str
    last_seen: str


@dataclass
class BinarySource:
    source_url: str = ""
    commit: str = ""
    software_group: str = ""
    software_key: str = ""


@dataclass(frozen=True)
class BuildOptions:
    collection: str
    collection_id: str
    selection: OwnerSelection
    ingestion_time: datetime


def select_owners(conn: sqlite3.Connection, selection: OwnerSelection) -> list[OwnerRow]:
    rows = [
        OwnerRow(
            *row[:7],
            *(json.loads(v) for v in row[7:11]),
            *row[11:],
        )
        for row in conn.execute(
            "SELECT id, namespace, owner_type, owner_name, binary_name, binary_id, image, "
            "images_json, pods_json, containers_json, hosts_json, reports, instances, "
            "statements, covered, first_seen, last_seen FROM owners "
            "ORDER BY namespace, owner_type, owner_name, binary_name, id"
        )
    ]
    return [o for o in rows if selection.matches(o.namespace, o.owner_type, o.owner_name)]


def _binary_sources(
    conn: sqlite3.Connection, owners: dict[int, list[OwnerRow]]
) -> dict[int, BinarySource]:
    """Per binary: its repository and commit (as resolved, else as recorded for its images)
    and its software group and key (the first recorded for its images)."""
    images = {
        key: (url, commit, group, software_key)
        for key, url, commit, group, software_key in conn.execute(
            "SELECT image, source_repo, commit_id, software_group, software_key FROM image_sources"
        )
    }
    resolved = dict(
        (bid, (url, commit))
        for bid, url, commit in conn.execute(
            "SELECT binary_id, source_url, commit_id FROM binary_sources WHERE source_url != ''"
        )
    )
    result = {}
    for bid, members in owners.items():
        keys = sorted({key for o in members for key in o.images})
        known = [images[k] for k in keys if k in images]
        source = BinarySource()
        source.source_url, source.commit = resolved.get(bid) or next(
            ((url, commit) for url, commit, _, _ in known if url), ("", "")
        )
        source.software_group = next((g for _, _, g, _ in known if g), "")
        source.software_key = next((k for _, _, _, k in known if k), "")
        result[bid] = source
    return result


# --------------------------------------------------------------------------------------------
# Building


@dataclass
class BuildResult:
    outputs: dict[str, TableOutput]
    owners: int = 0
    binaries: int = 0
    files_without_source: list[str] = field(default_factory=list)


class TableBuilder:
    """Writes the rows of every table for the selected owners of one collection."""

    def __init__(
        self, conn: sqlite3.Connection, options: BuildOptions, outputs: dict[str, TableOutput]
    ) -> None:
        self.conn = conn
        self.options = options
        self.outputs = outputs
        self.common = {
            "ingestion_time": options.ingestion_time,
            "collection_id": options.collection_id,
        }
        self.models = BinaryModels(conn, stored_excludes(conn), size=1)
        self.checkouts = sorted(
            (p for (p,) in conn.execute("SELECT path FROM clones WHERE path != ''")),
            key=len,
            reverse=True,
        )
        self.result = BuildResult(outputs)
        line_output = outputs["coverage_data"]
        assert isinstance(line_output, ParquetOutput)
        self.lines = line_output

    def build(self) -> BuildResult:
        owners = select_owners(self.conn, self.options.selection)
        by_binary: dict[int, list[OwnerRow]] = defaultdict(list)
        for owner in owners:
            by_binary[owner.binary_id].append(owner)
        owner_counts = dict(
            self.conn.execute("SELECT binary_id, count(*) FROM owners GROUP BY binary_id")
        )
        sources = _binary_sources(self.conn, by_binary)
        self.result.owners, self.result.binaries = len(owners), len(by_binary)
        totals = [0, 0]
        with Reporter("preparing rows", len(by_binary), log, unit="binaries") as bar:
            for bid in sorted(by_binary, key=self._hash):
                members = by_binary[bid]
                every_owner = len(members) == owner_counts[bid]
                statements, covered = self._binary(bid, members, sources[bid], every_owner)
                totals[0] += statements
                totals[1] += covered
                bar.advance()
        self._owners(owners, sources)
        self._collection(owners, len(by_binary), totals)
        return self.result

    def _hash(self, binary_id: int) -> str:
        (meta_hash,) = self.conn.execute(
            "SELECT meta_hash FROM binaries WHERE id = ?", (binary_id,)
        ).fetchone()
        return str(meta_hash)

    def _counts(self, binary_id: int, members: list[OwnerRow], every_owner: bool) -> np.ndarray:
        if every_owner:
            return binary_counts(self.conn, binary_id)
        model = self.models.get(binary_id)
        ids = [o.id for o in members]
        vectors = [
            blobs.unpack_counts(blob)
            for (blob,) in self.conn.execute(
                f"SELECT counts_blob FROM owners WHERE id IN ({', '.join('?' * len(ids))})", ids
            )
        ]
        return stats.combine(vectors, model.meta.mode)

    def _binary(
        self, bid: int, members: list[OwnerRow], source: BinarySource, every_owner: bool
    ) -> tuple[int, int]:
        """Write the binary's line, file, function and generator rows; return its totals."""
        meta_hash = self._hash(bid)
        model = self.models.get(bid)
        meta = model.meta
        counts = self._counts(bid, members, every_owner)
        name = members[0].binary_name
        file_sources = {
            fid: (status, path)
            for fid, status, path in self.conn.execute(
                "SELECT file_id, status, source_path FROM file_sources WHERE binary_id = ?",
                (bid,),
            )
        }
        identity = {**self.common, "binary_hash": meta_hash}
        described = {
            "source_url": source.source_url or None,
            "source_commit": source.commit or None,
            "software_group": source.software_group or None,
        }
        self._generators(identity, members, source)
        per_file = self._functions(identity, name, model, counts, described["software_group"])
        blocks = stats.blocks_by_file(meta, model.app, counts)
        files = stats.file_stats(meta, counts, model.files, model.app)
        file_records = []
        for file_id, path in enumerate(model.files.paths):
            status, source_path = file_sources.get(file_id, ("unresolved", ""))
            if status != "resolved":
                source_path = ""
            functions, executed, calls = per_file[file_id]
            file_records.append(
                {
                    **identity,
                    "binary_name": name,
                    "package": os.path.dirname(path),
                    "source_filename": path,
                    "repo_path": self._repo_path(source_path),
                    **described,
                    "statements": int(files.statements[file_id]),
                    "covered": int(files.covered[file_id]),
                    "functions": functions,
                    "functions_executed": executed,
                    "executions": min(calls, INT64_MAX),
                }
            )
            if path in blocks:
                self._lines(meta_hash, path, source_path, Blocks.of(*blocks[path]))
        self.outputs["coverage_files"].write(file_records)
        totals = stats.totals(meta, counts, model.app)
        return totals.statements, totals.covered

    def _functions(
        self,
        identity: dict[str, Any],
        binary_name: str,
        model: BinaryModel,
        counts: np.ndarray,
        software_group: str | None,
    ) -> dict[int, list[int]]:
        """Write the binary's function rows; return per file id its functions, functions
        executed and calls."""
        per_file: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        records = []
        functions = stats.function_stats(model.meta, counts, model.app)
        for _, file_id, package, name, literal, line, _, total, covered, calls in function_rows(
            model, functions
        ):
            tally = per_file[file_id]
            tally[0] += 1
            tally[1] += covered > 0
            tally[2] += calls
            records.append(
                {
                    **identity,
                    "binary_name": binary_name,
                    "package": package,
                    "source_filename": model.files.paths[file_id],
                    "function": name,
                    "is_literal": bool(literal),
                    "start_line": line,
                    "statements": total,
                    "covered": covered,
                    "executions": min(calls, INT64_MAX),
                    "software_group": software_group,
                }
            )
        self.outputs["coverage_functions"].write(records)
        return per_file

    def _repo_path(self, source_path: str) -> str | None:
        """The path inside its repository of a resolved source file."""
        for checkout in self.checkouts:
            if source_path.startswith(checkout + "/"):
                return source_path[len(checkout) + 1 :]
        return None

    def _lines(self, meta_hash: str, path: str, source_path: str, file_blocks: Blocks) -> None:
        """Write one row per line of the file: its text (when the source is known) and the
        largest count of the blocks on it, -1 where none is."""
        lines: list[str] = []
        if source_path:
            try:
                with open(os.path.join(self.options.collection, source_path), "rb") as handle:
                    lines = handle.read().decode("utf-8", "replace").split("\n")
            except OSError as exc:
                log.warning("%s: source %s unreadable: %s", path, source_path, exc.strerror)
                self.result.files_without_source.append(path)
            if lines and lines[-1] == "":
                lines.pop()
        n_lines = len(lines) or int(file_blocks.end_line.max())
        if not lines:
            lines = [""] * n_lines
        executions = np.minimum(line_counts(file_blocks, n_lines), INT64_MAX)
        constants = {**self.common, "binary_hash": meta_hash, "source_filename": path}
        self.lines.write_lines(constants, lines, executions)

    def _generators(
        self, identity: dict[str, Any], members: list[OwnerRow], source: BinarySource
    ) -> None:
        generators = []
        for owner in members:
            anonymous = owner.owner_type in (OwnerKind.HOST, OwnerKind.POD)
            generators.append(
                {
                    "namespace": "" if anonymous else owner.namespace,
                    "owner": "" if anonymous else owner.owner_name,
                    "container": "" if anonymous else ",".join(owner.containers),
                    "binary_name": owner.binary_name,
                }
            )
        self.outputs["coverage_generators"].write(
            [
                {
                    **identity,
                    "software_group": source.software_group or None,
                    "source_url": source.source_url or None,
                    "software_key": source.software_key or None,
                    "source_commit": source.commit or None,
                    "generators": generators,
                }
            ]
        )

    def _owners(self, owners: list[OwnerRow], sources: dict[int, BinarySource]) -> None:
        processes = self._processes([o.id for o in owners])
        hashes = {bid: self._hash(bid) for bid in sources}
        self.outputs["coverage_owners"].write(
            {
                **self.common,
                "binary_hash": hashes[o.binary_id],
                "binary_name": o.binary_name,
                "namespace": o.namespace or None,
                "owner_type": o.owner_type,
                "owner_name": o.owner_name or None,
                "image": o.image or None,
                "images": o.images,
                "containers": o.containers,
                "pods": o.pods,
                "hosts": o.hosts,
                "reports": o.reports,
                "instances": o.instances,
                "processes": processes.get(o.id, []),
                "first_seen": parse_timestamp(o.first_seen),
                "last_seen": parse_timestamp(o.last_seen),
                "statements": o.statements,
                "covered": o.covered,
                "source_url": sources[o.binary_id].source_url or None,
                "source_commit": sources[o.binary_id].commit or None,
                "software_group": sources[o.binary_id].software_group or None,
                "software_key": sources[o.binary_id].software_key or None,
            }
            for o in owners
        )

    def _processes(self, owner_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        wanted = set(owner_ids)
        result: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for owner_id, pod, container, host, pid, discovered_ns in self.conn.execute(
            "SELECT x.owner_id, r.pod_name, r.container_name, r.hostname, i.pid, "
            "i.discovered_ns FROM owner_reports x JOIN reports r ON r.id = x.report_id "
            "JOIN instances i ON i.report_id = r.id ORDER BY x.owner_id, i.discovered_ns, i.pid"
        ):
            if owner_id in wanted:
                result[owner_id].append(
                    {
                        "pod": pod or None,
                        "container": container or None,
                        "host": host or None,
                        "pid": pid,
                        "discovered_at": _from_ns(discovered_ns) if discovered_ns else None,
                    }
                )
        return result

    def _collection(self, owners: list[OwnerRow], binaries: int, totals: list[int]) -> None:
        errors = self.conn.execute("SELECT count(DISTINCT stage || item) FROM errors").fetchone()
        self.outputs["coverage_collections"].write(
            [
                {
                    **self.common,
                    "first_seen": parse_timestamp(
                        min((o.first_seen for o in owners if o.first_seen), default="")
                    ),
                    "last_seen": parse_timestamp(
                        max((o.last_seen for o in owners if o.last_seen), default="")
                    ),
                    "entries": sum(o.reports for o in owners),
                    "instances": sum(o.instances for o in owners),
                    "owners": len(owners),
                    "binaries": binaries,
                    "statements": totals[0],
                    "covered": totals[1],
                    "errors": errors[0],
                    "selection": self.options.selection.describe() or None,
                    "tool_version": __version__,
                }
            ]
        )


def build_tables(conn: sqlite3.Connection, options: BuildOptions, directory: str) -> BuildResult:
    """Write every table's rows into a file under `directory`."""
    outputs = {
        spec.name: (ParquetOutput if is_flat(spec) else TableOutput)(spec, directory)
        for spec in schema.TABLES
    }
    try:
        for output in outputs.values():
            output.open()
        return TableBuilder(conn, options, outputs).build()
    finally:
        for output in outputs.values():
            output.close()
