"""`cluster render --baseline`: the difference with a baseline in the index and the source
viewer, on the real collections of tests/difffixtures.py, clicked through in headless
Chromium from file://; the numbers are `cluster diff`'s (`diff()`).

The head's entries record a local git repository of the ledger sources (v1 and v2 commits)
instead of the fixtures' placeholder URL, so that clone-sources and resolve give the
viewer real sources. Known lines (tests/goprograms/ledger, see difffixtures' workloads):
the baseline's one v1 binary ran workloads A (ledger) and C (auditor); the head's ledger
binary (v1) ran A and B, the head's auditor (v2) only D. So, binary by binary:

* ledger: `withdraw bob 500` fails, newly covering book.go's ErrInsufficient return and
  main.go's error exit; runAudit (main.go) was covered by the auditor's runs: lost.
* auditor: `report` is no longer run: report() in main.go is lost; `round` (new in v2,
  audit/audit.go) is new code, covered except for its zero test.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from coverage_collector import compile, sources
from coverage_collector.cli import main
from coverage_collector.diff.compare import (
    LOST,
    NEVER_COVERED,
    NEWLY_COVERED,
    STILL_COVERED,
    Tally,
)
from coverage_collector.diff.run import DiffOptions, DiffResult, diff
from coverage_collector.report import Options, run
from coverage_collector.report.delta import line_categories
from coverage_collector.results import points_text
from tests.helpers.axe import violations
from tests.helpers.browser import ARTIFACTS, HOSTILE, rows
from tests.helpers.difffixtures import (
    AUDITOR_D,
    COMMITS,
    LEDGER_B,
    DiffCollections,
    ledger_sources,
    make_diff_collections,
)
from tests.helpers.gofixtures import cache_root, covdata, go_env
from tests.helpers.sourcefixtures import commit

MAIN = "example.com/ledger/main.go"
BOOK = "example.com/ledger/book/book.go"
AUDIT = "example.com/ledger/audit/audit.go"


@dataclass(frozen=True)
class Collections:
    """The compiled head (with its sources) and three baselines."""

    fixtures: DiffCollections
    head: Path
    baseline: Path
    """difffixtures' baseline: both owners changed."""
    copy: Path
    """A copy of the head: nothing changed."""
    partial: Path
    """The head without the ledger's second pod: the ledger changed, the auditor did not."""
    ledger_only: Path
    """The head without the auditor: against the baseline, the auditor is a removed owner."""
    work: Path

    def result(self, baseline: Path) -> DiffResult:
        return diff(DiffOptions(str(self.head), str(baseline)))

    def report(self, baseline: Path | None, name: str, head: Path | None = None) -> Path:
        out = self.work / "reports" / name
        options = Options(
            collection=str(head or self.head),
            output_dir=str(out),
            max_concurrency=1,
            baseline=str(baseline) if baseline else None,
        )
        return Path(run(options).index)


def _record_local_sources(head: Path, repo: Path) -> None:
    """Commit the v1 and v2 sources to `repo`; make the head's entries record them."""
    commits = {version: commit(repo, ledger_sources(version), version) for version in COMMITS}
    for info in (head / "coverage").glob("*/info.json"):
        data = json.loads(info.read_text(encoding="utf-8"))
        (build,) = [b for b, sha in COMMITS.items() if sha == data["source_commit"]]
        data.update(source_url=str(repo), source_commit=commits[build])
        info.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="module")
def collections(go_toolchain: Path, tmp_path_factory: pytest.TempPathFactory) -> Collections:
    work = tmp_path_factory.mktemp("render-diff")
    fixtures = make_diff_collections(work / "fixtures")
    head = fixtures.head
    _record_local_sources(head, work / "upstream" / "ledger")
    partial = work / "partial"
    shutil.copytree(head, partial)
    shutil.rmtree(partial / "coverage" / LEDGER_B.name)
    ledger_only = work / "ledger-only"
    shutil.copytree(head, ledger_only)
    shutil.rmtree(ledger_only / "coverage" / AUDITOR_D.name)
    for collection in (fixtures.baseline, head, partial, ledger_only):
        assert compile.run(compile.Options(collection=str(collection), max_concurrency=1)).ok
    options = sources.Options(collection=str(head), allow_local_urls=True, inspect_images=False)
    assert sources.run(options).ok
    copy = work / "copy"
    shutil.copytree(head, copy)
    return Collections(fixtures, head, fixtures.baseline, copy, partial, ledger_only, work)


