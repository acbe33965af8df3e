"""The collection database: the only package that runs SQLite statements.

`open_database` / `open_existing` / `open_readonly` return a `Database`; the modules here
read and write it through typed functions returning frozen dataclasses, so a column added
to the schema is added in one place.
"""

from coverage_collector.database.connection import (
    DB_NAME,
    Database,
    DatabaseError,
    db_path,
    open_database,
    open_existing,
    open_readonly,
    require_database,
)
from coverage_collector.database.errors import compile_error_count
from coverage_collector.database.schema import SCHEMA_VERSION
from coverage_collector.database.settings import get_setting, set_setting

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "Database",
    "DatabaseError",
    "compile_error_count",
    "db_path",
    "get_setting",
    "open_database",
    "open_existing",
    "open_readonly",
    "require_database",
    "set_setting",
]
