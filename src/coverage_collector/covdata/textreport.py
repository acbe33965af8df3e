"""The text of covdata's reports (`textfmt`, `percent`, `func`, `pkglist`), byte for byte.

Plain Python over plain lists: both the vectorised unit table (`profile`) and the
numpy-free small-input path (`small`) print through these functions, so the two can
never word or round a figure differently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from coverage_collector.covdata.model import CounterMode, go_bytes, go_name

TAB_WIDTH = 8
TEXT_LINE = "{}:{}.{},{}.{} {} {}\n"
"""A unit's line: file, start line.column, end line.column, statements, count."""


@dataclass(frozen=True)
class UnitColumns:
    """Consecutive units of a text profile, column by column (Python lists)."""

    files: list[str]
    start_line: list[int]
    start_col: list[int]
    end_line: list[int]
    end_col: list[int]
    stmts: list[int]
    counts: list[int]


@dataclass(frozen=True)
class FuncLine:
    """One row of `func`: a function (not a literal) and its statement totals."""

    file: str
    line: int
    name: str
    covered: int
    statements: int


def mode_line(mode: CounterMode | int) -> bytes:
    """Return the text profile's first line."""
    return go_bytes(f"mode: {go_name(mode)}\n")


def unit_lines(units: UnitColumns) -> bytes:
    """Return the text profile lines of `units`."""
    text = "".join(
        map(
            TEXT_LINE.format,
            units.files,
            units.start_line,
            units.start_col,
            units.end_line,
            units.end_col,
            units.stmts,
            units.counts,
        )
    )
    return go_bytes(text)


def percent_report(packages: Iterable[str], totals: dict[str, tuple[int, int]]) -> bytes:
    """Return `percent`'s lines: every package in byte order, with `coverage: N% of
    statements` where `totals` (import path -> covered, statements) has statements (Go
    prints a package without statements with no line end)."""
    out = []
    for path in sorted(packages, key=go_bytes):
        out.append(f"\t{path}\t\t")
        covered, statements = totals.get(path, (0, 0))
        if statements:
            out.append(f"coverage: {100.0 * covered / statements:.1f}% of statements\n")
    return go_bytes("".join(out))


def func_report(functions: Iterable[FuncLine], covered: int, statements: int) -> bytes:
    """Return `func`'s table: one row per function, then the `total` row."""
    rows = [(f"{f.file}:{f.line}:", f.name, pct(f.covered, f.statements)) for f in functions]
    rows.append(("total", "(statements)", pct(covered, statements)))
    return go_bytes(tabulate(rows))


def pkglist_report(packages: Iterable[str]) -> bytes:
    """Return `pkglist`'s lines: the import paths in byte order."""
    return go_bytes("".join(f"{p}\n" for p in sorted(packages, key=go_bytes)))


def pct(covered: int, total: int) -> str:
    """Return covdata's `func` figure: one decimal, 0.0% without statements."""
    return f"{100.0 * covered / max(total, 1):.1f}%"


def tabulate(rows: Sequence[tuple[str, str, str]]) -> str:
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