@pytest.fixture(scope="module")
def report(collections: Collections) -> Path:
    return collections.report(collections.baseline, "baseline")


def owner_cells(page: Any) -> dict[str, list[str]]:
    return {r[2]: r for r in rows(page)}


def line_numbers(source: str, text: str) -> int:
    """The line number of the one line of `source` containing `text`."""
    (number,) = [i + 1 for i, line in enumerate(source.splitlines()) if text in line]
    return number


def test_index_shows_the_delta_sorts_and_filters(
    page: Any, collections: Collections, report: Path
) -> None:
    result = collections.result(collections.baseline)
    page.goto(report.as_uri())
    page.wait_for_selector("#owners tbody tr.row")
    header = page.inner_text("#baseline")
    assert "Compared with baseline baseline:" in header
    assert page.inner_text("#total-delta") == points_text(result.total.delta)
    assert f"lost {result.total.lost}" in header
    headings = page.eval_on_selector_all("#owners thead th", "ths => ths.map(t => t.innerText)")
    assert headings[5:8] == ["Coverage", "Baseline", "Δ"]
    shown = owner_cells(page)
    assert set(shown) == {"ledger", "auditor"}
    for owner in result.owners:
        cells = shown[owner.owner_name]
        t = owner.tally
        assert cells[5] == t.head.percent_text()
        assert cells[6] == t.base.percent_text()
        assert cells[7] == points_text(t.delta)
    assert result.total.delta < 0  # the auditor lost more than the ledger gained
    # green for a gain, red for a loss; the categories as the cell's tooltip
    auditor = page.locator("#owners tbody tr.row:has-text('auditor') td.delta")
    ledger = page.locator("#owners tbody tr.row:has-text('ledger') td.delta")
    expect(auditor).to_have_class(re.compile(r"\bdown\b"))
    expect(ledger).to_have_class(re.compile(r"\bup\b"))
    assert auditor.evaluate("e => getComputedStyle(e).color") == "rgb(162, 31, 31)"  # #a21f1f
    assert ledger.evaluate("e => getComputedStyle(e).color") == "rgb(20, 99, 43)"  # #14632b
    lost = next(o for o in result.owners if o.owner_name == "auditor").tally
    title = auditor.get_attribute("title")
    assert f"lost {lost.lost}" in title
    assert f"new code {lost.new_code_covered}/{lost.new_code} covered" in title
    assert f"removed {lost.removed_code}" in title
    # sorting by Δ orders the rows by the change
    page.click("#owners th[data-key=delta]")
    assert [r[2] for r in rows(page)] == ["auditor", "ledger"]
    page.click("#owners th[data-key=delta]")
    assert [r[2] for r in rows(page)] == ["ledger", "auditor"]
    # the expanded row details the categories
    page.click("#owners tbody tr.row:has-text('auditor')")
    detail = page.inner_text("#owners tr.detail")
    assert "Since baseline" in detail and "rebuilt" in detail
    assert f"Lost\n{lost.lost}\n" in detail
    assert f"New code covered\n{lost.new_code_covered} of {lost.new_code}\n" in detail
    columns = page.eval_on_selector_all("#owners thead th", "ths => ths.length")
    assert page.eval_on_selector("#owners tr.detail td", "td => td.colSpan") == columns == 11
    # both owners changed: "changed only" keeps them
    page.check("#changed-only")
    assert len(rows(page)) == 2
    assert page.query_selector("#removed-owners") is None  # no owner is only in the baseline
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "diff-index.png"), full_page=True)


def test_changed_only_hides_unchanged_owners(page: Any, collections: Collections) -> None:
    result = collections.result(collections.partial)
    changed = {o.owner_name: o.tally.changed for o in result.owners}
    assert changed == {"ledger": True, "auditor": False}
    deltas = {o.owner_name: points_text(o.tally.delta) for o in result.owners}
    assert deltas["auditor"] == "+0.0" and deltas["ledger"] != "+0.0"
    page.goto(collections.report(collections.partial, "partial").as_uri())
    assert {r[2]: r[7] for r in rows(page)} == deltas
    page.check("#changed-only")
    assert [r[2] for r in rows(page)] == ["ledger"]
    assert page.inner_text("#shown") == "1 of 2 owners shown"
    page.uncheck("#changed-only")
    assert len(rows(page)) == 2
    # a copy of the head as the baseline: nothing changed
    page.goto(collections.report(collections.copy, "copy").as_uri())
    assert {r[7] for r in rows(page)} == {"+0.0"}
    assert page.inner_text("#total-delta") == "+0.0"
    page.check("#changed-only")
    assert rows(page) == []


