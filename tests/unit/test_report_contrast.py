"""The report's text colours reach WCAG AA on the backgrounds they are drawn on."""

from __future__ import annotations

import re

import pytest
from pygments.formatters import HtmlFormatter

from coverage_collector.report.contrast import (
    AA_TEXT,
    SOURCE_BACKGROUNDS,
    contrast,
    readable,
    readable_css,
)


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0), ("#777777", "#ffffff", 4.48)],
)
def test_contrast_is_wcags_ratio(a: str, b: str, ratio: float) -> None:
    assert contrast(a, b) == pytest.approx(ratio, abs=0.01)  # values from the WCAG formula


def test_a_readable_colour_is_left_alone_and_a_faint_one_darkened_in_its_hue() -> None:
    assert readable("#000080") == "#000080"
    darker = readable("#3d7b7b")  # pygments' comment colour: 4.1:1 on the uncovered tint
    assert darker != "#3d7b7b"
    assert min(contrast(darker, b) for b in SOURCE_BACKGROUNDS) >= AA_TEXT
    red, green, blue = (int(darker[i : i + 2], 16) for i in (1, 3, 5))
    assert red < green == blue  # same hue: teal stays teal


def test_every_syntax_colour_of_the_viewer_reaches_aa() -> None:
    css = readable_css(HtmlFormatter(style="default").get_style_defs(".src"))
    colors = re.findall(r"(?<![-\w])color: (#[0-9a-fA-F]{3,6})", css)
    assert len(colors) > 20
    for color in colors:
        for background in SOURCE_BACKGROUNDS:
            assert contrast(color, background) >= AA_TEXT, (color, background)
    assert "background-color: #ffffcc" in css  # backgrounds are not text colours
