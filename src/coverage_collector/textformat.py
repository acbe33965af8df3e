"""Plain-text tables shared by the commands that print for CI logs and pull requests.

Cells hold names from the cluster (namespaces, owners, binaries, file paths), so every cell
is treated as text, never as markup: markdown cells go through `trust.markdown`, terminal
cells through `trust.terminal` and become rich `Text` (no console markup, no emoji codes).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from coverage_collector import trust


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub/GitLab markdown table whose cells render as the text they hold.

    `|`, backticks, `<`, `>` and other markup are escaped and line breaks and control
    characters are shown as escapes, so a hostile name keeps the column count and renders
    no HTML."""
    lines = [_markdown_row(header), "|" + "---|" * len(header)]
    lines += [_markdown_row(row) for row in rows]
    return "\n".join(lines)


def _markdown_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(trust.markdown(c) for c in cells) + " |"


def terminal_cell(value: str) -> Text:
    """`value` as a rich table cell: control characters escaped (no raw ESC, no line break
    that would start a fake row), and neither rich markup nor emoji codes interpreted."""
    return Text(trust.terminal(value))
