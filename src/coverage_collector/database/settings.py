"""Key/value settings of a collection database (e.g. the signature compile ran with)."""

from __future__ import annotations

from coverage_collector.database.connection import Database


def get_setting(db: Database, key: str) -> str | None:
    row = db.connection.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_setting(db: Database, key: str, value: str) -> None:
    db.connection.execute(
        "INSERT INTO settings(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
