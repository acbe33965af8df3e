"""The collection database, `<collection>/coverage.db`: schema, migrations, connections.

Units are stored once per binary (its covmeta file, compressed); counters once per
report and per owner and binary (compressed vectors aligned to those units); file
and function statistics are plain rows for fast queries. Every stage writes one
work item per transaction, so a run killed at any moment leaves a consistent
database that the next run completes.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from coverage_collector.exceptions import DataError

DB_NAME = "coverage.db"

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE binaries (
        id INTEGER PRIMARY KEY,
        meta_hash TEXT NOT NULL UNIQUE,      -- the covmeta file hash, hex
        name TEXT NOT NULL DEFAULT '',       -- most common binary name of its reports
        mode TEXT NOT NULL,
        granularity TEXT NOT NULL,
        n_units INTEGER NOT NULL,
        n_funcs INTEGER NOT NULL,
        meta_blob BLOB NOT NULL,             -- zlib(covmeta file bytes)
        counts_blob BLOB,                    -- merged counters of every report, per unit
        statements INTEGER NOT NULL DEFAULT 0,
        covered INTEGER NOT NULL DEFAULT 0,
        reports INTEGER NOT NULL DEFAULT 0,
        instances INTEGER NOT NULL DEFAULT 0,
        input_hash TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        dir_name TEXT NOT NULL UNIQUE,
        binary_id INTEGER REFERENCES binaries(id),
        namespace TEXT NOT NULL DEFAULT '',
        pod_name TEXT NOT NULL DEFAULT '',
        container_name TEXT NOT NULL DEFAULT '',
        image TEXT NOT NULL DEFAULT '',
        binary_name TEXT NOT NULL DEFAULT '',
        hostname TEXT NOT NULL DEFAULT '',
        is_host INTEGER NOT NULL DEFAULT 0,
        explicit_owner_kind TEXT NOT NULL DEFAULT '',
        explicit_owner_name TEXT NOT NULL DEFAULT '',
        collected_at TEXT NOT NULL DEFAULT '',
        first_seen TEXT NOT NULL DEFAULT '',
        last_seen TEXT NOT NULL DEFAULT '',
        source_key TEXT NOT NULL DEFAULT '',  -- image_sources key: image, or host:<binary>
        source_url TEXT NOT NULL DEFAULT '',
        source_commit TEXT NOT NULL DEFAULT '',
        software_group TEXT NOT NULL DEFAULT '',
        software_key TEXT NOT NULL DEFAULT '',
        instances INTEGER NOT NULL DEFAULT 0,
        counts_blob BLOB,
        statements INTEGER NOT NULL DEFAULT 0,
        covered INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,                -- ok | partial | error
        error_msg TEXT NOT NULL DEFAULT '',
        duplicate_of INTEGER REFERENCES reports(id) ON DELETE SET NULL,
        stat_sig TEXT NOT NULL,              -- names, sizes, mtimes of the entry's files
        input_hash TEXT NOT NULL,            -- content of covmeta and counter files
        metadata_hash TEXT NOT NULL          -- content of metadata.json and info.json
    );
    CREATE INDEX reports_binary ON reports(binary_id);
    CREATE TABLE instances (
        report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        counter_file TEXT NOT NULL,
        pid INTEGER NOT NULL,
        discovered_ns INTEGER NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (report_id, counter_file)
    ) WITHOUT ROWID;
    CREATE TABLE owners (
        id INTEGER PRIMARY KEY,
        group_key TEXT NOT NULL UNIQUE,
        namespace TEXT NOT NULL,
        owner_type TEXT NOT NULL,
        owner_name TEXT NOT NULL,
        binary_name TEXT NOT NULL,
        binary_id INTEGER NOT NULL REFERENCES binaries(id),
        image TEXT NOT NULL DEFAULT '',
        images_json TEXT NOT NULL DEFAULT '[]',
        pods_json TEXT NOT NULL DEFAULT '[]',
        pod_count INTEGER NOT NULL DEFAULT 0,
        containers_json TEXT NOT NULL DEFAULT '[]',
        hosts_json TEXT NOT NULL DEFAULT '[]',
        reports INTEGER NOT NULL DEFAULT 0,
        instances INTEGER NOT NULL DEFAULT 0,
        statements INTEGER NOT NULL DEFAULT 0,
        covered INTEGER NOT NULL DEFAULT 0,
        coverage_pct REAL NOT NULL DEFAULT 0.0,
        counts_blob BLOB,
        first_seen TEXT NOT NULL DEFAULT '',
        last_seen TEXT NOT NULL DEFAULT '',
        input_hash TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX owners_binary ON owners(binary_id);
    CREATE TABLE owner_reports (
        owner_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        PRIMARY KEY (owner_id, report_id)
    ) WITHOUT ROWID;
    CREATE INDEX owner_reports_report ON owner_reports(report_id);
    -- Per-binary files and functions of the application (excluded files have no rows).
    CREATE TABLE binary_files (
        binary_id INTEGER NOT NULL REFERENCES binaries(id) ON DELETE CASCADE,
        file_id INTEGER NOT NULL,
        path TEXT NOT NULL,
        statements INTEGER NOT NULL,
        covered INTEGER NOT NULL,
        PRIMARY KEY (binary_id, file_id)
    ) WITHOUT ROWID;
    CREATE TABLE binary_functions (
        binary_id INTEGER NOT NULL REFERENCES binaries(id) ON DELETE CASCADE,
        func_id INTEGER NOT NULL,            -- index of the function in the covmeta file
        file_id INTEGER NOT NULL,
        package TEXT NOT NULL,
        name TEXT NOT NULL,
        literal INTEGER NOT NULL,
        start_line INTEGER NOT NULL,
        units INTEGER NOT NULL,
        statements INTEGER NOT NULL,
        covered INTEGER NOT NULL,
        executions INTEGER NOT NULL,         -- counter of the function's entry block
        PRIMARY KEY (binary_id, func_id)
    ) WITHOUT ROWID;
    -- Only the files and functions an owner executed (covered > 0): most of a big binary
    -- never runs in one owner. The views below list every file and function.
    CREATE TABLE owner_files (
        owner_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        file_id INTEGER NOT NULL,
        covered INTEGER NOT NULL,
        PRIMARY KEY (owner_id, file_id)
    ) WITHOUT ROWID;
    CREATE TABLE owner_functions (
        owner_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        func_id INTEGER NOT NULL,
        covered INTEGER NOT NULL,
        executions INTEGER NOT NULL,
        PRIMARY KEY (owner_id, func_id)
    ) WITHOUT ROWID;
    CREATE VIEW owner_function_stats AS
        SELECT o.id AS owner_id, f.func_id, f.file_id, f.package, f.name, f.literal,
               f.start_line, f.statements, coalesce(x.covered, 0) AS covered,
               coalesce(x.executions, 0) AS executions
        FROM owners o
        JOIN binary_functions f ON f.binary_id = o.binary_id
        LEFT JOIN owner_functions x ON x.owner_id = o.id AND x.func_id = f.func_id;
    CREATE VIEW owner_file_stats AS
        SELECT o.id AS owner_id, f.file_id, f.path, f.statements,
               coalesce(x.covered, 0) AS covered
        FROM owners o
        JOIN binary_files f ON f.binary_id = o.binary_id
        LEFT JOIN owner_files x ON x.owner_id = o.id AND x.file_id = f.file_id;
    CREATE TABLE image_sources (
        image TEXT PRIMARY KEY,              -- container image, or host:<binary>
        source_repo TEXT NOT NULL DEFAULT '',
        commit_id TEXT NOT NULL DEFAULT '',
        software_group TEXT NOT NULL DEFAULT '',
        software_key TEXT NOT NULL DEFAULT '',
        origin TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL DEFAULT '',
        error_msg TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE errors (
        id INTEGER PRIMARY KEY,
        stage TEXT NOT NULL,
        item TEXT NOT NULL,
        message TEXT NOT NULL,
        recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE INDEX errors_item ON errors(stage, item);
    """,
    # 2: source checkouts (cluster clone-sources).
    """
    CREATE TABLE clones (
        source_url TEXT NOT NULL,            -- as recorded in image_sources
        commit_id TEXT NOT NULL,             -- as recorded in image_sources
        path TEXT NOT NULL DEFAULT '',       -- the checkout, relative to the collection
        status TEXT NOT NULL,                -- cloned | present | fallback | unavailable | refused
        checked_out TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        PRIMARY KEY (source_url, commit_id)
    );
    """,
    # 3: every binary's files resolved to source.
    """
    CREATE TABLE binary_sources (
        binary_id INTEGER PRIMARY KEY REFERENCES binaries(id) ON DELETE CASCADE,
        method TEXT NOT NULL,                -- the method that resolved most files, or none
        confidence TEXT NOT NULL,            -- exact | module | low | fallback | none
        checkout TEXT NOT NULL DEFAULT '',   -- the main checkout, relative to the collection
        commit_id TEXT NOT NULL DEFAULT '',
        source_url TEXT NOT NULL DEFAULT '',
        resolved INTEGER NOT NULL,
        missing INTEGER NOT NULL,            -- module known, file not in the checkout
        unresolved INTEGER NOT NULL,         -- no repository
        notes TEXT NOT NULL DEFAULT ''       -- e.g. recorded source unavailable, fallback
    );
    CREATE TABLE file_sources (
        binary_id INTEGER NOT NULL REFERENCES binaries(id) ON DELETE CASCADE,
        file_id INTEGER NOT NULL,
        status TEXT NOT NULL,                -- resolved | missing | unresolved
        source_path TEXT NOT NULL DEFAULT '', -- relative to the collection
        method TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (binary_id, file_id)
    ) WITHOUT ROWID;
    """,
    # 4: image inspection state, kept apart from the sources it may fill.
    """
    ALTER TABLE image_sources ADD COLUMN inspected_at TEXT NOT NULL DEFAULT '';
    ALTER TABLE image_sources ADD COLUMN inspect_error TEXT NOT NULL DEFAULT '';
    """,
    # 5: why a file found in a checkout was refused (sources/tree.py: outside checkout,
    # symlink, not a regular file, too large); '' for the others.
    """
    ALTER TABLE file_sources ADD COLUMN reason TEXT NOT NULL DEFAULT '';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def db_path(collection: str) -> str:
    return os.path.join(collection, DB_NAME)


def connect(collection: str) -> sqlite3.Connection:
    """Open (creating or migrating) the collection's database for writing."""
    path = db_path(collection)
    try:
        os.makedirs(collection, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
    except sqlite3.OperationalError as exc:  # a full disk, an I/O error, a lock: not the file
        raise DataError(f"Couldn't write the database {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise DataError(
            f"Couldn't open the database {path}: {exc}",
            hint="move the file aside; `cluster compile` rebuilds it from the collection",
        ) from None
    except OSError as exc:
        raise DataError(f"Couldn't create {collection}: {exc.strerror}") from None
    return conn


def require_database(collection: str) -> str:
    """Return the database's path; a clear error when compile has not made it yet."""
    path = db_path(collection)
    if not os.path.isfile(path):
        raise DataError(
            f"No database in {collection}",
            hint=f"run `coverage-collector cluster compile --collection {collection}` first",
        )
    return path


def connect_existing(collection: str) -> sqlite3.Connection:
    """Open (and migrate) the database compile made, for a later stage to write to."""
    require_database(collection)
    return connect(collection)


def connect_readonly(collection: str) -> sqlite3.Connection:
    """Open an existing database for reading; a clear error when there is none."""
    path = require_database(collection)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        version = user_version(conn)
    except sqlite3.DatabaseError as exc:
        raise DataError(f"Couldn't read the database {path}: {exc}") from None
    if version != SCHEMA_VERSION:
        raise DataError(
            f"The database {path} has schema version {version}, this tool reads {SCHEMA_VERSION}",
            hint="run `coverage-collector cluster compile` to migrate it",
        )
    return conn


def compile_error_count(collection: str) -> int:
    """How many entries `cluster compile` recorded as not compiled (0 without a database):
    every later stage exits 1 while there are any, so a CI job sees the collection is
    incomplete."""
    if not os.path.isfile(db_path(collection)):
        return 0
    conn = connect_readonly(collection)
    try:
        return int(
            conn.execute(
                "SELECT count(DISTINCT item) FROM errors WHERE stage = 'compile'"
            ).fetchone()[0]
        )
    finally:
        conn.close()


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to `SCHEMA_VERSION`, one migration per transaction."""
    version = user_version(conn)
    if version > SCHEMA_VERSION:
        raise DataError(
            f"The database has schema version {version}, newer than this tool's {SCHEMA_VERSION}",
            hint="upgrade coverage-collector",
        )
    for number in range(version, SCHEMA_VERSION):
        script = f"BEGIN IMMEDIATE;{MIGRATIONS[number]}PRAGMA user_version={number + 1};COMMIT;"
        try:
            conn.executescript(script)
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run a block in one immediate transaction (the connection is in autocommit mode)."""
    if not conn.in_transaction:
        conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def get_setting(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_setting(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO settings(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
