"""The problems each stage recorded per item (entry, binary, repository)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from coverage_collector.database.connection import Database, db_path, open_readonly


def compile_error_count(collection: str) -> int:
    """How many entries `cluster compile` recorded as not compiled (0 without a database):
    every later stage exits 1 while there are any, so a CI job sees the collection is
    incomplete."""
    if not os.path.isfile(db_path(collection)):
        return 0
    with open_readonly(collection) as db:
        (count,) = db.connection.execute(
            "SELECT count(DISTINCT item) FROM errors WHERE stage = 'compile'"
        ).fetchone()
    return int(count)


@dataclass(frozen=True)
class ErrorRow:
    """A problem a stage recorded about one item."""

    item: str
    message: str


def stage_errors(db: Database, stage: str) -> list[ErrorRow]:
    """The problems `stage` recorded, by item, in the order it recorded them."""
    return [
        ErrorRow(*row)
        for row in db.connection.execute(
            "SELECT item, message FROM errors WHERE stage = ? ORDER BY item, id", (stage,)
        )
    ]


def items_with_errors(db: Database, stage: str | None = None) -> int:
    """How many items have problems: of one stage (entries, for compile), or of any stage
    (an item named by two stages counts once)."""
    if stage is None:
        sql, parameters = "SELECT count(DISTINCT item) FROM errors", ()
    else:
        sql, parameters = "SELECT count(DISTINCT item) FROM errors WHERE stage = ?", (stage,)
    return int(db.connection.execute(sql, parameters).fetchone()[0])


def stage_items_with_errors(db: Database) -> int:
    """How many (stage, item) pairs have problems."""
    return int(
        db.connection.execute("SELECT count(DISTINCT stage || item) FROM errors").fetchone()[0]
    )


def compile_errors_by_owner(db: Database) -> dict[int, int]:
    """Owner id -> how many problems compile recorded for its entries."""
    return dict(
        db.connection.execute(
            "SELECT x.owner_id, count(*) FROM owner_entries x JOIN entries e ON e.id = x.entry_id "
            "JOIN errors err ON err.stage = 'compile' AND err.item = e.dir_name GROUP BY x.owner_id"
        )
    )
