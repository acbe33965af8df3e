"""database/schema.py: migrations on real SQLite files (no Go: the sample collection compiles
in pure Python).

Migration 6 renamed `reports` to `entries`. A collection compiled by a version-5 tool must
keep its rows and ids, and its next compile must find nothing to recompute: on a large
collection that is hours of decoding.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from importlib import resources
from pathlib import Path

from coverage_collector import compile, database
from coverage_collector.database.schema import MIGRATIONS

SAMPLE = resources.files("coverage_collector") / "sample_collection" / "coverage"

OLD_TABLES = {"entries": "reports", "owner_entries": "owner_reports"}
"""Version 5's name of every table migration 6 renamed (columns keep their position)."""


def _schema(path: Path) -> list[tuple[str, str, str, str]]:
    """What a database's schema is: every table, index, view and trigger, as SQL."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order (ids included: they must survive)."""
    conn = sqlite3.connect(path)
    try:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {name: sorted(conn.execute(f'SELECT * FROM "{name}"'), key=repr) for name in names}
    finally:
        conn.close()


def _version5(path: Path) -> sqlite3.Connection:
    """A database made by the first five migrations, as the previous release made it."""
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:5], start=1):
        conn.executescript(f"BEGIN;{script}PRAGMA user_version={number};COMMIT;")
    return conn


def _compiled_sample(tmp_path: Path) -> Path:
    collection = tmp_path / "collection"
    with resources.as_file(SAMPLE) as sample:
        shutil.copytree(sample, collection / "coverage")
    compile.run(compile.Options(collection=str(collection), max_concurrency=1))
    return collection


def test_a_fresh_database_has_the_schema_of_a_migrated_one(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    _version5(old / database.DB_NAME).close()
    database.open_database(str(old)).close()
    database.open_database(str(tmp_path / "fresh")).close()

    migrated = _schema(old / database.DB_NAME)
    assert migrated == _schema(tmp_path / "fresh" / database.DB_NAME)
    names = [name for _, name, _, _ in migrated]
    assert "entries" in names and "owner_entries" in names and "entries_binary" in names
    assert not [name for name in names if "report" in name]


def test_no_column_calls_an_entry_a_report(tmp_path: Path) -> None:
    with database.open_database(str(tmp_path)) as db:
        tables = [row[1] for row in _schema(Path(db.path)) if row[0] in ("table", "view")]
        columns = {
            f"{table}.{info[1]}"
            for table in tables
            for info in db.connection.execute(f'PRAGMA table_info("{table}")')
        }
    assert not [column for column in columns if "report" in column]
    assert {"instances.entry_id", "owner_entries.entry_id", "binaries.entries"} <= columns


def test_a_version5_collection_migrates_in_place_and_compiles_incrementally(
    tmp_path: Path,
) -> None:
    collection = _compiled_sample(tmp_path)
    path = collection / database.DB_NAME
    compiled = _tables(path)
    assert compiled["entries"] and compiled["owner_entries"] and compiled["instances"]

    # The same rows under version 5's names: the previous release wrote exactly these
    # (bench/compare_outputs.py checks it on the sample), in a file made by its migrations.
    old = tmp_path / "v5.db"
    conn = _version5(old)
    conn.execute("ATTACH DATABASE ? AS current", (str(path),))
    for table in compiled:
        v5_table = OLD_TABLES.get(table, table)
        width = len(conn.execute(f"PRAGMA main.table_info({v5_table})").fetchall())
        columns = [info[1] for info in conn.execute(f"PRAGMA current.table_info({table})")]
        conn.execute(
            f"INSERT INTO main.{v5_table} SELECT {', '.join(columns[:width])} FROM current.{table}"
        )
    conn.execute("DETACH DATABASE current")
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.replace(old, path)
    reports = _tables(path)["reports"]
    assert reports == [row[: len(reports[0])] for row in compiled["entries"]]

    with database.open_database(str(collection)) as db:
        assert db.connection.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert db.connection.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # Migration 7's columns start empty (the sample records no cluster, so only the
    # instances' sightings differ): an entry's next decode fills them.
    compiled["instances"] = sorted(((*row[:5], "", "") for row in compiled["instances"]), key=repr)
    # So does migration 8's hash of each owner's entries: an owner without it is merged
    # from all its entries the next time it changes, never from its stored counters.
    compiled["owner_entries"] = sorted(
        ((*row[:2], "") for row in compiled["owner_entries"]), key=repr
    )
    assert any(row for row in _tables(path)["instances"])
    assert _tables(path) == compiled

    summary = compile.run(compile.Options(collection=str(collection), max_concurrency=1))
    assert (summary.decoded, summary.owners_updated, summary.binaries_updated) == (0, 0, 0)
    assert summary.entries == len(compiled["entries"])
    assert _tables(path) == compiled
