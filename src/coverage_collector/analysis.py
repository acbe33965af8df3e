"""Coverage numbers of one binary's counters: totals, per file, per function.

The analyses of the results layer (`results.py` holds `Numbers` and the merge engine): one
function each for the totals, the files and the functions of a binary, whether its counters
are the whole binary's or one owner's merge, so compile, render, export, diff and BigQuery
show the same figures.

All vector operations over the binary's unit arrays. Units of excluded files (the injected
coverage server and producer) count nowhere.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coverage_collector.covdata.model import BoolArray, IntArray, MetaFile
from coverage_collector.results import Numbers, int64_counts

DEFAULT_EXCLUDES = ("coverage_server.go", "coverage_producer.go")
"""Base names of the files the build injects into every binary: not the application."""


def application_units(meta: MetaFile, excludes: Sequence[str]) -> BoolArray:
    """Return, per unit, whether its file's base name matches none of `excludes`."""
    excluded = np.zeros(len(meta.strings), dtype=bool)
    for index in np.unique(meta.func_file).tolist():
        name = os.path.basename(meta.strings[index])
        excluded[index] = any(fnmatch.fnmatchcase(name, glob) for glob in excludes)
    return ~excluded[meta.func_file[meta.unit_func]]


def totals(meta: MetaFile, counts: np.ndarray, app: BoolArray) -> Numbers:
    """Return statements and covered statements of the application units."""
    stmts = meta.stmts.astype(np.int64)
    return Numbers(int(stmts[app].sum()), int(stmts[app & (counts != 0)].sum()))


@dataclass(frozen=True)
class FileTable:
    """The application's source files of a binary, sorted by path: `file_id` is the index."""

    paths: list[str]
    string_to_file: IntArray
    """For every string of the meta file, its file id, or -1."""


def file_table(meta: MetaFile, app: BoolArray) -> FileTable:
    """Return the binary's application files (those with at least one application unit)."""
    file_strings = np.unique(meta.func_file[meta.unit_func[app]])
    paths = sorted((meta.strings[int(i)], int(i)) for i in file_strings)
    string_to_file = np.full(len(meta.strings), -1, dtype=np.int64)
    for file_id, (_, string) in enumerate(paths):
        string_to_file[string] = file_id
    return FileTable([p for p, _ in paths], string_to_file)


@dataclass(frozen=True)
class FileStats:
    statements: IntArray
    covered: IntArray


def file_stats(meta: MetaFile, counts: np.ndarray, table: FileTable, app: BoolArray) -> FileStats:
    """Return statements and covered statements per file of `table`."""
    file_of_unit = table.string_to_file[meta.func_file[meta.unit_func]]
    units = np.flatnonzero(app)
    ids = file_of_unit[units]
    stmts = meta.stmts[units].astype(np.int64)
    n = len(table.paths)
    hit = counts[units] != 0
    return FileStats(
        np.bincount(ids, weights=stmts, minlength=n).astype(np.int64),
        np.bincount(ids, weights=np.where(hit, stmts, 0), minlength=n).astype(np.int64),
    )


@dataclass(frozen=True)
class FunctionStats:
    """Per application function: its index in the meta file and its numbers."""

    func_ids: IntArray
    statements: IntArray
    covered: IntArray
    executions: IntArray
    """The counter of the function's entry block: how often it was called."""


def function_stats(meta: MetaFile, counts: np.ndarray, app: BoolArray) -> FunctionStats:
    """Return the numbers of every function of the application files."""
    n = meta.n_funcs
    stmts = meta.stmts.astype(np.int64)
    hit = counts != 0
    statements = np.bincount(meta.unit_func, weights=stmts, minlength=n).astype(np.int64)
    covered = np.bincount(meta.unit_func, weights=np.where(hit, stmts, 0), minlength=n)
    units = np.diff(meta.func_units)
    executions = np.zeros(n, dtype=np.int64)
    has_units = units > 0
    entry = meta.func_units[:-1][has_units]
    executions[has_units] = int64_counts(counts[entry])
    app_funcs = np.zeros(n, dtype=bool)
    app_funcs[meta.unit_func[app]] = True
    app_funcs |= ~has_units & _app_files(meta, app)[meta.func_file]
    func_ids = np.flatnonzero(app_funcs)
    return FunctionStats(
        func_ids,
        statements[func_ids],
        covered.astype(np.int64)[func_ids],
        executions[func_ids],
    )


def _app_files(meta: MetaFile, app: BoolArray) -> BoolArray:
    """Per string: whether it is a file with application units."""
    files = np.zeros(len(meta.strings), dtype=bool)
    files[meta.func_file[meta.unit_func[app]]] = True
    return files


def units_by_file(meta: MetaFile, app: BoolArray) -> dict[str, IntArray]:
    """Per application file path: the indexes of its application units."""
    file_of_unit = meta.func_file[meta.unit_func]
    order = np.argsort(file_of_unit, kind="stable")
    ordered = file_of_unit[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(order) else order
    by_file: dict[str, IntArray] = {}
    for start, end in zip(starts.tolist(), [*starts[1:].tolist(), len(order)], strict=True):
        units = order[start:end]
        units = units[app[units]]
        if len(units):
            by_file[meta.strings[int(ordered[start])]] = units
    return by_file


def blocks_by_file(
    meta: MetaFile, app: BoolArray, counts: np.ndarray
) -> dict[str, tuple[IntArray, ...]]:
    """Per application file path: its units' (start line, start column, end line, end column,
    count), the blocks of a Go text profile."""
    return {
        path: (
            meta.start_line[units],
            meta.start_col[units],
            meta.end_line[units],
            meta.end_col[units],
            counts[units],
        )
        for path, units in units_by_file(meta, app).items()
    }
