"""Source annotation: coverage spans exactly where `go tool cover -html` puts them."""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import pytest

from coverage_collector.report.annotate import coverage_spans, highlight
from coverage_collector.results import Blocks
from tests.helpers.gofixtures import PROGRAMS, Dataset, cache_root, covdata, go_env, require_dataset

_TAG = re.compile(r'<span class="cov\d+" title="(\d+)">|</span>')
_OPTION = re.compile(r'<option value="(file\d+)">(.*?) \([0-9.]+%\)</option>')
_PRE = re.compile(r'<pre class="file" id="(file\d+)" style="display: none">(.*?)</pre>', re.S)


def profile_blocks(profile: str) -> dict[str, list[tuple[int, ...]]]:
    """The text profile's blocks per file: (sl, sc, el, ec, count)."""
    blocks: dict[str, list[tuple[int, ...]]] = {}
    for line in profile.splitlines()[1:]:
        position, _, count = line.rsplit(" ", 2)
        path, span = position.rsplit(":", 1)
        start, end = span.split(",")
        sl, sc = map(int, start.split("."))
        el, ec = map(int, end.split("."))
        blocks.setdefault(path, []).append((sl, sc, el, ec, int(count)))
    return blocks


def go_char_counts(fragment: str) -> tuple[str, list[int | None]]:
    """Text and per-character counts of one file of Go's HTML (tabs as Go writes them)."""
    text: list[str] = []
    counts: list[int | None] = []
    current: int | None = None
    position = 0
    for tag in _TAG.finditer(fragment):
        chunk = html.unescape(fragment[position : tag.start()])
        text.append(chunk)
        counts.extend([current] * len(chunk))
        current = int(tag.group(1)) if tag.group(1) is not None else None
        position = tag.end()
    chunk = html.unescape(fragment[position:])
    text.append(chunk)
    counts.extend([current] * len(chunk))
    return "".join(text), counts


def char_counts(source: str, blocks: Blocks) -> list[int | None]:
    """Per character of `source`: the count of the span it is in (None outside spans)."""
    line_start = [0]
    for line in source.split("\n"):
        line_start.append(line_start[-1] + len(line) + 1)
    counts: list[int | None] = [None] * len(source)
    for line, start, end, count in coverage_spans(source.encode(), blocks):
        first = line_start[line]
        for position in range(first + start, min(first + end, len(source))):
            counts[position] = count
    return counts


def expand_tabs(source: str, counts: list[int | None]) -> tuple[str, list[int | None]]:
    """Go's HTML writes a tab as 8 spaces: do the same to our per-character counts."""
    text, out = [], []
    for char, count in zip(source, counts, strict=True):
        width = 8 if char == "\t" else 1
        text.append(" " * width if char == "\t" else char)
        out.extend([count] * width)
    return "".join(text), out


@pytest.mark.parametrize(("name", "program"), [("lab_count", "lab"), ("features", "features")])
def test_spans_match_go_tool_cover_html(
    name: str, program: str, go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path
) -> None:
    data = require_dataset(go_datasets, name)
    env = go_env(cache_root())
    profile = tmp_path / "profile.txt"
    result = covdata(go_toolchain, ["textfmt", data.i_arg, f"-o={profile}"], env)
    assert result.returncode == 0, result.stderr
    page = tmp_path / "cover.html"
    subprocess.run(
        [str(go_toolchain), "tool", "cover", f"-html={profile}", f"-o={page}"],
        cwd=PROGRAMS / program,
        env=env,
        check=True,
        capture_output=True,
    )
    go_html = page.read_text(encoding="utf-8")
    names = dict(_OPTION.findall(go_html))
    blocks = profile_blocks(profile.read_text(encoding="utf-8"))
    module = (PROGRAMS / program / "go.mod").read_text().split()[1]
    compared = 0
    for file_id, fragment in _PRE.findall(go_html):
        path = names[file_id]
        source = (PROGRAMS / program / path.removeprefix(module + "/")).read_text(encoding="utf-8")
        ours = expand_tabs(source, char_counts(source, Blocks.of(*zip(*blocks[path], strict=True))))
        assert ours == go_char_counts(fragment), path
        compared += 1
    assert compared == len(blocks) >= 3


def test_highlighted_lines_escape_everything_and_keep_the_text() -> None:
    source = 'package main\n\nfunc main() {\n\tprintln("<img src=x onerror=alert(1)>")\n}\n'
    lines = highlight(source)
    assert len(lines) == 5
    assert "<img" not in lines[3] and "&lt;img src=x onerror=alert(1)&gt;" in lines[3]
    text = [html.unescape(re.sub(r"<[^>]+>", "", line)) for line in lines]
    assert text == source.rstrip("\n").split("\n")  # tabs kept: offsets are characters
    spans = coverage_spans(source.encode(), Blocks.of([3], [13], [5], [2], [4]))
    assert spans == [(2, 12, 14, 4), (3, 0, 41, 4), (4, 0, 1, 4)]


def test_multibyte_source_keeps_byte_columns() -> None:
    # Go's columns count bytes: a block after a non-ASCII string starts at the right character.
    source = 'package p\n\nfunc f() string {\n\ts := "größe"; return s\n}\n'
    start = len('\ts := "größe"; '.encode()) + 1
    counts = char_counts(source, Blocks.of([4], [start], [4], [start + 8], [1]))
    covered = "".join(c for c, n in zip(source, counts, strict=True) if n is not None)
    assert covered == "return s"
