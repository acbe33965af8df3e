"""The positions of the report's positional JSON, named once for Python and report.js.

Functions, source chunks and coverage spans travel as arrays, not objects: a big binary has
tens of thousands of functions and a file thousands of spans, and repeating key names would
make the pages and data files several times larger. Their positions are defined here, by
the order of each dataclass's fields; render writes them into the report's script
(`script()`), and the templates read them from `FIELDS`, so that report.js says
`f[F.function.covered]`, never `f[4]`, and no second list of positions exists to drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class FunctionRow:
    """A named function of a binary, in `data/<hash>/functions.js` (`ccFunctions(rows)`)."""

    name: str
    file: int
    """The id of its file (a file row's `id`)."""
    line: int
    statements: int
    covered: int
    executions: int

    def to_json(self) -> list[Any]:
        return [self.name, self.file, self.line, self.statements, self.covered, self.executions]


@dataclass(frozen=True)
class SourceChunk:
    """A part of a highlighted source file, in `data/src/<digest>[-<index>].js`
    (`ccSource(chunk)`)."""

    digest: str
    index: int
    count: int
    """How many chunks the file has."""
    first: int
    """The index of the chunk's first line in the file."""
    lines: list[str]
    """The lines as HTML, escaped by the generator."""

    def to_json(self) -> list[Any]:
        return [self.digest, self.index, self.count, self.first, self.lines]


SPAN = ("line", "start", "end", "count")
"""A coverage range of one line (report/annotate.py's `Span`): the line's index, its first and
end character, the block's count. Spans are plain tuples: a file has thousands."""

TALLY = (
    "newly",
    "lost",
    "still",
    "never",
    "newCode",
    "newCovered",
    "removed",
    "baseStatements",
    "baseCovered",
    "rebuilt",
)
"""An owner's statements per category since the baseline, in the index's data files
(report/model.py's `Tallies.to_row()`; `rebuilt` is null when not known)."""

WHO_RUN = ("repeat", "entries", "instances", "clusters")
"""What an owner's entries executed, in `data/<hash>/w<group>.js` (report/whoran.py): over the
lines the owner executed, in order, runs of `repeat` lines that as many of its entries, their
process instances and its clusters executed. Flat, as spans are: a file has thousands."""

PAGE_FUNCTION = "percent"
"""What the page appends to each function row: its percent (results.py's rule), sorted on."""


def _positions(names: tuple[str, ...]) -> dict[str, int]:
    return {name: index for index, name in enumerate(names)}


def _names(row: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(row))


FIELDS: dict[str, dict[str, int]] = {
    "function": _positions((*_names(FunctionRow), PAGE_FUNCTION)),
    "sourceChunk": _positions(_names(SourceChunk)),
    "span": _positions(SPAN),
    "tally": _positions(TALLY),
    "whoRun": _positions(WHO_RUN),
}
"""Per positional format, each name's position: what report.js reads as
`coverageCollector.fields`."""


def script() -> str:
    """The JavaScript that declares the report's one global, `coverageCollector`, with the
    positions; render writes it before report.js's own code, in the same file."""
    text = json.dumps(FIELDS, indent=1, sort_keys=True)
    return (
        "// coverage-collector report: written by `cluster render` from report/fields.py and\n"
        "// report/static/report-*.js (one file, no build step).\n"
        '"use strict";\n'
        "// The report's one global; `fields`: the positions of the positional rows.\n"
        f"const coverageCollector = {{ fields: {text} }};\n"
    )
