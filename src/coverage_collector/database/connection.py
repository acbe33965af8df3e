"""Opening `<collection>/coverage.db`: write or read-only, migrated, one transaction helper.

Every stage writes one work item per transaction (`Database.transaction`), so a run killed
at any moment leaves a consistent database that the next run completes. Readers open it
read-only, so rendering or exporting never takes a write lock from a running compile.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType

from coverage_collector.collection import DATABASE_FILE, Collection
from coverage_collector.database.schema import MIGRATIONS, SCHEMA_VERSION
from coverage_collector.exceptions import DataError

DB_NAME = DATABASE_FILE

DatabaseError = sqlite3.Error
"""What a failing statement raises (a full disk, an I/O error, a lock held too long)."""


class Database:
    """An open collection database.

    Only the modules of `coverage_collector.database` use `connection`: every other module
    calls their typed readers and writers, so SQL lives in one package.
    """

    def __init__(self, connection: sqlite3.Connection, path: str, *, readonly: bool) -> None:
        self.connection = connection
        self.path = path
        self.readonly = readonly

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    @property
    def in_transaction(self) -> bool:
        return self.connection.in_transaction

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block in one immediate transaction (the connection is in autocommit mode);
        nested blocks join the outer transaction."""
        conn = self.connection
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    def require_transaction(self) -> None:
        """Refuse a write that must be part of a larger transaction when there is none."""
        if not self.connection.in_transaction:
            raise RuntimeError("this write belongs inside a Database.transaction() block")


def db_path(collection: str) -> str:
    return Collection(collection).database


def open_database(collection: str) -> Database:
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
    return Database(conn, path, readonly=False)


def require_database(collection: str) -> str:
    """Return the database's path; a clear error when compile has not made it yet."""
    path = db_path(collection)
    if not os.path.isfile(path):
        raise DataError(
            f"No database in {collection}",
            hint=f"run `coverage-collector cluster compile --collection {collection}` first",
        )
    return path


def open_existing(collection: str) -> Database:
    """Open (and migrate) the database compile made, for a later stage to write to."""
    require_database(collection)
    return open_database(collection)


def open_readonly(collection: str) -> Database:
    """Open an existing database for reading; a clear error when there is none."""
    path = require_database(collection)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        version = _user_version(conn)
    except sqlite3.DatabaseError as exc:
        raise DataError(f"Couldn't read the database {path}: {exc}") from None
    if version != SCHEMA_VERSION:
        conn.close()
        raise DataError(
            f"The database {path} has schema version {version}, this tool reads {SCHEMA_VERSION}",
            hint="run `coverage-collector cluster compile` to migrate it",
        )
    return Database(conn, path, readonly=True)


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to `SCHEMA_VERSION`, one migration per transaction."""
    version = _user_version(conn)
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


IDS_PER_QUERY = 1000
"""Ids bound to one statement: far below SQLite's limit on parameters (32,766)."""


def blobs_by_id(db: Database, table: str, ids: Sequence[int]) -> Iterator[bytes | None]:
    """The `counts_blob` of the rows of `table` with the given `ids` (in no particular
    order), one at a time and at most IDS_PER_QUERY ids per statement: callers merge them
    as they come, never holding a large owner's or binary's all at once."""
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        for (blob,) in db.connection.execute(
            f"SELECT counts_blob FROM {table} WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk,
        ):
            yield blob
