"""Combine binaries unit by unit and print covdata's `textfmt`, `percent`, `func`, `pkglist`.

Mirrors `internal/coverage/cformat`: units are keyed by import path, source file,
function name, literal flag and position; identical keys from several binaries
merge (OR in set mode, saturating add otherwise) in the mode of the first binary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coverage_collector import results
from coverage_collector.covdata.model import (
    CounterMode,
    IntArray,
    MetaFile,
    go_bytes,
    go_name,
)

U32_MAX = 0xFFFFFFFF
TAB_WIDTH = 8


@dataclass
class UnitTable:
    """Merged, sorted units of every package, ready to print (one row per unit key)."""

    pkg: IntArray
    """Rank of the import path, in byte order."""
    file: IntArray
    func: IntArray
    lit: IntArray
    start_line: IntArray
    start_col: IntArray
    end_line: IntArray
    end_col: IntArray
    stmts: IntArray
    counts: IntArray


class Profile:
    """The formatter: accumulates units of several binaries in one counter mode."""

    def __init__(self, mode: CounterMode | int) -> None:
        self.mode = mode
        self.strings: dict[str, int] = {}
        self.packages: set[str] = set()
        self._parts: list[dict[str, IntArray]] = []
        self._merged: tuple[UnitTable, list[str]] | None = None

    def _intern(self, values: list[str]) -> IntArray:
        return np.array([self.strings.setdefault(v, len(self.strings)) for v in values], np.int64)

    def add(self, meta: MetaFile, counts: np.ndarray, selected: list[bool]) -> None:
        """Add the units of the packages of `meta` marked in `selected`, with `counts`."""
        chosen = [i for i, keep in enumerate(selected) if keep]
        self.packages.update(meta.packages[i].path for i in chosen)
        pkg_ids = self._intern([p.path for p in meta.packages])
        string_ids = self._intern(meta.strings)
        unit_pkg = meta.func_pkg[meta.unit_func]
        mask = np.zeros(len(meta.packages), dtype=bool)
        mask[chosen] = True
        units = np.flatnonzero(mask[unit_pkg]) if len(unit_pkg) else np.zeros(0, np.int64)
        funcs = meta.unit_func[units]
        self._merged = None
        self._parts.append(
            {
                "pkg": pkg_ids[unit_pkg[units]] if len(units) else units,
                "file": string_ids[meta.func_file[funcs]] if len(units) else units,
                "func": string_ids[meta.func_name[funcs]] if len(units) else units,
                "lit": meta.func_lit[funcs].astype(np.int64),
                "start_line": meta.start_line[units].astype(np.int64),
                "start_col": meta.start_col[units].astype(np.int64),
                "end_line": meta.end_line[units].astype(np.int64),
                "end_col": meta.end_col[units].astype(np.int64),
                "stmts": meta.stmts[units].astype(np.int64),
                "counts": np.asarray(counts)[units].astype(np.int64),
            }
        )

    def _string_ranks(self) -> tuple[list[str], IntArray]:
        """Return the interned strings and each one's rank in byte order."""
        names = list(self.strings)
        order = sorted(range(len(names)), key=lambda i: go_bytes(names[i]))
        ranks = np.empty(len(names), dtype=np.int64)
        ranks[order] = np.arange(len(names))
        return names, ranks

    def units(self) -> tuple[UnitTable, list[str]]:
        """Merge duplicate unit keys and sort as covdata does; return the table and the strings.

        The order is import path, then file, start line, end line, start column,
        end column, statements (covdata's order); function name and literal flag
        only break ties, which covdata leaves unspecified.
        """
        if self._merged is None:
            self._merged = self._merge_units()
        return self._merged

    def _merge_units(self) -> tuple[UnitTable, list[str]]:
        names, ranks = self._string_ranks()
        fields = list(UnitTable.__dataclass_fields__)
        cols = {f: np.concatenate([p[f] for p in self._parts]) for f in fields}
        for f in ("pkg", "file", "func"):
            cols[f] = ranks[cols[f]] if len(cols[f]) else cols[f]
        keys = [cols[f] for f in fields[:-1]]
        sort_keys = [keys[i] for i in (0, 1, 4, 6, 5, 7, 8, 2, 3)]
        order = np.lexsort(sort_keys[::-1])
        cols = {f: c[order] for f, c in cols.items()}
        if len(order):
            new_key = np.ones(len(order), dtype=bool)
            new_key[1:] = np.any([np.diff(cols[f]) != 0 for f in fields[:-1]], axis=0)
            starts = np.flatnonzero(new_key)
            counts = cols["counts"]
            merged = results.merge_runs(counts, starts, self.mode)
            merged = np.minimum(merged, U32_MAX).astype(np.int64)  # covdata saturates
            cols = {f: c[starts] for f, c in cols.items()}
            cols["counts"] = merged
        sorted_names = [""] * len(names)
        for index, rank in enumerate(ranks.tolist()):
            sorted_names[rank] = names[index]
        return UnitTable(**cols), sorted_names

    def textfmt(self) -> bytes:
        """Return the text profile (`mode:` line plus one line per unit)."""
        lines = [f"mode: {go_name(self.mode)}\n"]
        if self._parts:
            table, names = self.units()
            files = [names[i] for i in table.file.tolist()]
            rows = zip(
                files,
                table.start_line.tolist(),
                table.start_col.tolist(),
                table.end_line.tolist(),
                table.end_col.tolist(),
                table.stmts.tolist(),
                table.counts.tolist(),
                strict=True,
            )
            lines.extend(f"{f}:{sl}.{sc},{el}.{ec} {n} {c}\n" for f, sl, sc, el, ec, n, c in rows)
        return go_bytes("".join(lines))

    def percent(self) -> bytes:
        """Return one `coverage: N% of statements` line per import path."""
        total: dict[str, int] = {}
        covered: dict[str, int] = {}
        if self._parts:
            table, names = self.units()
            stmts = table.stmts
            all_per_pkg = np.bincount(table.pkg, weights=stmts, minlength=len(names))
            cov_per_pkg = np.bincount(
                table.pkg, weights=np.where(table.counts != 0, stmts, 0), minlength=len(names)
            )
            for rank in np.unique(table.pkg).tolist():
                total[names[rank]] = int(all_per_pkg[rank])
                covered[names[rank]] = int(cov_per_pkg[rank])
        out = []
        for path in sorted(self.packages, key=go_bytes):
            out.append(f"\t{path}\t\t")
            if total.get(path):
                out.append(f"coverage: {100.0 * covered[path] / total[path]:.1f}% of statements\n")
        return go_bytes("".join(out))

    def funcs(self) -> bytes:
        """Return the per-function table with its `total` row, tab-aligned like covdata."""
        rows: list[tuple[str, str, str]] = []
        all_stmts = covered_stmts = 0
        if self._parts:
            table, names = self.units()
            n = len(table.stmts)
            if n:
                boundary = np.ones(n, dtype=bool)
                boundary[1:] = (np.diff(table.pkg) != 0) | (np.diff(table.func) != 0)
                starts = np.flatnonzero(boundary)
                group_total = np.add.reduceat(table.stmts, starts)
                group_cov = np.add.reduceat(np.where(table.counts != 0, table.stmts, 0), starts)
                all_stmts = int(group_total.sum())
                covered_stmts = int(group_cov.sum())
                rows = [
                    (f"{names[f]}:{line}:", names[fn], _pct(c, t))
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
        rows.append(("total", "(statements)", _pct(covered_stmts, all_stmts)))
        return go_bytes(tabulate(rows))


def _pct(covered: int, total: int) -> str:
    return f"{100.0 * covered / max(total, 1):.1f}%"


def tabulate(rows: list[tuple[str, str, str]]) -> str:
    """Align three-cell rows as `text/tabwriter` does with covdata's settings.

    covdata uses minwidth 1, tabwidth 8, padding 1 and tab padding: each of the first
    two columns is as wide as its widest cell plus one, rounded up to a tab stop,
    and filled with tabs. Widths count runes, as Go does.
    """
    widths = []
    for col in (0, 1):
        width = max(*(len(row[col]) + 1 for row in rows), 1)
        widths.append(-(-width // TAB_WIDTH) * TAB_WIDTH)

    def pad(text: str, width: int) -> str:
        return text + "\t" * -(-(width - len(text)) // TAB_WIDTH)

    return "".join(f"{pad(a, widths[0])}{pad(b, widths[1])}{c}\n" for a, b, c in rows)
