"""Text colours that stay readable: WCAG AA asks 4.5:1 between text and its background.

Pygments' styles are made for white pages: on the viewer's covered and uncovered line
tints their keywords and comments fall to 3:1 and below (and no stock light style passes).
The source viewer's syntax colours are therefore darkened, each keeping its hue, until
they reach the ratio on every background a line of source can have.
"""

from __future__ import annotations

import re

AA_TEXT = 4.5
"""WCAG 2 AA, normal text."""
MARGIN = 0.1
"""Kept above AA_TEXT: browsers round colours when they blend."""
SOURCE_BACKGROUNDS = ("#ffffff", "#e6f4ea", "#fdecea")
"""A line's backgrounds in report.css: the page, `--hit`, `--miss`."""

_COLOR = re.compile(r"(?<![-\w])color: #([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _luminance(color: str) -> float:
    """WCAG's relative luminance."""
    channels = [c / 255 for c in _rgb(color)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two `#rrggbb` (or `#rgb`) colours, 1 to 21."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable(color: str, backgrounds: tuple[str, ...] = SOURCE_BACKGROUNDS) -> str:
    """`color`, darkened (same hue, 5% at a time) until it has AA contrast on each of
    `backgrounds` (light ones); unchanged when it already has."""
    red, green, blue = _rgb(color)
    scale = 1.0
    while True:
        shade = "#{:02x}{:02x}{:02x}".format(*(round(c * scale) for c in (red, green, blue)))
        if scale <= 0 or min(contrast(shade, b) for b in backgrounds) >= AA_TEXT + MARGIN:
            return shade if scale < 1.0 else color
        scale = max(0.0, scale - 0.05)


def readable_css(css: str, backgrounds: tuple[str, ...] = SOURCE_BACKGROUNDS) -> str:
    """`css` with every text colour (`color: #...`, not background or border colours)
    made `readable` on `backgrounds`."""
    return _COLOR.sub(lambda m: f"color: {readable('#' + m.group(1), backgrounds)}", css)
