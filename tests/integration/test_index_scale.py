"""The index at 10,000 owners in headless Chromium: small files, and every search keystroke,
filter, sort, expanded row and deep link painted within 100 ms of its input, showing what
Python computes from the generated rows (tests/helpers/indexscale.py), not what the page's
script says.

Timing: each interaction is measured three times (bench/index_timing.py: from dispatching the
input to the first frame painted after the DOM shows the result); the assertion is on the
median of the three, the slowest action's, and every number is written to
test-artifacts/index-scale.json.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bench.index_timing import Action, Expect, IndexSession, first_page_bytes

from coverage_collector.report import Options, run
from coverage_collector.results import Numbers
from tests.helpers.browser import ARTIFACTS, rows
from tests.helpers.indexscale import (
    ScaleCollection,
    ScaleOwner,
    generate,
    write_database,
)

OWNERS = 10_000
BUDGET_MS = 100.0
INTERACTIVE_MS = 1000.0
REPEATS = 3


@dataclass(frozen=True)
class Rendered:
    html: Path
    scale: ScaleCollection

    @property
    def index(self) -> Path:
        return self.html / "index.html"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """10,000 owners written through the database layer, rendered by `cluster render` (the
    index only: the generated binaries share one small covmeta and have no pages to show)."""
    collection = tmp_path_factory.mktemp("index-scale") / "collection"
    scale = generate(OWNERS)
    write_database(collection, scale)
    summary = run(Options(collection=str(collection), skip_component_html=True))
    return Rendered(Path(summary.index).parent, scale)


class Expected:
    """What the index should show, computed from the generated rows: the page's defaults hide
    e2e-* namespaces and openshift-tests binaries."""

    def __init__(self, scale: ScaleCollection) -> None:
        self.scale = scale
        self.total = len(scale.owners)

    def owners(
        self,
        query: str = "",
        hide_tests: bool = True,
        keep: Callable[[ScaleOwner], bool] = lambda o: True,
    ) -> list[ScaleOwner]:
        """The owners shown, in the index's order (`hide_tests`: the e2e-* namespaces)."""
        q = query.strip().lower()
        return [
            o
            for o in self.scale.owners
            if not (hide_tests and o.test_namespace)
            and not o.test_binary
            and q in o.search_text.lower()
            and keep(o)
        ]

    def shown(self, owners: list[ScaleOwner]) -> Expect:
        return Expect.shown(len(owners), self.total)

    def cards(self, owners: list[ScaleOwner]) -> dict[str, str]:
        """The statistics cards: each binary counted once."""
        binaries = {o.binary for o in owners}
        numbers = Numbers(
            sum(self.scale.binaries[b].statements for b in binaries),
            sum(self.scale.binaries[b].covered for b in binaries),
        )
        return {
            "#stat-owners": f"{len(owners):,}",  # thousands separators, as Python writes them
            "#stat-binaries": f"{len(binaries):,}",
            "#stat-statements": f"{numbers.statements:,}",
            "#stat-coverage": numbers.percent_text() if numbers.statements else "-",
        }


def cards(page: Any) -> dict[str, str]:
    names = ("#stat-owners", "#stat-binaries", "#stat-statements", "#stat-coverage")
    return {name: page.inner_text(name) for name in names}


def owner_names(page: Any) -> list[str]:
    """The owners of the rows in the DOM, top first (without their badges)."""
    return page.eval_on_selector_all(
        "#owners tbody tr.row td:nth-child(3)", "cells => cells.map(c => c.firstChild.textContent)"
    )


def sorted_by(
    owners: list[ScaleOwner], key: Callable[[ScaleOwner], Any], descending: bool
) -> list[str]:
    """Stable, as the page: ties keep the index's order in either direction."""
    if descending:
        ordered = sorted(owners, key=lambda o: _negate(key(o)))
    else:
        ordered = sorted(owners, key=key)
    return [o.owner_name for o in ordered]


def _negate(value: Any) -> Any:
    return -value if isinstance(value, int | float) else _Reversed(value)


@dataclass(frozen=True)
class _Reversed:
    value: str

    def __lt__(self, other: _Reversed) -> bool:
        return self.value > other.value


def test_index_files_are_small(rendered: Rendered) -> None:
    # the rows are data files, not the page: no file over 5 MB, the page and what it loads
    # before showing rows under 2 MB
    files = [p for p in rendered.html.rglob("*") if p.is_file()]
    assert max(p.stat().st_size for p in files) < 5 << 20
    assert first_page_bytes(rendered.html) < 2 << 20
    html = rendered.index.read_text(encoding="utf-8")
    assert rendered.scale.owners[123].owner_name not in html
    scripts = sorted(p.name for p in (rendered.html / "data" / "index").iterdir())
    assert scripts and all(p.startswith(("owners-", "details-")) for p in scripts)


