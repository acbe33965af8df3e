"""Combine binaries unit by unit and print covdata's `textfmt`, `percent`, `func`, `pkglist`.

Mirrors `internal/coverage/cformat`: units are keyed by import path, source file,
function name, literal flag and position; identical keys from several binaries
merge (OR in set mode, saturating add otherwise) in the mode of the first binary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from coverage_collector import results
from coverage_collector.covdata.model import CounterMode, MetaFile, U32Array, go_bytes
from coverage_collector.covdata.textreport import (
    FuncLine,
    UnitColumns,
    func_report,
    mode_line,
    percent_report,
    unit_lines,
)

U32_MAX = 0xFFFFFFFF


@dataclass
class UnitTable:
    """Merged, sorted units of every package, ready to print (one row per unit key)."""

    pkg: U32Array
    """Rank of the import path, in byte order."""
    file: U32Array
    func: U32Array
    lit: U32Array
    start_line: U32Array
    start_col: U32Array
    end_line: U32Array
    end_col: U32Array
    stmts: U32Array
    counts: U32Array


SORT_ORDER = ("pkg", "file", "start_line", "end_line", "start_col", "end_col", "stmts", "func")
"""covdata's order (end line before start column), then the function name and the literal
flag, which covdata leaves unspecified, to make duplicates adjacent."""
TEXT_CHUNK = 1 << 16
"""Lines of a text profile formatted and written at a time: the whole text of a large binary
(tens of MB as Python strings) is never held at once."""


class Profile:
    """The formatter: accumulates units of several binaries in one counter mode.

    Columns are kept in 32 bits (what the files hold): a binary of 200,000 units costs
    a few MB here.
    """

    def __init__(self, mode: CounterMode | int) -> None:
        self.mode = mode
        self.strings: dict[str, int] = {}
        self.packages: set[str] = set()
        self._parts: list[dict[str, np.ndarray]] = []
        self._merged: tuple[UnitTable, list[str]] | None = None

    def _intern(self, values: list[str]) -> np.ndarray:
        ids = [self.strings.setdefault(v, len(self.strings)) for v in values]
        return np.array(ids, dtype=np.uint32)

    def add(self, meta: MetaFile, counts: np.ndarray, selected: list[bool]) -> None:
        """Add the units of the packages of `meta` marked in `selected`, with `counts`."""
        chosen = [i for i, keep in enumerate(selected) if keep]
        self.packages.update(meta.packages[i].path for i in chosen)
        pkg_ids = self._intern([p.path for p in meta.packages])
        string_ids = self._intern(meta.strings)
        self._merged = None
        if len(chosen) == len(selected):
            units = slice(None)  # every package: no index arrays needed
            funcs = meta.unit_func
        else:
            mask = np.zeros(len(meta.packages), dtype=bool)
            mask[chosen] = True
            units = np.flatnonzero(mask[meta.func_pkg[meta.unit_func]])
            funcs = meta.unit_func[units]
        if not len(funcs):
            return
        self._parts.append(
            {
                "pkg": pkg_ids[meta.func_pkg[funcs]],
                "file": string_ids[meta.func_file[funcs]],
                "func": string_ids[meta.func_name[funcs]],
                "lit": meta.func_lit[funcs].astype(np.uint32),
                "start_line": meta.start_line[units],
                "start_col": meta.start_col[units],
                "end_line": meta.end_line[units],
                "end_col": meta.end_col[units],
                "stmts": meta.stmts[units],
                "counts": np.asarray(counts, dtype=np.uint32)[units],
            }
        )

    def _string_ranks(self) -> tuple[list[str], np.ndarray]:
        """Return the interned strings and each one's rank in byte order."""
        names = list(self.strings)
        if all(map(str.isascii, names)):  # code point order is byte order: no encoding
            order = sorted(range(len(names)), key=names.__getitem__)
        else:
            order = sorted(range(len(names)), key=lambda i: go_bytes(names[i]))
        ranks = np.empty(len(names), dtype=np.uint32)
        ranks[order] = np.arange(len(names), dtype=np.uint32)
        return names, ranks

    def units(self) -> tuple[UnitTable, list[str]]:
        """Merge duplicate unit keys and sort as covdata does; return the table and the strings.

        The order is import path, then file, start line, end line, start column,
        end column, statements (covdata's order); function name and literal flag
        only break ties, which covdata leaves unspecified.
        """
        if self._merged is None:
            self._merged = self._merge_units()
            # the merged table replaces the parts (re-merging it changes nothing): a large
            # binary's columns are not held twice while its text is formatted
            table, names = self._merged
            id_of_rank = np.array([self.strings[name] for name in names], dtype=np.uint32)
            part = {f: getattr(table, f) for f in UnitTable.__dataclass_fields__}
            for f in ("pkg", "file", "func"):
                part[f] = id_of_rank[part[f]]
            self._parts = [part]
        return self._merged

    def _merge_units(self) -> tuple[UnitTable, list[str]]:
        names, ranks = self._string_ranks()
        fields = list(UnitTable.__dataclass_fields__)
        if not self._parts:
            empty = np.zeros(0, dtype=np.int64)
            return UnitTable(**dict.fromkeys(fields, empty)), names
        if len(self._parts) == 1:
            cols = dict(self._parts[0])
        else:
            cols = {f: np.concatenate([p[f] for p in self._parts]) for f in fields}
        for f in ("pkg", "file", "func"):
            cols[f] = ranks[cols[f]]
        keys = pack_keys([cols[f] for f in (*SORT_ORDER, "lit")])
        order = np.lexsort(keys[::-1]) if len(keys) > 1 else np.argsort(keys[0], kind="stable")
        keys = [k[order] for k in keys]
        same = np.ones(len(order) - 1, dtype=bool)
        for key in keys:
            same &= key[1:] == key[:-1]
        del keys
        if same.any():  # the same unit in several binaries: merge its counters
            new_key = np.ones(len(order), dtype=bool)
            new_key[1:] = ~same
            starts = np.flatnonzero(new_key)
            merged = results.merge_runs(cols["counts"][order], starts, self.mode)
            order = order[starts]
            cols = {f: c[order] for f, c in cols.items()}
            cols["counts"] = np.minimum(merged, U32_MAX).astype(np.uint32)  # covdata saturates
        else:
            cols = {f: c[order] for f, c in cols.items()}
        sorted_names = [""] * len(names)
        for index, rank in enumerate(ranks.tolist()):
            sorted_names[rank] = names[index]
        return UnitTable(**cols), sorted_names

    def write_textfmt(self, handle: BinaryIO) -> None:
        """Write the text profile (`mode:` line plus one line per unit) to `handle`."""
        handle.write(mode_line(self.mode))
        if not self._parts:
            return
        table, names = self.units()
        for lo in range(0, len(table.counts), TEXT_CHUNK):
            part = slice(lo, lo + TEXT_CHUNK)
            columns = UnitColumns(
                [names[i] for i in table.file[part].tolist()],
                table.start_line[part].tolist(),
                table.start_col[part].tolist(),
                table.end_line[part].tolist(),
                table.end_col[part].tolist(),
                table.stmts[part].tolist(),
                table.counts[part].tolist(),
            )
            handle.write(unit_lines(columns))

    def percent(self) -> bytes:
        """Return one `coverage: N% of statements` line per import path."""
        totals: dict[str, tuple[int, int]] = {}
        if self._parts:
            table, names = self.units()
            stmts = table.stmts.astype(np.int64)
            all_per_pkg = np.bincount(table.pkg, weights=stmts, minlength=len(names))
            cov_per_pkg = np.bincount(
                table.pkg, weights=np.where(table.counts != 0, stmts, 0), minlength=len(names)
            )
            present = np.bincount(table.pkg, minlength=len(names))
            for rank in np.flatnonzero(present).tolist():
                totals[names[rank]] = (int(cov_per_pkg[rank]), int(all_per_pkg[rank]))
        return percent_report(self.packages, totals)

    def funcs(self) -> bytes:
        """Return the per-function table with its `total` row, tab-aligned like covdata."""
        lines: list[FuncLine] = []
        all_stmts = covered_stmts = 0
        if self._parts:
            table, names = self.units()
            n = len(table.stmts)
            if n:
                boundary = np.ones(n, dtype=bool)
                boundary[1:] = (table.pkg[1:] != table.pkg[:-1]) | (
                    table.func[1:] != table.func[:-1]
                )
                starts = np.flatnonzero(boundary)
                stmts = table.stmts.astype(np.int64)
                group_total = np.add.reduceat(stmts, starts)
                group_cov = np.add.reduceat(np.where(table.counts != 0, stmts, 0), starts)
                all_stmts = int(group_total.sum())
                covered_stmts = int(group_cov.sum())
                lines = [
                    FuncLine(names[f], line, names[fn], c, t)
                    for f, line, fn, lit, c, t in zip(
                        table.file[starts].tolist(),
                        table.start_line[starts].tolist(),
                        table.func[starts].tolist(),
                        table.lit[starts].tolist(),
                        group_cov.tolist(),
                        group_total.tolist(),
                        strict=True,
                    )
                    if not lit
                ]
        return func_report(lines, covered_stmts, all_stmts)


def pack_keys(columns: list[np.ndarray]) -> list[np.ndarray]:
    """Return uint64 keys whose lexicographic order is that of the unsigned `columns`.

    Consecutive columns share one key while their bit widths add up to 64 or less: sorting
    by two or three packed keys is several times faster than by nine columns.
    """
    keys: list[np.ndarray] = []
    key: np.ndarray | None = None
    used = 0
    for column in columns:
        bits = max(int(column.max()).bit_length(), 1) if len(column) else 1
        if key is None or used + bits > 64:
            if key is not None:
                keys.append(key)
            key, used = column.astype(np.uint64), bits
            continue
        key <<= np.uint64(bits)
        key |= column.astype(np.uint64)
        used += bits
    if key is not None:
        keys.append(key)
    return keys
