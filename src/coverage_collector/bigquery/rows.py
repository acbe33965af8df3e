"""The rows of every table, built from the compiled database into the files the load jobs
upload (bigquery/outputs.py).

Nothing here talks to BigQuery, so `--dry-run` builds the same files and only reports their
rows and sizes. Numbers are compile's: a
binary's counters are its selected owners' counters combined (summed, or OR-ed in set mode),
so with no filter they are exactly the binary's numbers in the database and the report.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from coverage_collector import __version__, analysis, database, logs
from coverage_collector.bigquery import schema
from coverage_collector.bigquery.outputs import ParquetOutput, TableOutput, is_flat
from coverage_collector.compile.store import (
    BinaryModel,
    BinaryModels,
    function_rows,
    stored_excludes,
)
from coverage_collector.database import Database
from coverage_collector.database.entries import owner_instances
from coverage_collector.database.errors import stage_items_with_errors
from coverage_collector.owners import OwnerKind
from coverage_collector.progress import Reporter
from coverage_collector.results import Blocks, Numbers, line_counts
from coverage_collector.selection import (
    BinarySource,
    OwnerRow,
    OwnerSelection,
    Selected,
    checkout_paths,
    checkout_relative,
    select,
)
from coverage_collector.sources.tree import (
    CollectionSources,
    RefusedSource,
    SourceRefusedError,
)

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


@dataclass(frozen=True)
class BuildOptions:
    collection: str
    collection_id: str
    selection: OwnerSelection
    ingestion_time: datetime


# --------------------------------------------------------------------------------------------
# Building


@dataclass
class BuildResult:
    outputs: dict[str, TableOutput]
    owners: int = 0
    binaries: int = 0
    files_without_source: list[str] = field(default_factory=list)
    refused: list[RefusedSource] = field(default_factory=list)
    """Source files sources/tree.py refused: their rows carry no text."""


class TableBuilder:
    """Writes the rows of every table for the selected owners of one collection."""

    def __init__(
        self, conn: Database, options: BuildOptions, outputs: dict[str, TableOutput]
    ) -> None:
        self.conn = conn
        self.options = options
        self.outputs = outputs
        self.common = {
            "ingestion_time": options.ingestion_time,
            "collection_id": options.collection_id,
        }
        self.models = BinaryModels(conn, stored_excludes(conn), size=1)
        self.checkouts = checkout_paths(conn)
        self.sources = CollectionSources(options.collection, self.checkouts)
        self.result = BuildResult(outputs)
        line_output = outputs["coverage_data"]
        assert isinstance(line_output, ParquetOutput)
        self.lines = line_output

    def build(self) -> BuildResult:
        selected = select(self.conn, self.options.selection)
        self.result.owners, self.result.binaries = len(selected.owners), len(selected.by_binary)
        totals = Numbers()
        with Reporter("preparing rows", len(selected.by_binary), log, unit="binaries") as bar:
            for bid, members in selected.by_binary.items():
                model = self.models.get(bid)
                counts = selected.counts(self.conn, bid, model.meta.mode)
                identity = {**self.common, "binary_hash": selected.hashes[bid]}
                totals += self._binary(bid, identity, members, selected.sources[bid], counts)
                bar.advance()
        self._owners(selected)
        self._collection(selected.owners, len(selected.by_binary), totals)
        return self.result

    def _binary(
        self,
        bid: int,
        identity: dict[str, Any],
        members: list[OwnerRow],
        source: BinarySource,
        counts: np.ndarray,
    ) -> Numbers:
        """Write the binary's line, file, function and generator rows; return its totals."""
        meta_hash = identity["binary_hash"]
        model = self.models.get(bid)
        meta = model.meta
        name = members[0].binary_name
        file_sources = database.file_sources(self.conn, bid)
        self.result.refused.extend(
            RefusedSource(name, model.files.paths[f.file_id], f.reason)
            for f in file_sources.values()
            if f.reason
        )
        described = {
            "source_url": source.source_url or None,
            "source_commit": source.commit or None,
            "software_group": source.software_group or None,
        }
        self._generators(identity, members, source)
        per_file = self._functions(identity, name, model, counts, described["software_group"])
        blocks = analysis.blocks_by_file(meta, model.app, counts)
        files = analysis.file_stats(meta, counts, model.files, model.app)
        file_records = []
        for file_id, path in enumerate(model.files.paths):
            found = file_sources.get(file_id)
            source_path = found.source_path if found and found.status == "resolved" else ""
            functions, executed, calls = per_file[file_id]
            file_records.append(
                {
                    **identity,
                    "binary_name": name,
                    "package": os.path.dirname(path),
                    "source_filename": path,
                    "repo_path": checkout_relative(source_path, self.checkouts),
                    **described,
                    "statements": int(files.statements[file_id]),
                    "covered": int(files.covered[file_id]),
                    "functions": functions,
                    "functions_executed": executed,
                    "executions": min(calls, INT64_MAX),
                }
            )
            if path in blocks:
                self._lines(meta_hash, name, path, source_path, Blocks.of(*blocks[path]))
        self.outputs["coverage_files"].write(file_records)
        return analysis.totals(meta, counts, model.app)

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
        functions = analysis.function_stats(model.meta, counts, model.app)
        for function in function_rows(model, functions):
            tally = per_file[function.file_id]
            tally[0] += 1
            tally[1] += function.covered > 0
            tally[2] += function.executions
            records.append(
                {
                    **identity,
                    "binary_name": binary_name,
                    "package": function.package,
                    "source_filename": model.files.paths[function.file_id],
                    "function": function.name,
                    "is_literal": function.literal,
                    "start_line": function.start_line,
                    "statements": function.statements,
                    "covered": function.covered,
                    "executions": min(function.executions, INT64_MAX),
                    "software_group": software_group,
                }
            )
        self.outputs["coverage_functions"].write(records)
        return per_file

    def _lines(
        self, meta_hash: str, binary: str, path: str, source_path: str, file_blocks: Blocks
    ) -> None:
        """Write one row per line of the file: its text (when the source is known and not
        refused) and the largest count of the blocks on it, -1 where none is."""
        lines: list[str] = []
        if source_path:
            try:
                lines = self.sources.read(source_path).decode("utf-8", "replace").split("\n")
            except SourceRefusedError as exc:
                self.result.refused.append(RefusedSource(binary, path, exc.reason))
            except OSError as exc:
                log.warning("%s: source %s unreadable: %s", path, source_path, exc.strerror)
                self.result.files_without_source.append(path)
            if lines and lines[-1] == "":
                lines.pop()
        n_lines = len(lines) or int(file_blocks.end_line.max())
        if not lines:
            lines = [""] * n_lines
        executions = line_counts(file_blocks, n_lines)
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

    def _owners(self, selected: Selected) -> None:
        owners, sources, hashes = selected.owners, selected.sources, selected.hashes
        processes = self._processes([o.id for o in owners])
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
                "clusters": o.clusters,
                "reports": o.entries,
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
        for instance in owner_instances(self.conn):
            if instance.owner_id in wanted:
                result[instance.owner_id].append(
                    {
                        "pod": instance.pod_name or None,
                        "container": instance.container_name or None,
                        "host": instance.hostname or None,
                        "pid": instance.pid,
                        "discovered_at": (
                            _from_ns(instance.discovered_ns) if instance.discovered_ns else None
                        ),
                        "cluster": instance.cluster or None,
                        "last_seen": parse_timestamp(instance.last_seen),
                    }
                )
        return result

    def _collection(self, owners: list[OwnerRow], binaries: int, totals: Numbers) -> None:
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
                    "entries": sum(o.entries for o in owners),
                    "instances": sum(o.instances for o in owners),
                    "owners": len(owners),
                    "binaries": binaries,
                    "statements": totals.statements,
                    "covered": totals.covered,
                    "errors": stage_items_with_errors(self.conn),
                    "selection": self.options.selection.describe() or None,
                    "tool_version": __version__,
                    "clusters": sorted({c for o in owners for c in o.clusters}),
                }
            ]
        )


def build_tables(conn: Database, options: BuildOptions, directory: str) -> BuildResult:
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