def test_owners_only_in_the_baseline_are_listed(page: Any, collections: Collections) -> None:
    head = collections.ledger_only
    result = diff(DiffOptions(str(head), str(collections.baseline)))
    (removed,) = [o for o in result.owners if not o.head_hash]
    assert removed.owner_name == "auditor"
    page.goto(collections.report(collections.baseline, "ledger-only", head).as_uri())
    assert [r[2] for r in rows(page)] == ["ledgerno source"]  # (not cloned: a badge)
    expect(page.locator("#removed-owners summary")).to_have_text(
        "1 owner only in the baseline (removed)"
    )
    page.click("#removed-owners summary")
    listed = page.inner_text("#removed-owners li")
    assert listed.startswith("audit/StatefulSet/auditor · binary auditor")
    assert f"{removed.tally.base.percent_text()} of {removed.tally.base_statements}" in listed
    # the other way round, the auditor is a new owner: no baseline percentage
    result = diff(DiffOptions(str(collections.head), str(head)))
    (new,) = [o for o in result.owners if not o.base_hash]
    page.goto(collections.report(head, "new-owner").as_uri())
    cells = {r[2]: r for r in rows(page)}
    assert cells["auditor"][6:8] == ["new", points_text(new.tally.delta)]
    assert page.query_selector("#removed-owners") is None
    page.click("#owners tbody tr.row:has-text('auditor')")
    assert "new owner (not in the baseline)" in page.inner_text("#owners tr.detail")


def test_source_viewer_marks_lines_by_category(
    page: Any, collections: Collections, report: Path
) -> None:
    result = collections.result(collections.baseline)
    binaries = {b.name: b for b in result.binaries if b.head_hash}
    ledger = binaries["ledger"]
    binary = (report.parent / "binaries" / f"{ledger.head_hash}.html").as_uri()
    page.goto(f"{binary}#file={BOOK}")
    page.wait_for_selector("table.source")
    assert page.inner_text("#binary-delta") == points_text(ledger.tally.delta)
    assert f"newly covered {ledger.tally.newly_covered}" in page.inner_text("#baseline")
    expect(page.locator("#legend")).to_be_visible()
    legend = page.inner_text("#legend")
    assert "lost" in legend and "newly covered" in legend and "new code, covered" in legend
    book = ledger_sources("v1")["book/book.go"]
    insufficient = line_numbers(book, 'return fmt.Errorf("%s: %w", account, ErrInsufficient)')
    row = page.locator(f"table.source tr#L{insufficient}")
    expect(row).to_have_class(re.compile(r"\bdelta-newly-covered\b"))
    # the category as text, not only as a colour: genhtml's code in the gutter, the
    # label as its tooltip; the count's meaning as the count's tooltip
    number = row.locator("td.line-num")
    expect(number).to_have_attribute("title", "GBC: newly covered")
    assert number.evaluate("e => getComputedStyle(e, '::before').content") == '"GBC "'
    executed = int(row.locator("td.exec:not(.base)").inner_text())
    expect(row.locator("td.exec:not(.base)")).to_have_attribute(
        "title", f"executed {executed} times"
    )
    expect(row.locator("td.exec.base")).to_have_text("0")  # newly covered: 0 in the baseline
    assert "newly covered GBC" in legend
    # the legend's swatch and the line's mark have the same colour
    swatch = page.eval_on_selector(
        "#legend .swatch.delta-newly-covered", "e => getComputedStyle(e).backgroundColor"
    )
    mark = row.locator("td.line-num").evaluate("e => getComputedStyle(e).boxShadow")
    assert swatch in mark
    # main.go: j/k walk the newly covered and lost blocks
    page.goto(f"{binary}#file={MAIN}")
    page.reload()
    page.wait_for_selector("table.source")
    main_go = ledger_sources("v1")["main.go"]
    run_audit = line_numbers(main_go, "err = runAudit(b, args)")
    error_exit = line_numbers(main_go, 'fmt.Fprintln(os.Stderr, "ledger:", err)')
    expect(page.locator(f"table.source tr#L{run_audit}")).to_have_class(
        re.compile(r"\bdelta-lost\b")
    )
    expect(page.locator(f"table.source tr#L{error_exit}")).to_have_class(
        re.compile(r"\bdelta-newly-covered\b")
    )
    starts = page.eval_on_selector_all(
        "table.source tr",
        """rows => rows.filter((r, i) => (r.dataset.delta === 'n' || r.dataset.delta === 'l')
            && (i === 0 || rows[i - 1].dataset.delta !== r.dataset.delta)).map(r => r.id)""",
    )
    assert len(starts) >= 4 and f"L{run_audit}" in starts and f"L{error_exit}" in starts
    page.click("#viewer h2")
    visited = []
    for _ in range(len(starts) + 1):
        page.keyboard.press("j")
        visited.append(page.eval_on_selector("table.source tr.target", "r => r.id"))
    assert visited == [*starts, starts[0]]  # in order, then around
    page.keyboard.press("k")  # back around to the last block, then the one before
    assert page.eval_on_selector("table.source tr.target", "r => r.id") == starts[-1]
    page.keyboard.press("k")
    assert page.eval_on_selector("table.source tr.target", "r => r.id") == starts[-2]
    kinds = page.eval_on_selector_all(
        "table.source tr[data-delta]", "r => r.map(x => x.dataset.delta)"
    )
    assert set(kinds) <= set("svcunl") and {"n", "l", "s", "v"} <= set(kinds)
    page.evaluate("window.scrollTo(0, 0)")  # the header and legend; the viewer keeps its place
    page.screenshot(path=str(ARTIFACTS / "diff-binary.png"), full_page=False)


