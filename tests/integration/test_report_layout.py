"""The report at every width (issue 18, item 1): no two panels, tables or viewers overlap
from 800 to 1,920 px, numbers are right-aligned, long paths are cut in the middle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers.browser import ARTIFACTS

BINARY = "binaries/a37943a73234300660ce220a18304548.html"
MAIN_GO = "github.com/example-org/inventory-api/main.go"
PANELS = (
    "#files", "#viewer", "#functions", "#tree", "#map", "nav.tabs", ".controls", ".cards",
    "table.owners", "#owners", "#binaries", "#namespaces",
)  # fmt: skip
OVERLAPS = """panels => {
  const boxes = [];
  for (const selector of panels)
    for (const e of document.querySelectorAll(selector)) {
      const r = e.getBoundingClientRect();
      if (r.width && r.height && e.offsetParent !== null) boxes.push([selector, r]);
    }
  const found = [];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, p] = boxes[i], [b, q] = boxes[j];
      const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (w > 0.5 && h > 0.5) found.push(`${a} and ${b}: ${Math.round(w)} x ${Math.round(h)} px`);
    }
  return found;
}"""


def _overlaps(page: Any) -> list[str]:
    return list(page.evaluate(OVERLAPS, list(PANELS)))


@pytest.mark.parametrize("width", [800, 1000, 1200, 1400, 1920, 2560])
def test_no_panels_overlap_at_any_width(page: Any, sample_report: Path, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    binary = sample_report.parent / BINARY
    page.goto(f"{binary.as_uri()}#file={MAIN_GO}")
    page.wait_for_selector("table.source tr")
    assert _overlaps(page) == [], "files"
    page.screenshot(path=str(ARTIFACTS / f"binary-{width}.png"))
    for tab in ("tree", "functions", "map"):
        page.click(f"nav.tabs button[data-tab={tab}]")
        page.wait_for_selector(f"[data-view={tab}]:not([hidden])")
        assert _overlaps(page) == [], tab
        page.screenshot(path=str(ARTIFACTS / f"binary-{tab}-{width}.png"))
    page.goto(sample_report.as_uri())
    page.wait_for_selector("#owners tbody tr.row")
    assert _overlaps(page) == [], "index"
    page.screenshot(path=str(ARTIFACTS / f"index-{width}.png"))


def test_numbers_right_aligned_and_paths_cut_in_the_middle(page: Any, sample_report: Path) -> None:
    # (thousands separators: tests/integration/test_index_scale.py, on millions)
    page.set_viewport_size({"width": 1400, "height": 900})
    binary = sample_report.parent / BINARY
    page.goto(binary.as_uri())
    page.wait_for_selector("#files tbody tr.row")
    # numbers right-aligned, as their headers
    for selector in ("#files th[data-key=statements]", "#files tbody td.num"):
        align = page.eval_on_selector(selector, "e => getComputedStyle(e).textAlign")
        assert align == "right", selector
    # a path too long for its column keeps its file name; its directory is cut (an
    # ellipsis), the whole path is its tooltip and its text
    cell = page.locator("#files tbody tr.row td.path").first
    path = cell.get_attribute("title")
    assert cell.inner_text() == path
    head = cell.locator(".head")
    clipped = head.evaluate("e => e.scrollWidth > e.clientWidth")
    assert clipped and head.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
    name = path.rsplit("/", 1)[1]
    name_box = cell.evaluate(
        "td => { const r = document.createRange(); r.selectNodeContents(td.lastChild);"
        " const b = r.getBoundingClientRect(); return [b.left, b.right]; }"
    )
    cell_box = cell.bounding_box()
    assert name_box[0] >= cell_box["x"] and name_box[1] <= cell_box["x"] + cell_box["width"], name
    # on focus the whole path shows
    cell.locator("xpath=..").focus()
    assert not head.evaluate("e => e.scrollWidth > e.clientWidth")


@pytest.mark.parametrize("width", [800, 1400, 1920, 2560])
def test_an_owners_view_and_who_ran_a_line_overlap_nothing(
    page: Any, sample_report: Path, width: int
) -> None:
    # issue 18, item 3: the owner filter and the row saying who ran a line, at every width
    page.set_viewport_size({"width": width, "height": 900})
    binary = sample_report.parent / BINARY
    page.goto(f"{binary.as_uri()}#file={MAIN_GO}")
    page.wait_for_selector("table.source tr")
    page.click("#filter-owner > button")
    page.locator("#filter-owner input[type=checkbox]").first.check()
    assert _overlaps(page) == [], "owner filter open"
    page.keyboard.press("Escape")
    page.click("table.source tr.hit td.code >> nth=3")
    panel = page.wait_for_selector("#who-ran")
    assert _overlaps(page) == [], "who ran a line"
    viewer = page.locator("#viewer").bounding_box()
    box = panel.bounding_box()
    assert (
        box["x"] >= viewer["x"] and box["x"] + box["width"] <= viewer["x"] + viewer["width"] + 0.5
    )
    panel.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"binary-who-ran-{width}.png"))
