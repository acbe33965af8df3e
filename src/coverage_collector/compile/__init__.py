"""`cluster compile`: the collection into a compact SQLite database, fast, exact, incremental."""

from coverage_collector.analysis import DEFAULT_EXCLUDES
from coverage_collector.compile.filters import UPDATE_FIELDS, UpdateFilter, parse_update
from coverage_collector.compile.run import Options, Summary, run

__all__ = [
    "DEFAULT_EXCLUDES",
    "UPDATE_FIELDS",
    "Options",
    "Summary",
    "UpdateFilter",
    "parse_update",
    "run",
]
