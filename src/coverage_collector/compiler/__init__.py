"""`cluster compile`: the collection into a compact SQLite database, fast, exact, incremental."""

from coverage_collector.compiler.filters import UPDATE_FIELDS, UpdateFilter, parse_update
from coverage_collector.compiler.run import CompileOptions, CompileSummary, compile_collection
from coverage_collector.compiler.stats import DEFAULT_EXCLUDES

__all__ = [
    "DEFAULT_EXCLUDES",
    "UPDATE_FIELDS",
    "CompileOptions",
    "CompileSummary",
    "UpdateFilter",
    "compile_collection",
    "parse_update",
]
