"""`cluster compile`: the collection into a compact SQLite database, fast, exact, incremental."""

from coverage_collector.compiler.filters import UPDATE_FIELDS, UpdateFilter, parse_update
from coverage_collector.compiler.run import Options, Summary, run
from coverage_collector.compiler.stats import DEFAULT_EXCLUDES

__all__ = [
    "DEFAULT_EXCLUDES",
    "UPDATE_FIELDS",
    "Options",
    "Summary",
    "UpdateFilter",
    "parse_update",
    "run",
]
