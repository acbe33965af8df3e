"""The binary page's treemap in headless Chromium: areas are statements, colours tiers, a
folder zooms in and a file opens, from the mouse and the keyboard, kept in the URL hash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers.browser import ARTIFACTS

BINARY = "a37943a73234300660ce220a18304548.html"
TIERS = ((70.0, "excellent"), (50.0, "good"), (30.0, "moderate"), (15.0, "poor"))


def table_files(page: Any) -> dict[str, tuple[int, int]]:
    """The Files table's rows: path -> (statements, covered), as the table shows them."""
    rows = page.eval_on_selector_all(
        "#files tbody tr",
        "rows => rows.map(r => [r.cells[0].title, r.cells[2].innerText, r.cells[3].innerText])",
    )
    return {path: (int(s.replace(",", "")), int(c.replace(",", ""))) for path, s, c in rows}


def map_cells(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        "#map .map-cell",
        """cells => cells.map(g => { const r = g.querySelector('rect.frame').getBBox();
            return { path: g.dataset.path, cls: g.getAttribute('class'), area: r.width * r.height,
                     label: g.getAttribute('aria-label') }; })""",
    )


def tier(covered: int, statements: int) -> str:
    percent = round(100.0 * covered / statements, 1)
    return next((name for bound, name in TIERS if percent >= bound), "critical")


def test_map_areas_are_statements_and_colours_tiers(page: Any, sample_report: Path) -> None:
    page.goto((sample_report.parent / "binaries" / BINARY).as_uri())
    files = table_files(page)
    page.click("nav.tabs button[data-tab=map]")
    page.wait_for_selector("#map svg .map-cell")
    svg = page.eval_on_selector("#map svg", "s => [s.width.baseVal.value, s.height.baseVal.value]")
    cells = map_cells(page)
    assert len(cells) > 1  # the single-folder chain above the module is skipped
    # each rectangle's share of the map is its share of the statements shown
    sums = {}
    for c in cells:
        folder = c["path"].endswith("/")
        inside = [
            v for p, v in files.items() if (p.startswith(c["path"]) if folder else p == c["path"])
        ]
        sums[c["path"]] = (sum(s for s, _ in inside), sum(k for _, k in inside))
    statements = sum(s for s, _ in sums.values())
    area = sum(c["area"] for c in cells)
    assert abs(area - svg[0] * svg[1]) < 1.0
    for c in cells:
        share_of_area = c["area"] / area
        share_of_statements = sums[c["path"]][0] / statements
        assert abs(share_of_area - share_of_statements) < 1e-3, c["path"]
        assert tier(*reversed(sums[c["path"]])) in c["cls"].split()
        assert tier(*reversed(sums[c["path"]])) in c["label"]  # the tier in words too
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "binary-map.png"), full_page=True)


def test_map_zooms_into_folders_opens_files_and_keeps_its_place(
    page: Any, sample_report: Path
) -> None:
    page.goto((sample_report.parent / "binaries" / BINARY).as_uri())
    page.click("nav.tabs button[data-tab=map]")
    folder = page.wait_for_selector("#map .map-cell.folder")
    path = folder.get_attribute("data-path")
    folder.focus()
    page.keyboard.press("Enter")  # zooms in
    page.wait_for_function(
        "p => [...document.querySelectorAll('#map .map-cell')]"
        ".every(g => g.dataset.path.startsWith(p))",
        arg=path,
    )
    assert page.inner_text("#map .map-path [aria-current]") == path
    assert "map=" in page.evaluate("location.hash") and "tab=map" in page.evaluate("location.hash")
    page.reload()  # the hash brings back the tab and the folder
    page.wait_for_selector("#map svg .map-cell")
    assert page.inner_text("#map .map-path [aria-current]") == path
    while not page.query_selector("#map .map-cell.file"):  # down to a folder with files
        page.click("#map .map-cell.folder >> nth=0")
    file_cell = page.wait_for_selector("#map .map-cell.file")
    opened = file_cell.get_attribute("data-path")
    file_cell.click()
    page.wait_for_selector("table.source")
    assert page.inner_text("#viewer h2") == opened
    top = page.inner_text("#map .map-path button >> nth=0")
    page.click("#map .map-path button >> nth=0")  # back up to the top
    assert page.inner_text("#map .map-path [aria-current]") == top
    assert top == "github.com/example-org/inventory-api/"  # where the folders first divide
