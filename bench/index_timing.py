"""Time a rendered index in headless Chromium: load, search, filter, sort, expand, deep link.

Every interaction is measured the way a user sees it: from dispatching the input event in the
page to the first frame painted after the DOM shows the result (a requestAnimationFrame, then
a message posted from it, which runs once that frame is painted). The page's own result is
checked as it is timed (`Expect`: the "n of m owners shown" line or a selector), so a fast
wrong answer or a debounced one does not pass for a fast one.

`measure_index(html_dir)` is what the benchmarks import (bench/render_bench.py, the lead's
bench/scale_bench.py); tests/integration/test_index_scale.py uses `IndexSession` with the
answers it computed from the generated rows.

Usage::

    python -m bench.index_timing <collection>/html [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.browser import CHROMIUM_ARGS, chromium_path

VIEWPORT = {"width": 1400, "height": 900}

_FIRST_ROWS = """
(() => {
  // the time from navigation to the first painted frame with owner rows
  const painted = () => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { window.__ccInteractive = performance.now(); };
    channel.port2.postMessage(0);
  });
  const observer = new MutationObserver(() => {
    if (document.querySelector("#owners tbody tr.row")) { observer.disconnect(); painted(); }
  });
  observer.observe(document, { childList: true, subtree: true });
})();
"""

_ACT = """
async ([selector, kind, value, expect]) => {
  const painted = () => new Promise((done) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => done();
    channel.port2.postMessage(0);
  }));
  const frame = () => new Promise((done) => requestAnimationFrame(done));
  const shows = () => {
    const found = document.querySelector(expect.selector);
    if (expect.absent) return found === null;
    return found !== null && (expect.text === null || found.textContent.startsWith(expect.text));
  };
  const element = selector ? document.querySelector(selector) : null;
  const started = performance.now();
  const input = () => element.dispatchEvent(new Event("input", { bubbles: true }));
  if (kind === "click") element.click();
  else if (kind === "input") { element.value = value; input(); }
  else if (kind === "check") { element.checked = !element.checked; input(); }
  else if (kind === "hash") location.hash = value;
  while (!shows()) {
    if (performance.now() - started > 10000) return -1;
    await frame();
  }
  await painted();
  return performance.now() - started;
}
"""


@dataclass(frozen=True)
class Expect:
    """What the page shows once an action is done: the element `selector` (its text starting
    with `text`, when given), or no such element (`absent`)."""

    selector: str = "#shown"
    text: str | None = None
    absent: bool = False

    @classmethod
    def shown(cls, count: int, total: int) -> Expect:
        return cls("#shown", f"{count} of {total} owners shown")


@dataclass(frozen=True)
class Action:
    """One input: `kind` is click, input (set the value), check (toggle) or hash (set
    location.hash to `value`)."""

    name: str
    selector: str
    kind: str
    value: str = ""
    expect: Expect = field(default_factory=Expect)


class IndexSession:
    """One index.html open in a page: the time it took to show rows, and `act()`."""

    def __init__(self, page: Any, index: Path, fragment: str = "") -> None:
        self.page = page
        page.add_init_script(_FIRST_ROWS)
        page.goto(index.as_uri() + fragment)
        page.wait_for_function("window.__ccInteractive !== undefined")
        self.interactive_ms: float = page.evaluate("window.__ccInteractive")

    def act(self, action: Action) -> float:
        """Do `action`; return the milliseconds until its result was painted (an
        AssertionError when the page did not show it within 10 s)."""
        expect = asdict(action.expect)
        ms = self.page.evaluate(_ACT, [action.selector, action.kind, action.value, expect])
        assert ms >= 0, f"{action.name}: the page never showed {action.expect}"
        return float(ms)

    def shown(self) -> str:
        return str(self.page.inner_text("#shown"))


@dataclass(frozen=True)
class IndexTimings:
    """Milliseconds (medians over the runs): time to the first painted rows, then each
    interaction to its painted result."""

    rows: int
    interactive_ms: float
    search_ms: float
    """The slowest keystroke of typing a query."""
    clear_ms: float
    filter_ms: float
    sort_ms: float
    """The slowest of sorting by a text and a numeric column, up and down."""
    expand_ms: float

    @property
    def worst_interaction_ms(self) -> float:
        return max(self.search_ms, self.clear_ms, self.filter_ms, self.sort_ms, self.expand_ms)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright (tests/helpers/browser.py's arguments)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _total(session: IndexSession) -> tuple[int, int]:
    shown, total = session.shown().split(" owners")[0].split(" of ")
    return int(shown), int(total)


def measure_once(browser: Any, index: Path, query: str = "alpha") -> IndexTimings:
    """One load of `index` and one of each interaction, checked against what the page said
    it showed before (counts only: the test checks the rows themselves)."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        session = IndexSession(page, index)
        shown, total = _total(session)
        keystrokes = []
        for end in range(1, len(query) + 1):
            keystrokes.append(
                session.act(
                    Action("search", "#search", "input", query[:end], Expect("#shown", None))
                )
            )
        clear = session.act(Action("clear", "#search", "input", "", Expect.shown(shown, total)))
        everything = session.act(
            Action("filter", "#hide-tests", "check", expect=Expect("#shown", None))
        )
        session.act(Action("filter", "#hide-tests", "check", expect=Expect.shown(shown, total)))
        sorts = [
            session.act(Action("sort", f"th[data-key={key}]", "click", expect=Expect("#shown")))
            for key in ("owner", "owner", "percent", "percent")
        ]
        expand = session.act(
            Action(
                "expand",
                "#owners tbody tr.row td:nth-child(3)",
                "click",
                expect=Expect("#owners tr.detail"),
            )
        )
        return IndexTimings(
            rows=total,
            interactive_ms=session.interactive_ms,
            search_ms=max(keystrokes),
            clear_ms=clear,
            filter_ms=everything,
            sort_ms=max(sorts),
            expand_ms=expand,
        )
    finally:
        page.close()


def measure_index(html_dir: Path, runs: int = 3) -> IndexTimings:
    """Open `html_dir`/index.html `runs` times in headless Chromium; the medians."""
    with chromium() as browser:
        samples = [measure_once(browser, Path(html_dir) / "index.html") for _ in range(runs)]
    medians = {
        name: round(statistics.median(getattr(s, name) for s in samples), 1)
        for name in ("interactive_ms", "search_ms", "clear_ms", "filter_ms", "sort_ms", "expand_ms")
    }
    return IndexTimings(rows=samples[0].rows, **medians)


def first_page_bytes(html_dir: Path) -> int:
    """The bytes index.html loads before it shows rows: itself, its stylesheets and its
    scripts (the report's and the owners' row files)."""
    import re

    html_dir = Path(html_dir)
    text = (html_dir / "index.html").read_text(encoding="utf-8")
    linked = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', text)
    return len(text.encode()) + sum((html_dir / name).stat().st_size for name in linked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("html", type=Path, help="a rendered report's directory")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    timings = measure_index(options.html.resolve(), options.runs)
    result = {
        **asdict(timings),
        "worst_interaction_ms": timings.worst_interaction_ms,
        "first_page_mb": round(first_page_bytes(options.html) / 1e6, 2),
    }
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