@pytest.fixture
def timings() -> Iterator[dict[str, list[float]]]:
    """Every measured action's times, written to test-artifacts/index-scale.json."""
    measured: dict[str, list[float]] = defaultdict(list)
    yield measured
    ARTIFACTS.mkdir(exist_ok=True)
    medians = {name: round(statistics.median(ms), 1) for name, ms in measured.items()}
    report = {"owners": OWNERS, "medians_ms": medians, "samples_ms": measured}
    (ARTIFACTS / "index-scale.json").write_text(json.dumps(report, indent=1), encoding="utf-8")


def test_index_of_10000_owners_answers_within_100_ms(
    page: Any, rendered: Rendered, timings: dict[str, list[float]]
) -> None:
    expected = Expected(rendered.scale)
    session = IndexSession(page, rendered.index)
    timings["interactive"].append(session.interactive_ms)
    default = expected.owners()
    assert session.shown() == f"{len(default)} of {OWNERS} owners shown"
    assert cards(page) == expected.cards(default)
    assert len(page.query_selector_all("#owners tbody tr")) < 100  # only the rows in view
    first = default[0]
    cells = rows(page)[0]
    assert cells[2].startswith(first.owner_name) and cells[-1] == str(len(first.clusters))
    clusters_title = page.get_attribute("#owners tbody tr.row td:last-child", "title")
    assert clusters_title == ", ".join(first.clusters)

    def act(name: str, action: Action) -> None:
        timings[name].append(session.act(action))

    for repeat in range(REPEATS):
        # typing: every keystroke shows its own answer (a query matching most owners, one
        # matching a few namespaces, one matching nothing)
        for query in ("a", "team-01", "nothing-zz"):
            for end in range(1, len(query) + 1):
                typed = query[:end]
                shown = expected.shown(expected.owners(typed))
                act(f"search {typed!r}", Action("search", "#search", "input", typed, shown))
            assert cards(page) == expected.cards(expected.owners(query))
            cleared = Action("clear", "#search", "input", "", expected.shown(default))
            act(f"clear {query!r}", cleared)
        # filters: a cluster (multi-select), then the test namespaces shown
        cluster = ("perf-lab", "stage", "dev-2")[repeat]
        in_cluster = expected.owners(keep=lambda o, c=cluster: c in o.clusters)
        box = f"#filter-cluster input[value='{cluster}']"
        act("filter a cluster", Action("filter", box, "click", expect=expected.shown(in_cluster)))
        assert cards(page) == expected.cards(in_cluster)
        act("filter no cluster", Action("filter", box, "click", expect=expected.shown(default)))
        everything = expected.owners(hide_tests=False)
        tests = "#hide-tests"
        act("show tests", Action("filter", tests, "check", expect=expected.shown(everything)))
        assert cards(page) == expected.cards(everything)
        act("hide tests", Action("filter", tests, "check", expect=expected.shown(default)))
        # sorts: a text and a numeric column, each up then down
        columns: tuple[tuple[str, Callable[[ScaleOwner], Any]], ...] = (
            ("owner", lambda o: o.owner_name),
            ("statements", lambda o: o.statements),
        )
        for key, value in columns:
            for descending in (False, True):
                order = sorted_by(default, value, descending)
                first_cell = Expect("#owners tbody tr.row td:nth-child(3)", order[0])
                header = f"#owners th[data-key={key}]"
                name = f"sort {key} {'down' if descending else 'up'}"
                act(name, Action(name, header, "click", expect=first_cell))
                shown = owner_names(page)
                assert shown == order[: len(shown)] and len(shown) > 20
        # expand a row (its details may come from a data file), then close it
        row = f"#owners tbody tr.row:nth-child({2 + 5 * repeat}) td:nth-child(3)"
        name = page.eval_on_selector(row, "c => c.firstChild.textContent")
        act("expand", Action("expand", row, "click", expect=Expect("#owners tr.detail")))
        owner = next(o for o in rendered.scale.owners if o.owner_name == name)
        detail = page.inner_text("#owners tr.detail")
        assert owner.pods[0] in detail and ", ".join(owner.clusters) in detail
        session.act(Action("close", row, "click", expect=Expect("#owners tr.detail", absent=True)))
        # a deep link followed in the page: search, cluster filter and sort at once
        wanted = expected.owners("team-02", keep=lambda o: "stage" in o.clusters)
        link = "#q=team-02&cluster=stage&sort=owner&order=desc"
        act("deep link", Action("deep link", "", "hash", link, expected.shown(wanted)))
        assert owner_names(page)[0] == max(o.owner_name for o in wanted)
        assert page.input_value("#search") == "team-02"
        session.act(Action("back", "", "hash", "#", expected.shown(default)))

    # scrolled to the end, the table shows the last owners (in the index's order), only them
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    last = default[-1].owner_name
    page.wait_for_function(
        "last => [...document.querySelectorAll('#owners tbody tr.row td:nth-child(3)')]"
        ".some(c => c.firstChild.textContent === last)",
        arg=last,
    )
    shown = owner_names(page)
    assert shown == [o.owner_name for o in default[-len(shown) :]] and len(shown) < 100
    # each action's median of its three runs; the slowest action's within the budget
    medians = {name: statistics.median(ms) for name, ms in timings.items() if name != "interactive"}
    assert all(len(timings[name]) == REPEATS for name in medians)
    slowest = max(medians, key=lambda name: medians[name])
    assert medians[slowest] < BUDGET_MS, f"{slowest}: {medians[slowest]:.0f} ms"
    assert session.interactive_ms < INTERACTIVE_MS


