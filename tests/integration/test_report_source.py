"""The source viewer on a file of 110,000 lines (a generated file): rows are built a block at
a time as they come near the view, and deep links, j/k and the rows' content still reach every
line. Driven in headless Chromium through the page's own `source.table` on made-up lines, as a
rendered report of such a file would call it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

BINARY = "binaries/a37943a73234300660ce220a18304548.html"
LINES = 110_000
MAKE = """(n) => {
  const lines = [], counts = [], spans = [];
  for (let i = 0; i < n; i++) {
    lines.push('<span class="k">func</span> f' + i + '() {}');
    counts.push(i % 5000 === 4321 ? 0 : i % 7 ? i : -1);  // a line not executed every 5,000
  }
  const table = coverageCollector.source.table({ counts, spans }, lines, null);
  document.querySelector('#viewer').replaceChildren(table);
  return table.querySelectorAll('tr[id]').length;
}"""


def _open(page: Any, sample_report: Path) -> int:
    page.goto((sample_report.parent / BINARY).as_uri())
    page.wait_for_selector("#files tbody tr")
    return int(page.evaluate(MAKE, LINES))


def test_a_huge_file_builds_only_the_rows_near_the_view(page: Any, sample_report: Path) -> None:
    built = _open(page, sample_report)
    assert built == 1000  # the first block; the others are placeholders of their height
    row = page.eval_on_selector("#L1", "r => r.getBoundingClientRect().height")
    holders = page.eval_on_selector_all(
        "table.source tr.pending", "hs => hs.map(h => h.getBoundingClientRect().height)"
    )
    assert len(holders) == LINES // 1000 - 1
    assert all(abs(h - 1000 * row) < 1.0 for h in holders)  # the scroll bar is the file's
    page.eval_on_selector("#viewer", "v => { v.scrollTop = v.scrollHeight; }")
    page.wait_for_selector(f"#L{LINES}")  # scrolled to the end: the last block is built
    assert page.inner_text(f"#L{LINES} td.code") == f"func f{LINES - 1}() {{}}"
    assert page.eval_on_selector_all("table.source tr[id]", "rs => rs.length") < 10_000


def test_j_and_k_reach_lines_whose_rows_are_not_built(page: Any, sample_report: Path) -> None:
    _open(page, sample_report)
    page.focus("#viewer")
    expected = [4321 + 5000 * k + 1 for k in range(3)]  # the lines not executed, 1-based
    for line in expected:
        page.keyboard.press("j")
        assert page.get_attribute("table.source tr.target", "id") == f"L{line}"
    page.keyboard.press("k")
    assert page.get_attribute("table.source tr.target", "id") == f"L{expected[1]}"
    last = 4321 + 5000 * (LINES // 5000 - 1) + 1
    page.keyboard.press("k")
    page.keyboard.press("k")  # from the first, k wraps round to the last
    assert page.get_attribute("table.source tr.target", "id") == f"L{last}"


def test_a_line_far_down_is_built_when_asked_for(page: Any, sample_report: Path) -> None:
    _open(page, sample_report)
    page.evaluate("document.querySelector('table.source').ensure(98765)")
    assert page.inner_text("#L98765 td.line-num") == "98765"
    assert page.get_attribute("#L98765", "class") == "hit"
