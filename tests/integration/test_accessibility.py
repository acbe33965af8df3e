"""The report for keyboard and screen-reader users: axe-core finds no serious or critical
violation in any view, and what a mouse does (sort, open, expand, switch tabs) Tab and
Enter do too (issue 18, item 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.helpers.axe import violations

BINARY = "binaries/a37943a73234300660ce220a18304548.html"
MAIN_GO = "github.com/example-org/inventory-api/main.go"


def _clean(page: Any, view: str) -> None:
    found = violations(page)
    assert found == [], f"{view}: " + "; ".join(map(str, found))


def test_no_view_has_a_serious_violation(page: Any, sample_report: Path) -> None:
    page.goto(sample_report.as_uri())
    page.wait_for_selector("#owners tbody tr.row")
    _clean(page, "index")
    page.click("#owners tbody tr.row >> nth=0")  # an owner's details open
    page.wait_for_selector("#owners tr.detail")
    _clean(page, "index, an owner's details")
    for tab in ("binaries", "namespaces"):
        page.click(f"nav.tabs button[data-tab={tab}]")
        _clean(page, f"index, {tab}")
    binary = sample_report.parent / BINARY
    page.goto(f"{binary.as_uri()}#file={MAIN_GO}")
    page.wait_for_selector("table.source tr")
    _clean(page, "binary page with a file open")
    for tab in ("tree", "functions", "map"):
        page.click(f"nav.tabs button[data-tab={tab}]")
        page.wait_for_selector(f"[data-view={tab}]:not([hidden])")
        _clean(page, f"binary page, {tab}")


def _tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_keyboard_sorts_opens_and_switches(page: Any, sample_report: Path) -> None:
    binary = sample_report.parent / BINARY
    page.goto(binary.as_uri())
    page.wait_for_selector("#files tbody tr.row")
    # a sort header: Tab reaches it, Enter sorts, Space reverses
    _tab_to(page, "#files th[data-key=statements]")
    page.keyboard.press("Enter")
    header = page.locator("#files th[data-key=statements]")
    expect(header).to_have_attribute("aria-sort", "ascending")
    page.keyboard.press(" ")
    expect(header).to_have_attribute("aria-sort", "descending")
    counts = page.eval_on_selector_all(
        "#files tbody tr.row", "rows => rows.map(r => Number(r.cells[2].innerText))"
    )
    assert counts == sorted(counts, reverse=True)
    # a file row: Tab reaches it, Enter opens the file in the viewer
    _tab_to(page, "#files tbody tr.row")
    opened = page.evaluate("document.activeElement.cells[0].innerText")
    page.keyboard.press("Enter")
    expect(page.locator("#viewer h2")).to_have_text(opened)
    # the tabs: roles and selection for screen readers; Enter on a tab shows its view
    tree_tab = page.locator("nav.tabs button[data-tab=tree]")
    expect(page.locator("nav.tabs")).to_have_attribute("role", "tablist")
    expect(tree_tab).to_have_attribute("aria-selected", "false")
    _tab_to(page, "nav.tabs button[data-tab=tree]")
    page.keyboard.press("Enter")
    expect(tree_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tree")).to_be_visible()
    _tab_to(page, "#tree .leaf")
    leaf = page.evaluate("document.activeElement.innerText.split(/\\s+/)[0]")
    page.keyboard.press("Enter")
    expect(page.locator("#viewer h2")).to_contain_text(leaf)


def test_the_keyboard_expands_owners_and_opens_filters(page: Any, sample_report: Path) -> None:
    page.goto(sample_report.as_uri())
    page.wait_for_selector("#owners tbody tr.row")
    _tab_to(page, "#owners tbody tr.row")
    page.keyboard.press("Enter")
    expect(page.locator("#owners tr.detail")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#owners tr.detail")).to_have_count(0)
    # a filter's drop-down says whether it is open
    button = page.locator("#filter-namespace > button")
    expect(button).to_have_attribute("aria-expanded", "false")
    _tab_to(page, "#filter-namespace > button")
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")


def test_question_mark_lists_the_keys(page: Any, sample_report: Path) -> None:
    binary = sample_report.parent / BINARY
    page.goto(binary.as_uri())
    page.wait_for_selector("#files tbody tr.row")
    panel = page.locator(".shortcuts[role=dialog]")
    expect(panel).to_be_hidden()
    page.keyboard.press("?")
    expect(panel).to_be_visible()
    listed = panel.inner_text()
    assert "block of lines not executed" in listed and "previous, next file" in listed
    _clean(page, "the shortcuts panel")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()


def test_j_and_k_jump_block_by_block_from_the_deep_linked_line(
    page: Any, sample_report: Path
) -> None:
    binary = sample_report.parent / BINARY
    page.goto(f"{binary.as_uri()}#file={MAIN_GO}&line=1")
    page.wait_for_selector("table.source tr#L1.target")
    # The blocks of lines not executed, as the page's classes mark them (lines no block
    # covers do not split a block); the oracle walks them in Python.
    kinds = page.eval_on_selector_all(
        "table.source tr",
        "rows => rows.map(r => r.classList.contains('untracked') ? '' :"
        " r.classList.contains('miss') ? 'miss' : 'hit')",
    )
    starts, previous = [], ""
    for number, kind in enumerate(kinds, start=1):
        if not kind:
            continue
        if kind == "miss" and previous != "miss":
            starts.append(number)
        previous = kind
    assert len(starts) >= 2
    for expected in starts:
        page.keyboard.press("j")
        expect(page.locator("table.source tr.target")).to_have_id(f"L{expected}")
    page.keyboard.press("k")
    expect(page.locator("table.source tr.target")).to_have_id(f"L{starts[-2]}")
    # from a deep-linked line in the middle, j goes to the next block after it
    middle = starts[1] - 1
    page.goto(f"{binary.as_uri()}#file={MAIN_GO}&line={middle}")
    page.reload()
    page.wait_for_selector(f"table.source tr#L{middle}.target")
    page.keyboard.press("j")
    expect(page.locator("table.source tr.target")).to_have_id(f"L{starts[1]}")


def test_the_keyboard_chooses_owners_and_asks_who_ran_a_line(
    page: Any, sample_report: Path
) -> None:
    # a binary two owners run: Tab and Space choose an owner, w says who ran the target line
    binary = sample_report.parent / BINARY
    page.goto(f"{binary.as_uri()}#file={MAIN_GO}&line=20")
    page.wait_for_selector("table.source tr#L20.target")
    button = page.locator("#filter-owner > button")
    _tab_to(page, "#filter-owner > button")
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    _tab_to(page, "#filter-owner input[type=checkbox]")
    page.keyboard.press("Space")
    expect(button).to_contain_text("Owners (1)")
    expect(page.locator("#card-percent-label")).to_contain_text("1 of 2 owners")
    _clean(page, "binary page, one owner chosen")
    page.keyboard.press("Escape")
    _tab_to(page, "#viewer")
    page.keyboard.press("w")
    panel = page.locator("#who-ran")
    expect(panel).to_contain_text("Who ran line 20")
    expect(panel.locator("tbody tr")).to_have_count(1)  # the chosen owner's
    _clean(page, "who ran a line")
    # its close button has the focus: Enter closes it, the focus goes back to the viewer
    page.keyboard.press("Enter")
    expect(panel).to_have_count(0)
    assert page.evaluate("document.activeElement.id") == "viewer"
    page.keyboard.press("?")
    expect(page.locator(".shortcuts[role=dialog]")).to_contain_text("who ran the target line")