def _go_line_counts(
    go_toolchain: Path, directories: list[Path], path: str, out: Path
) -> dict[int, int]:
    """Per line of `path`, the largest count of the blocks touching it in Go's own text
    profile of `directories` (lines no block touches are absent)."""
    result = covdata(
        go_toolchain,
        ["textfmt", "-i=" + ",".join(map(str, directories)), f"-o={out}"],
        go_env(cache_root()),
    )
    assert result.returncode == 0, result.stderr
    counts: dict[int, int] = {}
    for line in out.read_text(encoding="utf-8").splitlines()[1:]:
        position, _, count = line.rsplit(" ", 2)
        name, _, span = position.rpartition(":")
        if name != path:
            continue
        start, end = (int(part.split(".")[0]) for part in span.split(","))
        for number in range(start, end + 1):
            counts[number] = max(counts.get(number, -1), int(count))
    return counts


def test_source_viewer_shows_the_baseline_count_beside_todays(
    page: Any, collections: Collections, report: Path, go_toolchain: Path, tmp_path: Path
) -> None:
    # Each line's baseline count is the baseline binary's, as Go's covdata counts it over the
    # baseline's entries of that build; lines of no baseline block show nothing.
    result = collections.result(collections.baseline)
    ledger = {b.name: b for b in result.binaries if b.head_hash}["ledger"]
    assert ledger.base_hash == ledger.head_hash  # the same build: the same lines
    entries = [
        d
        for d in (collections.baseline / "coverage").iterdir()
        if (d / f"covmeta.{ledger.base_hash}").is_file()
    ]
    expected = _go_line_counts(go_toolchain, entries, BOOK, tmp_path / "base.txt")
    assert len(set(expected.values())) > 1
    page.goto((report.parent / "binaries" / f"{ledger.head_hash}.html").as_uri() + f"#file={BOOK}")
    page.wait_for_selector("table.source")
    mode = page.evaluate("coverageCollector.page.data.binary.mode")
    shown = page.eval_on_selector_all(
        "table.source tr", "rows => rows.map(r => r.querySelector('td.exec.base').innerText)"
    )
    for number, text in enumerate(shown, start=1):
        if number not in expected:
            assert text == "", number
        elif mode == "set":
            assert text == ("hit" if expected[number] else "miss"), number
        else:
            assert text == str(expected[number]), number


def change_summary(t: Tally) -> str:
    """The words the report shows for a file's or a folder's statements by category."""
    parts = [
        (t.newly_covered, f"newly covered {t.newly_covered:,}"),
        (t.lost, f"lost {t.lost:,}"),
        (t.new_code, f"new code {t.new_code_covered:,} of {t.new_code:,} covered"),
        (t.never_covered, f"never covered {t.never_covered:,}"),
        (t.removed_code, f"removed {t.removed_code:,}"),
    ]
    return " \u00b7 ".join(text for value, text in parts if value) or "no change"


