"""Annotate one source file with its coverage, line by line, as HTML fragments.

Coverage spans are placed exactly where `go tool cover -html` places them (a port of
x/tools/cover's `Profile.Boundaries`, which counts byte columns); each line's count is
the largest count of the blocks that touch it, -1 when no block does (the prior tool's
rule). Syntax highlighting comes from Pygments; coverage spans and token spans are
split at line ends, so every line is a self-contained fragment that a report can show
on its own (list, source and split views, lazy loading).
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pygments.lexers.go import GoLexer
from pygments.token import STANDARD_TYPES, _TokenType

from coverage_collector.covdata.arrays import run_offsets

UNTRACKED = -1


@dataclass(frozen=True)
class Blocks:
    """The coverage blocks of one file, sorted by start position (line, byte column)."""

    start_line: npt.NDArray[np.int64]
    start_col: npt.NDArray[np.int64]
    end_line: npt.NDArray[np.int64]
    end_col: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]

    @classmethod
    def of(cls, sl, sc, el, ec, counts) -> Blocks:  # type: ignore[no-untyped-def]
        """Build from parallel sequences (any order); sorted as cover sorts them."""
        columns = [np.asarray(c, dtype=np.int64) for c in (sl, sc, el, ec, counts)]
        order = np.lexsort((columns[1], columns[0]))
        return cls(*(c[order] for c in columns))

    def __len__(self) -> int:
        return len(self.counts)


def line_counts(blocks: Blocks, n_lines: int) -> npt.NDArray[np.int64]:
    """Per line (index 0 is line 1): the largest count of the blocks touching it, or -1."""
    result = np.full(n_lines, UNTRACKED, dtype=np.int64)
    if not len(blocks):
        return result
    first = np.clip(blocks.start_line, 1, n_lines) - 1
    last = np.clip(blocks.end_line, 1, n_lines) - 1
    owner, offset = run_offsets(np.maximum(last - first + 1, 0))
    np.maximum.at(result, first[owner] + offset, blocks.counts[owner])
    return result


def boundaries(src: bytes, blocks: Blocks) -> list[tuple[int, bool, int]]:
    """(byte offset, starts a block, count) where blocks start and end, as cover does.

    A direct port of x/tools/cover `Profile.Boundaries`, quirks included (line 1 starts
    at column 2), so spans land on the same bytes as in `go tool cover -html`.
    """
    found: list[tuple[int, bool, int]] = []
    sl, sc, el, ec = (
        b.tolist() for b in (blocks.start_line, blocks.start_col, blocks.end_line, blocks.end_col)
    )
    counts = blocks.counts.tolist()
    line, col, si, bi = 1, 2, 0, 0
    while si < len(src) and bi < len(counts):
        if sl[bi] == line and sc[bi] == col:
            found.append((si, True, counts[bi]))
        if (el[bi] == line and ec[bi] == col) or line > el[bi]:
            found.append((si, False, 0))
            bi += 1
            continue
        if src[si] == 0x0A:
            line += 1
            col = 0
        col += 1
        si += 1
    found.sort(key=lambda b: b[0])  # stable: at one offset, the order they were found
    return found


def char_counts(source: str, blocks: Blocks) -> list[int | None]:
    """Per character of `source`: the count of the block it is in, or None outside blocks."""
    src = source.encode("utf-8", "surrogateescape")
    char_of_byte = _char_index(source, len(src))
    counts: list[int | None] = [None] * len(source)
    current: int | None = None
    position = 0
    for offset, starts, count in boundaries(src, blocks):
        here = char_of_byte[offset]
        counts[position:here] = [current] * (here - position)
        position, current = here, (count if starts else None)
    counts[position:] = [current] * (len(source) - position)
    return counts


def _char_index(source: str, n_bytes: int) -> list[int]:
    """For every byte offset of the UTF-8 encoding (and the end), the character index."""
    index = []
    for position, char in enumerate(source):
        index.extend([position] * len(char.encode("utf-8", "surrogateescape")))
    index.append(len(source))
    assert len(index) == n_bytes + 1
    return index


@dataclass(frozen=True)
class AnnotatedLine:
    number: int
    count: int
    """Largest count of the blocks touching the line; -1 when it is not tracked."""
    html: str
    """The line's source as HTML: token spans inside coverage spans, escaped."""


def annotate(source: str, blocks: Blocks) -> list[AnnotatedLine]:
    """Return the source's lines as HTML with syntax and coverage spans, and their counts."""
    per_char = char_counts(source, blocks)
    lines = source.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line, it does not start one
    counts = line_counts(blocks, len(lines)).tolist()
    pieces: list[list[tuple[str, str, int | None]]] = [[] for _ in lines]
    for line, text, token_class, coverage in _pieces(source, per_char):
        if line < len(pieces):
            pieces[line].append((text, token_class, coverage))
    return [AnnotatedLine(n + 1, counts[n], _line_html(parts)) for n, parts in enumerate(pieces)]


def _line_html(pieces: list[tuple[str, str, int | None]]) -> str:
    """One line's HTML: runs of equal coverage in one span, tokens in spans inside it."""
    out = []
    for coverage, run in itertools.groupby(pieces, key=lambda piece: piece[2]):
        inner = "".join(_token_html(text, css) for text, css, _ in run)
        if coverage is None:
            out.append(inner)
        else:
            state = "hit" if coverage > 0 else "miss"
            out.append(f'<span class="cov-{state}" data-count="{coverage}">{inner}</span>')
    return "".join(out)


def _pieces(source: str, per_char: list[int | None]) -> Iterator[tuple[int, str, str, int | None]]:
    """(line index, text, token class, count) runs, cut at token, coverage and line ends."""
    lexer = GoLexer(stripnl=False, ensurenl=False)
    line = 0
    for start, token, value in lexer.get_tokens_unprocessed(source):
        css = _css_class(token)
        position = start
        for index, part in enumerate(value.split("\n")):
            line += index > 0
            cut, end = position, position + len(part)
            while cut < end:
                stop = cut + 1
                while stop < end and per_char[stop] == per_char[cut]:
                    stop += 1
                yield line, source[cut:stop], css, per_char[cut]
                cut = stop
            position = end + 1


def _css_class(token: _TokenType) -> str:
    while token not in STANDARD_TYPES:
        token = token.parent
    return STANDARD_TYPES[token]


def _token_html(text: str, css: str) -> str:
    escaped = html.escape(text, quote=False).replace("\t", "    ")
    return f'<span class="{css}">{escaped}</span>' if css and css != "w" else escaped
