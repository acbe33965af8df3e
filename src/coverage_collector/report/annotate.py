"""Annotate source files with coverage, for a report that stays small and fast at scale.

Two independent parts, so that work is shared:

* `highlight(source)`: a file's lines as HTML (Pygments tokens, escaped), computed once per
  distinct file content however many binaries contain the file;
* `coverage_spans(source, blocks)`: per line, the character ranges of each coverage block
  and its count, placed exactly where `go tool cover -html` places its spans (Go's block
  columns count bytes; x/tools/cover's `Boundaries`, quirks included).

The report's script wraps the ranges around the highlighted text of the line it shows. Each
line's count comes from `results.line_counts`, as in the exports and BigQuery.
"""

from __future__ import annotations

import html

import numpy as np
import numpy.typing as npt
from pygments.lexers.go import GoLexer
from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES, _TokenType

from coverage_collector.covdata.arrays import run_offsets
from coverage_collector.results import Blocks

Span = tuple[int, int, int, int]
"""(line index, first character, end character, count) of a coverage range on one line."""


def coverage_spans(source: bytes, blocks: Blocks) -> list[Span]:
    """The character ranges of every block on every line it spans, in block order.

    A block starts where cover's walk meets (start line, start column) exactly and ends
    where it meets (end line, end column), or at the first byte of a later line; on line 1
    the walk starts at column 2. Blocks whose start is never met get no range.
    Vectorised over blocks and lines; only non-ASCII lines need per-line work.
    """
    if not len(blocks) or not source:
        return []
    owner, line, low, high, starts = _ranges(source, blocks)
    counts = blocks.counts[owner]
    if source.isascii():
        a, b = low - starts[line], high - starts[line]
        return list(zip(line.tolist(), a.tolist(), b.tolist(), counts.tolist(), strict=True))
    text = _LineText(source, starts)
    return [
        (ln, text.char(ln, lo), text.char(ln, hi), c)
        for ln, lo, hi, c in zip(
            line.tolist(), low.tolist(), high.tolist(), counts.tolist(), strict=True
        )
    ]


def span_blocks(source: bytes, blocks: Blocks) -> list[int]:
    """The index in `blocks` of each range `coverage_spans` returns, in its order: what lets
    the page colour the ranges again with the counts of some owners only (report/whoran.py)."""
    if not len(blocks) or not source:
        return []
    owner: list[int] = _ranges(source, blocks)[0].tolist()
    return owner


_Ranges = tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]


def _ranges(source: bytes, blocks: Blocks) -> _Ranges:
    """Per range: its block's index, its line index, its first and end byte offsets; and
    each line's first byte."""
    newlines = np.flatnonzero(np.frombuffer(source, dtype=np.uint8) == 0x0A)
    starts = np.concatenate(([0], newlines + 1)).astype(np.int64)  # each line's first byte
    line_end = np.concatenate((newlines + 1, [len(source)])).astype(np.int64)
    n_lines = len(starts)
    sl, sc, el, ec = blocks.start_line, blocks.start_col, blocks.end_line, blocks.end_col
    begin, begun = _offsets(sl, sc, starts, line_end)
    end, ended = _offsets(el, ec, starts, line_end)
    later = np.where(el < n_lines, starts[np.clip(el, 0, n_lines - 1)], len(source))
    end = np.where(ended, end, later)  # not met exactly: cover ends it at the next line
    first = sl - 1
    last = np.minimum(np.maximum(el, sl), n_lines) - 1
    lengths = np.where(begun, np.maximum(last - first + 1, 0), 0)
    owner, step = run_offsets(lengths)
    line = first[owner] + step
    low = np.maximum(begin[owner], starts[line])
    high = np.minimum(end[owner], line_end[line])
    keep = (low < high) | ((low == high) & (sl[owner] == el[owner]))
    return owner[keep], line[keep], low[keep], high[keep], starts


def _offsets(
    lines: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    line_end: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Byte offsets of (line, column) positions as cover's walk counts them, and whether
    the walk meets each one (the position exists in the file)."""
    n_lines = len(starts)
    index = np.clip(lines, 1, n_lines) - 1
    offset = starts[index] + cols - np.where(lines == 1, 2, 1)
    met = (lines >= 1) & (lines <= n_lines) & (offset >= starts[index]) & (offset < line_end[index])
    return offset, met


class _LineText:
    """Byte offsets to character offsets within a line (UTF-8; ASCII lines need no work)."""

    def __init__(self, source: bytes, starts: npt.NDArray[np.int64]) -> None:
        self.source = source
        self.starts = starts
        self._maps: dict[int, list[int]] = {}

    def char(self, line: int, byte_offset: int) -> int:
        start = int(self.starts[line])
        end = int(self.starts[line + 1]) if line + 1 < len(self.starts) else len(self.source)
        raw = self.source[start:end]
        if raw.isascii():
            return byte_offset - start
        mapping = self._maps.get(line)
        if mapping is None:
            mapping = []
            for position, char in enumerate(raw.decode("utf-8", "surrogateescape")):
                mapping.extend([position] * len(char.encode("utf-8", "surrogateescape")))
            mapping.append(len(raw.decode("utf-8", "surrogateescape")))
            self._maps[line] = mapping
        return mapping[byte_offset - start]


def _styled_classes() -> frozenset[str]:
    """CSS classes the Pygments style gives a look: other tokens need no span (most
    identifiers and punctuation), which keeps highlighted files a fraction of the size."""
    style = get_style_by_name(STYLE)
    keys = ("color", "bold", "italic", "underline", "bgcolor", "border")
    return frozenset(
        css
        for token, css in STANDARD_TYPES.items()
        if css and css != "w" and any(style.style_for_token(token)[k] for k in keys)
    )


STYLE = "default"
STYLED = _styled_classes()


def highlight(source: str) -> list[str]:
    """The source's lines as HTML: Pygments token spans, everything escaped, tabs kept."""
    lines: list[list[tuple[str, str]]] = [[]]
    lexer = GoLexer(stripnl=False, ensurenl=False)
    for token, value in lexer.get_tokens(source):
        css = _css_class(token)
        css = css if css in STYLED else ""
        for index, part in enumerate(value.split("\n")):
            if index:
                lines.append([])
            if not part:
                continue
            line = lines[-1]
            if line and line[-1][0] == css:
                line[-1] = (css, line[-1][1] + part)  # one span for a run of one class
            else:
                line.append((css, part))
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # a final newline ends the last line, it does not start one
    return ["".join(_token_html(css, text) for css, text in line) for line in lines]


def _token_html(css: str, text: str) -> str:
    escaped = html.escape(text, quote=False)
    return f'<span class="{css}">{escaped}</span>' if css else escaped


def _css_class(token: _TokenType) -> str:
    while token not in STANDARD_TYPES:
        token = token.parent
    return STANDARD_TYPES[token]