def test_files_and_folders_count_their_lines_by_category(
    page: Any, collections: Collections, report: Path
) -> None:
    # The viewer says a file's statements per category of change, the tree a folder's (its
    # files' added up), in words, as cluster diff counts them.
    result = collections.result(collections.baseline)
    auditor = {b.name: b for b in result.binaries if b.head_hash}["auditor"]
    tallies = {f.path: f.tally for f in auditor.files}
    page.goto(
        (report.parent / "binaries" / f"{auditor.head_hash}.html").as_uri() + f"#file={AUDIT}"
    )
    page.wait_for_selector("table.source")
    name = collections.baseline.name
    columns = " \u00b7 each line's count: the baseline's, then today's"
    expected = f"Since {name}: {change_summary(tallies[AUDIT])}{columns}"
    assert page.inner_text("#viewer .changes") == expected
    assert "new code" in expected  # round() is new in v2
    page.click("nav.tabs button[data-tab=tree]")
    page.click("#tree .tree-tools button:text('expand all')")
    folders = page.eval_on_selector_all(
        "#tree summary",
        "ss => ss.map(s => [s.firstChild.textContent.trim().split(/\\s+/)[0],"
        " s.querySelector('.changes').textContent])",
    )
    shown = dict(folders)
    audit_folder = Tally()
    for path, tally in tallies.items():
        if path.startswith("example.com/ledger/audit/"):
            audit_folder.add(tally)
    assert shown["audit/"] == change_summary(audit_folder)
    everything = Tally()
    for tally in tallies.values():
        everything.add(tally)
    assert shown["(all"] == change_summary(everything)


def test_the_diff_views_have_no_serious_accessibility_violation(
    page: Any, collections: Collections, report: Path
) -> None:
    page.goto(report.as_uri())
    page.wait_for_selector("#owners tbody tr.row")
    found = violations(page)
    assert found == [], "; ".join(map(str, found))
    result = collections.result(collections.baseline)
    ledger = next(b for b in result.binaries if b.name == "ledger")
    binary = report.parent / "binaries" / f"{ledger.head_hash}.html"
    page.goto(f"{binary.as_uri()}#file={BOOK}")
    page.wait_for_selector("table.source tr.delta-newly-covered")
    found = violations(page)
    assert found == [], "; ".join(map(str, found))


def test_source_viewer_marks_new_code(page: Any, collections: Collections, report: Path) -> None:
    result = collections.result(collections.baseline)
    auditor = next(b for b in result.binaries if b.name == "auditor" and b.head_hash)
    binary = report.parent / "binaries" / f"{auditor.head_hash}.html"
    page.goto(f"{binary.as_uri()}#file={AUDIT}")
    page.wait_for_selector("table.source")
    assert page.inner_text("#binary-delta") == points_text(auditor.tally.delta)
    assert "rebuilt from" in page.inner_text("#baseline")
    audit = ledger_sources("v2")["audit/audit.go"]
    covered = line_numbers(audit, "return amount%unit == 0")
    uncovered = line_numbers(audit, "return false")
    expect(page.locator(f"table.source tr#L{covered}")).to_have_class(
        re.compile(r"\bdelta-new-covered\b")
    )
    expect(page.locator(f"table.source tr#L{uncovered}")).to_have_class(
        re.compile(r"\bdelta-new-uncovered\b")
    )
    # the files table: Δ per file, "changed files only"
    deltas = {r[0]: r[2] for r in rows(page, "#files")}
    files = {f.path: f.tally for f in auditor.files}
    assert deltas == {path: points_text(t.delta) for path, t in files.items()}
    page.check("#changed-only")
    assert {r[0] for r in rows(page, "#files")} == {p for p, t in files.items() if t.changed}
    page.uncheck("#changed-only")
    # the filter by category: files with statements of a chosen category (diff's own tallies)
    for name, count in (("new code, covered", "new_code_covered"), ("lost", "lost")):
        page.click("#filter-change > button")
        page.click(f"#filter-change input[value='{name}']")
        page.keyboard.press("Escape")
        expected = {p for p, t in files.items() if getattr(t, count) > 0}
        assert expected and {r[0] for r in rows(page, "#files")} == expected, name
        assert "change=" in page.evaluate("location.hash")
        page.click("#filter-change > button")
        page.click(f"#filter-change input[value='{name}']")  # off again
        page.keyboard.press("Escape")
    # report() is lost: the auditor no longer runs `report`
    page.goto(f"{binary.as_uri()}#file={MAIN}")
    page.reload()
    page.wait_for_selector("table.source")
    main_go = ledger_sources("v2")["main.go"]
    total = line_numbers(main_go, "total += b.Balance(name)")
    expect(page.locator(f"table.source tr#L{total}")).to_have_class(re.compile(r"\bdelta-lost\b"))
    assert page.get_attribute(f"table.source tr#L{total} td.line-num", "title") == "LBC: lost"


