"""The problems each stage recorded per item (entry, binary, repository)."""

from __future__ import annotations

import os

from coverage_collector.database.connection import db_path, open_readonly


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