def test_a_deep_link_opens_the_same_view(page: Any, rendered: Rendered) -> None:
    # a link with a search, two namespaces, a level, hidden test owners shown and a sort
    expected = Expected(rendered.scale)
    namespaces = ("team-005", "e2e-suite-03")
    wanted = expected.owners("alpha", hide_tests=False, keep=lambda o: o.namespace in namespaces)
    fragment = "#q=alpha&namespace=team-005&namespace=e2e-suite-03&tests=shown&sort=percent"
    session = IndexSession(page, rendered.index, fragment)
    assert session.interactive_ms < INTERACTIVE_MS
    assert session.shown() == f"{len(wanted)} of {OWNERS} owners shown"
    assert owner_names(page) == sorted_by(wanted, lambda o: o.percent, False)
    assert cards(page) == expected.cards(wanted)
    assert page.inner_text("#filter-namespace > button").startswith("Namespaces (2)")
    assert not page.is_checked("#hide-tests") and page.is_checked("#hide-test-binaries")
    assert page.get_attribute("#owners th[data-key=percent]", "aria-sort") == "ascending"
    # the binaries tab follows the filters: the binaries of the owners shown
    page.click("nav.tabs button[data-tab=binaries]")
    binaries = {r[0] for r in rows(page, "#binaries")}
    assert binaries == {rendered.scale.binaries[o.binary].name for o in wanted}
    assert page.evaluate("location.hash").endswith("&tab=binaries")


TIERS = ("excellent", "good", "moderate", "poor", "critical")


def tier(percent: float) -> str:
    """The prior tool's classes (reference-tool.md §8.4): 70, 50, 30 and 15 percent."""
    bounds = ((70.0, "excellent"), (50.0, "good"), (30.0, "moderate"), (15.0, "poor"))
    return next((name for bound, name in bounds if percent >= bound), "critical")


def tier_badges(page: Any, box: str) -> dict[str, str]:
    """The badges of the tier distribution `box`: tier -> the count it shows."""
    badges = page.query_selector_all(f"{box} .tier-badge")
    return {
        next(c for c in b.get_attribute("class").split() if c in TIERS): b.inner_text().split()[-1]
        for b in badges
    }


def expected_tiers(
    owners: list[ScaleOwner], scale: ScaleCollection
) -> tuple[dict[str, str], dict[str, str]]:
    """Owners and binaries (each once) per tier, as the badges write the counts."""
    by_owner = Counter(tier(o.percent) for o in owners)
    binaries = {o.binary for o in owners}
    by_binary = Counter(
        tier(Numbers(scale.binaries[b].statements, scale.binaries[b].covered).percent_rounded(1))
        for b in binaries
    )
    return (
        {name: f"{count:,}" for name, count in by_owner.items()},
        {name: f"{count:,}" for name, count in by_binary.items()},
    )


def test_the_tier_distribution_follows_the_filters(page: Any, rendered: Rendered) -> None:
    # Owners and binaries per coverage tier, of the owners shown (each binary once), as
    # counted in Python from the generated rows; an owners' badge filters by its tier.
    expected = Expected(rendered.scale)
    IndexSession(page, rendered.index)
    default = expected.owners()
    owners, binaries = expected_tiers(default, rendered.scale)
    assert len(owners) == 5  # the generated coverage spans every tier
    assert tier_badges(page, "#tiers-owners") == owners
    assert tier_badges(page, "#tiers-binaries") == binaries
    page.fill("#search", "team-01")
    wanted = expected.owners("team-01")
    assert (
        tier_badges(page, "#tiers-owners"),
        tier_badges(page, "#tiers-binaries"),
    ) == expected_tiers(wanted, rendered.scale)
    page.fill("#search", "")
    page.click("#tiers-owners .tier-badge.poor")
    poor = [o for o in default if tier(o.percent) == "poor"]
    assert page.inner_text("#shown") == f"{len(poor)} of {OWNERS} owners shown"
    assert page.get_attribute("#tiers-owners .tier-badge.poor", "aria-pressed") == "true"
    assert tier_badges(page, "#tiers-owners") == {"poor": f"{len(poor):,}"}
    assert "level=poor" in page.evaluate("location.hash")
    page.click("#tiers-owners .tier-badge.poor")  # pressed again: no tier filter
    assert page.inner_text("#shown") == f"{len(default)} of {OWNERS} owners shown"
    label = page.get_attribute("#tiers-owners .stack", "aria-label")
    assert label.startswith("Owners by coverage tier: Excellent: ")