def test_a_hostile_baseline_name_renders_as_text(page: Any, collections: Collections) -> None:
    hostile = collections.work / HOSTILE
    if not hostile.exists():
        shutil.copytree(collections.baseline, hostile)
    index = collections.report(hostile, "hostile")
    page.goto(index.as_uri())
    assert HOSTILE in page.inner_text("#baseline")
    assert page.query_selector("header img") is None
    assert page.evaluate("window.__pwned") is None
    page.click("#owners tbody tr.row >> nth=0")
    assert f"Since {HOSTILE}" in page.inner_text("#owners tr.detail")
    assert page.evaluate("window.__pwned") is None
    assert HOSTILE not in index.read_text(encoding="utf-8")
    page.click("#owners tbody a >> nth=0")
    page.wait_for_selector("#files tbody tr.row")
    assert HOSTILE in page.inner_text("#baseline")
    assert page.query_selector("header img") is None
    assert page.evaluate("window.__pwned") is None


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_without_a_baseline_the_report_is_unchanged(collections: Collections) -> None:
    plain = collections.report(None, "plain").parent
    files = _files(plain)
    text = b"".join(files.values())
    assert b'"cats"' not in text and b"changed-only" not in files["index.html"]
    assert b'"delta"' not in text and b"Compared with baseline" not in text
    # with a baseline into the same directory, then without again: the plain report,
    # byte for byte (the manifest's keys notice that the baseline is gone)
    out = collections.work / "reports" / "toggled"
    shutil.copytree(plain, out)
    with_baseline = run(
        Options(
            collection=str(collections.head),
            output_dir=str(out),
            baseline=str(collections.baseline),
        )
    )
    assert (with_baseline.binaries, with_baseline.unchanged) == (2, 0)
    assert b'"cats"' in b"".join(_files(out).values())
    without = run(Options(collection=str(collections.head), output_dir=str(out)))
    assert (without.binaries, without.unchanged) == (2, 0)
    assert _files(out) == files


def test_a_different_baseline_rewrites_what_changed(
    collections: Collections, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    first = run(
        Options(
            collection=str(collections.head), output_dir=str(out), baseline=str(collections.copy)
        )
    )
    assert (first.binaries, first.unchanged) == (2, 0)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'Compared with baseline <span class="collection">copy</span>' in index
    before = _files(out)
    again = run(
        Options(
            collection=str(collections.head), output_dir=str(out), baseline=str(collections.copy)
        )
    )
    assert (again.binaries, again.unchanged) == (0, 2)
    assert _files(out) == before
    other = run(
        Options(
            collection=str(collections.head),
            output_dir=str(out),
            baseline=str(collections.baseline),
        )
    )
    assert (other.binaries, other.unchanged) == (2, 0)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'Compared with baseline <span class="collection">baseline</span>' in index
    after = _files(out)
    changed = {name for name in before if before[name] != after.get(name)}
    assert "index.html" in changed
    assert {n for n in changed if n.startswith("binaries/")} == {
        n for n in before if n.startswith("binaries/")
    }
    assert any(n.startswith("data/") and n.endswith("/g0.js") for n in changed)  # the lines


def test_render_command_takes_a_baseline(collections: Collections, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    argv = ["cluster", "render", "--collection", str(collections.head), "--output-dir", str(out)]
    assert main([*argv, "--baseline", str(collections.baseline), "--max-concurrency", "1"]) == 0
    assert "changed-only" in (out / "index.html").read_text(encoding="utf-8")
    assert main([*argv, "--baseline", str(tmp_path / "missing")]) == 2


def test_line_categories_follow_the_documented_priority() -> None:
    # units: (code, count, first line, last line); -1 is new code
    units = [
        (STILL_COVERED, 3, 1, 2),
        (LOST, 0, 2, 2),  # line 2: lost beats still covered
        (NEVER_COVERED, 0, 3, 3),
        (-1, 1, 3, 4),  # line 3: new code beats never covered
        (-1, 0, 4, 4),  # line 4: new code not covered beats covered
        (NEWLY_COVERED, 2, 5, 6),
        (LOST, 0, 6, 6),  # line 6: lost beats newly covered
        (NEWLY_COVERED, 1, 7, 7),
        (-1, 0, 7, 7),  # line 7: newly covered beats new code
    ]
    codes, counts, first, last = (np.array(column) for column in zip(*units, strict=True))
    assert line_categories(codes, counts, first, last, 9) == "slcunln.."
