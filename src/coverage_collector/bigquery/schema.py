"""The BigQuery tables ingest writes, as plain data (no client library needed to read them).

`coverage_data` and `coverage_generators` are the prior tool's tables, column for column
(types, modes, partitioning, clustering), so existing queries keep working. The others are
small fact and dimension tables for questions that should not scan one row per source line:
per binary and file, per binary and function, per owner, and one row per collection.
Every table is partitioned on `ingestion_time` and holds exactly one copy of each collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # STRING | INTEGER | TIMESTAMP | BOOLEAN | RECORD
    mode: str = "NULLABLE"  # NULLABLE | REQUIRED | REPEATED
    fields: tuple[Column, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    clustering: tuple[str, ...]
    description: str
    partition_field: str = "ingestion_time"
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))


def _req(name: str, kind: str, description: str = "") -> Column:
    return Column(name, kind, "REQUIRED", description=description)


def _opt(name: str, kind: str, description: str = "") -> Column:
    return Column(name, kind, description=description)


def _strings(name: str, description: str) -> Column:
    return Column(name, "STRING", "REPEATED", description=description)


INGESTION_TIME = _req("ingestion_time", "TIMESTAMP", "When the ingest ran (one value per run)")
BINARY_HASH = _req("binary_hash", "STRING", "The covmeta hash: one build of one binary")
COLLECTION_ID = _req("collection_id", "STRING", "The collection (directory name by default)")
SOURCE_FILENAME = _req("source_filename", "STRING", "The file as Go names it (import path/name)")
SOURCE_URL = _opt("source_url", "STRING", "The repository the binary was built from")
SOURCE_COMMIT = _opt("source_commit", "STRING")
SOFTWARE_GROUP = _opt("software_group", "STRING")
SOFTWARE_KEY = _opt("software_key", "STRING")
BINARY_NAME = _req("binary_name", "STRING")
PACKAGE = _req("package", "STRING", "Go import path of the package")
STATEMENTS = _req("statements", "INTEGER")
COVERED = _req("covered", "INTEGER", "Statements executed at least once")

COVERAGE_DATA = TableSpec(
    "coverage_data",
    (
        INGESTION_TIME,
        BINARY_HASH,
        COLLECTION_ID,
        SOURCE_FILENAME,
        _opt("source_line", "STRING", "The line's text ('' when the source is unavailable)"),
        _req("source_line_number", "INTEGER"),
        _req("line_executions", "INTEGER", "Largest count of the blocks on the line; -1 none"),
    ),
    ("binary_hash", "collection_id"),
    "One row per source line per binary (the prior tool's table)",
)

COVERAGE_GENERATORS = TableSpec(
    "coverage_generators",
    (
        INGESTION_TIME,
        SOFTWARE_GROUP,
        BINARY_HASH,
        COLLECTION_ID,
        SOURCE_URL,
        SOFTWARE_KEY,
        SOURCE_COMMIT,
        Column(
            "generators",
            "RECORD",
            "REPEATED",
            (
                _opt("namespace", "STRING"),
                _opt("owner", "STRING"),
                _opt("container", "STRING"),
                _opt("binary_name", "STRING"),
            ),
            "The owners running the binary",
        ),
    ),
    ("software_group", "binary_hash", "collection_id", "source_url"),
    "One row per binary: who ran it and where its source is (the prior tool's table)",
)

COVERAGE_FILES = TableSpec(
    "coverage_files",
    (
        INGESTION_TIME,
        COLLECTION_ID,
        BINARY_HASH,
        BINARY_NAME,
        PACKAGE,
        SOURCE_FILENAME,
        _opt("repo_path", "STRING", "Path inside the repository, when the source is resolved"),
        SOURCE_URL,
        SOURCE_COMMIT,
        SOFTWARE_GROUP,
        STATEMENTS,
        COVERED,
        _req("functions", "INTEGER"),
        _req("functions_executed", "INTEGER"),
        _req("executions", "INTEGER", "Calls of the file's functions"),
    ),
    ("collection_id", "software_group", "package"),
    "One row per file per binary",
)

COVERAGE_FUNCTIONS = TableSpec(
    "coverage_functions",
    (
        INGESTION_TIME,
        COLLECTION_ID,
        BINARY_HASH,
        BINARY_NAME,
        PACKAGE,
        SOURCE_FILENAME,
        _req("function", "STRING"),
        _req("is_literal", "BOOLEAN", "A function literal (closure)"),
        _req("start_line", "INTEGER"),
        STATEMENTS,
        COVERED,
        _req("executions", "INTEGER", "Count of the function's entry block: its calls"),
        SOFTWARE_GROUP,
    ),
    ("package", "function", "collection_id"),
    "One row per function per binary",
)

COVERAGE_OWNERS = TableSpec(
    "coverage_owners",
    (
        INGESTION_TIME,
        COLLECTION_ID,
        BINARY_HASH,
        BINARY_NAME,
        _opt("namespace", "STRING", "Empty for host processes"),
        _req("owner_type", "STRING", "Deployment, DaemonSet, ..., Host"),
        _opt("owner_name", "STRING"),
        _opt("image", "STRING"),
        _strings("images", "Images, or host:<binary> for host processes"),
        _strings("containers", "Container names"),
        _strings("pods", "Pod names (host names for host processes)"),
        _strings("hosts", "Node host names"),
        _strings("clusters", "The clusters (download prefixes) its processes ran in"),
        _req("reports", "INTEGER", "Collected entries"),
        _req("instances", "INTEGER", "Process instances (restarts count)"),
        Column(
            "processes",
            "RECORD",
            "REPEATED",
            (
                _opt("pod", "STRING"),
                _opt("container", "STRING"),
                _opt("host", "STRING"),
                _opt("pid", "INTEGER"),
                _opt("discovered_at", "TIMESTAMP"),
                _opt("cluster", "STRING", "The cluster (download prefix) it ran in"),
                _opt("last_seen", "TIMESTAMP", "When its newest counters were written"),
            ),
            "Every process instance",
        ),
        _opt("first_seen", "TIMESTAMP"),
        _opt("last_seen", "TIMESTAMP"),
        STATEMENTS,
        COVERED,
        SOURCE_URL,
        SOURCE_COMMIT,
        SOFTWARE_GROUP,
        SOFTWARE_KEY,
    ),
    ("collection_id", "namespace", "owner_name"),
    "One row per owner (namespace, owner, binary)",
)

COVERAGE_COLLECTIONS = TableSpec(
    "coverage_collections",
    (
        INGESTION_TIME,
        COLLECTION_ID,
        _opt("first_seen", "TIMESTAMP"),
        _opt("last_seen", "TIMESTAMP"),
        _req("entries", "INTEGER"),
        _req("instances", "INTEGER"),
        _req("owners", "INTEGER"),
        _req("binaries", "INTEGER"),
        _req("statements", "INTEGER", "Unique statements (each binary once)"),
        _req("covered", "INTEGER"),
        _req("errors", "INTEGER", "Items compile or clone-sources reported as errors"),
        _opt("selection", "STRING", "The --namespace/--owner flags of the ingest"),
        _req("tool_version", "STRING"),
        _strings("clusters", "The clusters (download prefixes) of its entries"),
    ),
    ("collection_id",),
    "One row per collection: its time range and totals",
)

TABLES = (
    COVERAGE_DATA,
    COVERAGE_GENERATORS,
    COVERAGE_FILES,
    COVERAGE_FUNCTIONS,
    COVERAGE_OWNERS,
    COVERAGE_COLLECTIONS,
)
