"""`cluster render` clicked through in a real headless Chromium (Playwright), from file://."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from coverage_collector.report import Options, run
from tests.helpers.browser import ARTIFACTS, HOSTILE, rows
from tests.helpers.clusterfixtures import ClusterCollection, compile_cluster


def choose(page: Any, multi: str, value: str) -> None:
    """Toggle `value` in the multi-select `multi` (opening its panel when needed)."""
    if page.is_hidden(f"{multi} .panel"):
        page.click(f"{multi} > button")
    page.click(f"{multi} input[value='{value}']")


def test_index_search_filters_sort_and_stats(page: Any, sample_report: Path) -> None:
    page.goto(sample_report.as_uri())
    page.wait_for_selector("#owners tbody tr.row")
    # e2e-* namespaces are hidden by default; statistics follow the rows, each binary once
    assert page.inner_text("#shown") == "4 of 5 owners shown"
    assert page.inner_text("#stat-coverage") == "87.2%"
    page.uncheck("#hide-tests")
    assert page.inner_text("#shown") == "5 of 5 owners shown"
    assert page.inner_text("#stat-binaries") == "4"  # the e2e pod runs an existing binary
    page.fill("#search", "kv")
    assert [r[2] for r in rows(page)] == ["kv-store"]
    assert page.inner_text("#stat-coverage") == "84.6%"
    page.fill("#search", "")
    choose(page, "#filter-type", "DaemonSet")
    assert [r[2] for r in rows(page)] == ["node-agent"]
    choose(page, "#filter-type", "DaemonSet")  # unchecked again: no type filter
    choose(page, "#filter-namespace", "shop")
    choose(page, "#filter-namespace", "storage")  # several values: either matches
    assert sorted(r[0] for r in rows(page)) == ["shop", "storage"]
    page.fill("#filter-namespace .panel input[type=search]", "sto")
    assert page.is_hidden("#filter-namespace label:has-text('shop')")
    page.fill("#filter-namespace .panel input[type=search]", "")
    choose(page, "#filter-namespace", "shop")
    choose(page, "#filter-namespace", "storage")
    choose(page, "#filter-level", "excellent")
    assert len(rows(page)) == 5  # every sample owner is above 70%
    choose(page, "#filter-level", "excellent")
    choose(page, "#filter-level", "critical")
    assert rows(page) == []
    choose(page, "#filter-level", "critical")
    choose(page, "#filter-source", "https://github.com/example-org/kv-store")
    assert [r[2] for r in rows(page)] == ["kv-store"]
    choose(page, "#filter-source", "https://github.com/example-org/kv-store")
    assert len(rows(page)) == 5
    page.keyboard.press("Escape")  # closes the open filter panel
    assert page.is_hidden("#filter-source .panel")
    page.click("th[data-key=percent]")
    ascending = [float(r[5].rstrip("%")) for r in rows(page)]
    assert ascending == sorted(ascending)
    page.click("th[data-key=percent]")
    assert [float(r[5].rstrip("%")) for r in rows(page)] == sorted(ascending, reverse=True)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "index.png"), full_page=True)


def test_index_rows_expand_and_click_through(page: Any, sample_report: Path) -> None:
    page.goto(sample_report.as_uri())
    page.click("#owners tbody tr.row:has-text('inventory-api') >> nth=0")
    detail = page.inner_text("#owners tr.detail")
    assert "inventory-api-7d9f8c6b5d-" in detail and "a37943a73234300660ce220a18304548" in detail
    assert "https://github.com/example-org/inventory-api @ " in detail
    page.click("#owners tbody tr.row:has-text('inventory-api') >> nth=0")
    assert page.query_selector("#owners tr.detail") is None
    page.click("#owners tbody a:text('kv-store')")
    page.wait_for_selector("#files tbody tr.row")
    assert page.url.endswith("binaries/5e97290fe81a3ac43687e386643f8350.html")
    assert "StatefulSet" in page.inner_text("table.owners")


def test_binary_page_source_viewer_and_deep_links(page: Any, sample_report: Path) -> None:
    binary = sample_report.parent / "binaries" / "a37943a73234300660ce220a18304548.html"
    path = "github.com/example-org/inventory-api/main.go"
    page.goto(f"{binary.as_uri()}#file={path}&line=30")
    page.wait_for_selector("table.source tr#L30.target")
    source_lines = page.eval_on_selector_all("table.source tr", "rows => rows.length")
    collection = sample_report.parent.parent
    checkout = next(
        (collection / "repos" / "github.com" / "example-org" / "inventory-api").iterdir()
    )
    assert source_lines == len((checkout / "main.go").read_text().splitlines())
    classes = page.eval_on_selector_all("table.source tr", "rows => rows.map(r => r.className)")
    assert {"hit", "untracked"} <= set(classes)
    # j jumps to the next uncovered line
    page.keyboard.press("j")
    target = page.eval_on_selector("table.source tr.target", "r => r.className")
    assert "miss" in target
    # the prior tool's #file<i> links still work
    page.goto(f"{binary.as_uri()}#file0")
    page.reload()
    page.wait_for_selector("table.source")
    assert page.inner_text("#viewer h2").endswith(".go")
    # search and sort the file table
    page.fill("#search", "pricing")
    assert [r[0] for r in rows(page, "#files")] == [
        "github.com/example-org/inventory-api/internal/pricing/pricing.go"
    ]
    page.fill("#search", "")
    page.click("#viewer h2")  # keys go to the page, not the search box
    # [ and ] walk the (sorted, filtered) file list
    first = page.inner_text("#viewer h2")
    page.keyboard.press("]")
    expect(page.locator("#viewer h2")).not_to_have_text(first)
    page.keyboard.press("[")
    expect(page.locator("#viewer h2")).to_have_text(first)
    # list, source and split views
    page.click("#views button[data-layout=list]")
    assert page.is_hidden("#viewer") and page.is_visible("#files")
    page.click("#views button[data-layout=source]")
    assert page.is_visible("#viewer") and page.is_hidden("#files")
    page.click("#views button[data-layout=split]")
    assert page.is_visible("#viewer") and page.is_visible("#files")
    page.screenshot(path=str(ARTIFACTS / "binary.png"), full_page=False)


@pytest.fixture
def hostile_report(cluster: ClusterCollection) -> Path:
    """The cluster collection with a pod and a container named like HTML, without sources."""
    entry = next(e for e in cluster.entries.values() if e.pod == "kv-store-0")
    path = cluster.entry_dir(entry.name) / "metadata.json"
    metadata = json.loads(path.read_text(encoding="utf-8"))
    metadata["pod_name"] = HOSTILE
    metadata["container"]["name"] = HOSTILE
    path.write_text(json.dumps(metadata), encoding="utf-8")
    compile_cluster(cluster)
    return Path(run(Options(collection=str(cluster.root))).index)


def test_hostile_strings_render_as_text(page: Any, hostile_report: Path) -> None:
    page.goto(hostile_report.as_uri())
    page.fill("#search", "img")
    page.click("#owners tbody tr.row >> nth=0")
    assert HOSTILE in page.inner_text("#owners")
    assert page.evaluate("window.__pwned") is None
    assert page.query_selector("#owners img") is None
    html = hostile_report.read_text(encoding="utf-8")
    assert HOSTILE not in html and "Content-Security-Policy" in html
    # without sources, a file shows its numbers and why there is no source
    page.click("#owners tbody a >> nth=0")
    page.click("#files tbody tr.row >> nth=0")
    assert "no repository was found" in page.inner_text("#viewer")
    binary_html = Path(page.url.split("#")[0].removeprefix("file://")).read_text()
    assert HOSTILE not in binary_html


def test_render_writes_only_its_files(hostile_report: Path) -> None:
    out = hostile_report.parent
    names = {p.relative_to(out).parts[0] for p in out.rglob("*")}
    assert names == {"index.html", "static", "binaries", "data", ".coverage-collector-report.json"}
    assert max(p.stat().st_size for p in out.rglob("*") if p.is_file()) < 5 << 20
    assert not [p for p in out.rglob("*.tmp-*")]
    assert os.access(hostile_report, os.R_OK)


def test_index_binaries_and_namespaces_views(page: Any, sample_report: Path) -> None:
    page.goto(sample_report.as_uri())
    page.click("nav.tabs button[data-tab=binaries]")
    assert page.is_hidden("#owners") and page.is_visible("#binaries")
    binaries = {r[0]: r for r in rows(page, "#binaries")}
    assert set(binaries) == {"host-monitor", "inventory-api", "kv-store", "node-agent"}
    owners = binaries["inventory-api"][2]
    assert owners == "e2e-test-inventory-api-8f2kd/inventory-api-smoke-test, shop/inventory-api"
    assert binaries["inventory-api"][6] == "exact"
    page.click("nav.tabs button[data-tab=namespaces]")
    namespaces = {r[0]: r for r in rows(page, "#namespaces")}
    # the roll-up counts each binary once per namespace (summary's numbers)
    assert namespaces["shop"][3:6] == ["87.3%", "260", "227"]
    assert "(host)" in namespaces


def test_binary_tree_and_functions(page: Any, sample_report: Path) -> None:
    binary = sample_report.parent / "binaries" / "a37943a73234300660ce220a18304548.html"
    page.goto(binary.as_uri())
    page.click("nav.tabs button[data-tab=tree]")
    # a chain of single folders is one entry; deeper folders start closed
    tree = " ".join(page.inner_text("#tree").split())
    assert "github.com/example-org/inventory-api/ 93.5% (243/260)" in tree
    assert "internal/ 94.5% (225/238)" in tree and "pricing/" not in tree
    page.click("#tree .tree-tools button:text('expand all')")
    tree = " ".join(page.inner_text("#tree").split())
    assert "pricing/ 100.0% (20/20)" in tree and "pricing.go" in tree
    bar = page.eval_on_selector("#tree summary:has-text('pricing/') .bar", "e => e.style.width")
    assert bar == "100%"
    page.click("#tree .tree-tools button:text('collapse all')")
    assert "pricing.go" not in page.inner_text("#tree")
    page.fill("#tree input[type=search]", "pricing")  # the search opens what it finds
    shown = page.eval_on_selector_all("#tree .leaf", "ls => ls.filter(l => l.offsetParent).length")
    assert shown == 1
    page.click("#tree .leaf:has-text('pricing.go')")
    page.wait_for_selector("table.source")
    assert page.inner_text("#viewer h2").endswith("internal/pricing/pricing.go")
    page.click("nav.tabs button[data-tab=functions]")
    page.wait_for_selector("#functions tbody tr")
    everything = page.eval_on_selector_all("#functions tbody tr", "rows => rows.length")
    page.check("#never-executed")
    never = page.eval_on_selector_all(
        "#functions tbody tr", "rows => rows.map(r => r.cells[4].innerText)"
    )
    assert 0 < len(never) < everything and set(never) == {"0"}
    page.click("#functions tbody tr >> nth=0")
    target = page.wait_for_selector("table.source tr.target")
    line = int(target.get_attribute("id")[1:])
    file_line = page.inner_text("#functions tbody tr >> nth=0").split("\t")[1]
    assert file_line.endswith(f":{line}")

    # the positional rows sort by the column's named position (report/fields.py)
    page.uncheck("#never-executed")
    page.click("#functions th:has-text('Coverage')")
    shown = page.eval_on_selector_all(
        "#functions tbody tr", "rows => rows.map(r => parseFloat(r.cells[3].innerText))"
    )
    assert len(shown) == everything and shown == sorted(shown) and shown[0] < shown[-1]
    page.click("#functions th:has-text('Executions')")
    page.click("#functions th:has-text('Executions')")
    executions = page.eval_on_selector_all(
        "#functions tbody tr", "rows => rows.map(r => Number(r.cells[4].innerText))"
    )
    assert executions == sorted(executions, reverse=True) and executions[0] > 0


def test_the_script_adds_one_global_and_the_data_files_callbacks(
    page: Any, sample_report: Path, tmp_path: Path
) -> None:
    # report.js lives under `coverageCollector`; the binary pages' data files call ccFiles,
    # ccSource, ccFunctions, ccOwners and ccWho (their format), the index's
    # coverageCollector.owners: no other name is added to the window
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><title>blank</title>", encoding="utf-8")
    page.goto(blank.as_uri())
    before = set(page.evaluate("Object.getOwnPropertyNames(window)"))
    binary = sample_report.parent / "binaries" / "a37943a73234300660ce220a18304548.html"
    for url in (sample_report.as_uri(), binary.as_uri()):
        page.goto(url)
        page.wait_for_selector("tbody tr")
        if url == binary.as_uri():
            page.click("nav.tabs button[data-tab=functions]")
            page.wait_for_selector("#functions tbody tr")
        added = set(page.evaluate("Object.getOwnPropertyNames(window)")) - before
        assert added <= {"ccFiles", "ccSource", "ccFunctions", "ccOwners", "ccWho"}
        parts = page.evaluate("Object.keys(coverageCollector)")
        assert set(parts) == {
            "fields", "page", "format", "ui", "source", "owners", "virtual", "index", "map",
            "who", "binary",
        }  # fmt: skip


def test_render_is_incremental_and_deletes_only_its_own_files(
    cluster: ClusterCollection, tmp_path: Path
) -> None:
    compile_cluster(cluster)
    out = tmp_path / "report"
    out.mkdir()
    (out / "notes.html").write_text("mine", encoding="utf-8")  # not the report's
    first = run(Options(collection=str(cluster.root), output_dir=str(out)))
    assert (first.binaries, first.unchanged) == (4, 0)
    pages = {p.name: p.stat().st_mtime_ns for p in (out / "binaries").iterdir()}
    again = run(Options(collection=str(cluster.root), output_dir=str(out)))
    assert (again.binaries, again.unchanged) == (0, 4)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "binaries").iterdir()} == pages
    # one more instance of the DaemonSet: only its binary is rendered again
    daemon = [e for e in cluster.entries.values() if e.kind == "DaemonSet"]
    source = next(cluster.entry_dir(daemon[1].name).glob("covcounters.*"))
    parts = source.name.split(".")
    shutil.copy2(
        source, cluster.entry_dir(daemon[0].name) / ".".join([*parts[:2], "4242", parts[3]])
    )
    compile_cluster(cluster)
    changed = run(Options(collection=str(cluster.root), output_dir=str(out)))
    assert (changed.binaries, changed.unchanged) == (1, 3)
    # a binary that is gone loses its files; index-only renders delete nothing
    for entry in cluster.entries.values():
        if entry.binary == "kv-store":
            shutil.rmtree(cluster.entry_dir(entry.name))
    compile_cluster(cluster)
    before = {p for p in out.rglob("*") if p.is_file()}
    run(Options(collection=str(cluster.root), output_dir=str(out), skip_component_html=True))
    assert {p for p in out.rglob("*") if p.is_file()} == before
    removed = run(Options(collection=str(cluster.root), output_dir=str(out)))
    assert removed.deleted == 2  # the kv-store page and its functions
    assert len(list((out / "binaries").iterdir())) == 3
    assert (out / "notes.html").read_text(encoding="utf-8") == "mine"


def test_an_edited_template_script_or_version_renders_again(
    sample_report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the cache key covers the templates, the static files and the tool's version: an edit
    # re-renders every binary (and highlights the sources again) without a version bump
    from coverage_collector.report import render as render_module

    options = Options(
        collection=str(sample_report.parent.parent),
        output_dir=str(tmp_path / "r"),
        max_concurrency=1,
    )
    first = run(options)
    assert first.binaries > 0 and first.highlighted > 0
    again = run(options)
    assert (again.binaries, again.unchanged, again.highlighted) == (0, first.binaries, 0)
    templates = tmp_path / "templates"
    shutil.copytree(str(render_module.TEMPLATES), templates)
    page = templates / "binary.html.j2"
    page.write_text(page.read_text("utf-8").replace("all owners", "every owner"), "utf-8")
    monkeypatch.setattr(render_module, "TEMPLATES", templates)
    edited = run(options)
    assert (edited.binaries, edited.unchanged) == (first.binaries, 0)
    assert edited.highlighted == first.highlighted
    pages = list((tmp_path / "r" / "binaries").glob("*.html"))
    assert pages and all("every owner" in p.read_text("utf-8") for p in pages)
    assert run(options).unchanged == first.binaries
    static = tmp_path / "static"
    shutil.copytree(str(render_module.STATIC), static)
    script = static / "report-main.js"
    script.write_text(script.read_text("utf-8") + "// edited\n", "utf-8")
    monkeypatch.setattr(render_module, "STATIC", static)
    scripted = run(options)
    assert (scripted.binaries, scripted.unchanged) == (first.binaries, 0)
    assert "// edited" in (tmp_path / "r" / "static" / "report.js").read_text("utf-8")
    monkeypatch.setattr(render_module, "__version__", "99.0")
    assert run(options).binaries == first.binaries
    # an index-only render keeps the binaries' key: the next full render still renders them
    monkeypatch.setattr(render_module, "__version__", "99.1")
    skipped = Options(
        collection=options.collection, output_dir=options.output_dir, skip_component_html=True
    )
    run(skipped)
    assert run(options).binaries == first.binaries


def test_a_tampered_manifest_never_deletes_outside_the_report(
    cluster: ClusterCollection, tmp_path: Path
) -> None:
    compile_cluster(cluster)
    out = tmp_path / "report"
    run(Options(collection=str(cluster.root), output_dir=str(out)))
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    manifest = out / ".coverage-collector-report.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["binaries"]["gone"] = {"key": "x", "files": ["../victim.txt", "/etc/hostname"]}
    manifest.write_text(json.dumps(data), encoding="utf-8")
    run(Options(collection=str(cluster.root), output_dir=str(out)))
    assert victim.read_text(encoding="utf-8") == "keep"


def test_chunked_sources_and_grouped_coverage_load_in_the_browser(
    page: Any, sample_report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks and groups: a file's source comes in several scripts, its coverage
    # shares a script with its neighbours; the viewer still shows every line, covered.
    from coverage_collector.report import render as render_module

    monkeypatch.setattr(render_module, "CHUNK_BYTES", 2000)
    monkeypatch.setattr(render_module, "GROUP_FILES", 2)
    collection = sample_report.parent.parent
    out = tmp_path / "small"
    run(Options(collection=str(collection), output_dir=str(out), max_concurrency=1))
    binary = out / "binaries" / "a37943a73234300660ce220a18304548.html"
    chunks = list((out / "data" / "src").glob("*-1.js"))
    assert (
        chunks and len(list((out / "data" / "a37943a73234300660ce220a18304548").glob("g*.js"))) == 3
    )
    path = "github.com/example-org/inventory-api/internal/api/api.go"
    page.goto(f"{binary.as_uri()}#file={path}&line=150")
    page.wait_for_selector("table.source tr#L150.target")
    checkout = next(
        (collection / "repos" / "github.com" / "example-org" / "inventory-api").iterdir()
    )
    expected = (checkout / "internal" / "api" / "api.go").read_text().splitlines()
    shown = page.eval_on_selector_all(
        "table.source td.code", "cells => cells.map(c => c.textContent)"
    )
    assert shown == expected
    assert page.eval_on_selector_all("table.source .cov-hit", "e => e.length") > 50


def test_set_mode_generated_files_and_keyboard_search(
    page: Any, resolved_collection: tuple[Path, Any], tmp_path: Path
) -> None:
    # Binaries built from test repositories: `shop` is set mode and has a file generated at
    # build time, which the report lists with its numbers and the reason it has no source.
    collection, _ = resolved_collection
    index = Path(
        run(Options(collection=str(collection), output_dir=str(tmp_path / "report"))).index
    )
    page.goto(index.as_uri())
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.type("shop")
    page.click("#owners tbody a:text('shop')")
    page.wait_for_selector("#files tbody tr.row")
    page.click("#files tbody tr.row:has-text('zz_generated.go')")
    reason = page.inner_text("#viewer")
    assert "not in the checkout" in reason and "statements covered" in reason
    page.click("#files tbody tr.row:has-text('store.go')")
    page.wait_for_selector("table.source")
    executions = page.eval_on_selector_all("table.source td.exec", "c => c.map(x => x.textContent)")
    assert set(executions) <= {"", "hit", "miss"} and "hit" in executions  # set mode: no counts


def test_rows_without_source_are_flagged(page: Any, hostile_report: Path) -> None:
    page.goto(hostile_report.as_uri())
    page.uncheck("#hide-tests")
    flagged = page.eval_on_selector_all("#owners tr.no-source", "rows => rows.length")
    assert flagged == page.eval_on_selector_all("#owners tbody tr.row", "rows => rows.length") > 0
    assert page.inner_text("#owners .badge.warn >> nth=0") == "no source"


def test_openshift_tests_binaries_are_hidden_by_default(
    page: Any, cluster: ClusterCollection, tmp_path: Path
) -> None:
    entry = next(e for e in cluster.entries.values() if e.host_process and not e.duplicate)
    path = cluster.entry_dir(entry.name) / "metadata.json"
    metadata = json.loads(path.read_text(encoding="utf-8"))
    metadata["binary_name"] = "openshift-tests"
    path.write_text(json.dumps(metadata), encoding="utf-8")
    compile_cluster(cluster)
    index = Path(run(Options(collection=str(cluster.root), output_dir=str(tmp_path / "r"))).index)
    page.goto(index.as_uri())
    assert "openshift-tests" not in [r[3] for r in rows(page)]
    page.uncheck("#hide-test-binaries")
    assert "openshift-tests" in [r[3] for r in rows(page)]


def test_a_missing_data_file_is_reported_in_the_viewer(
    page: Any, sample_report: Path, tmp_path: Path
) -> None:
    collection = sample_report.parent.parent
    out = tmp_path / "damaged"
    run(Options(collection=str(collection), output_dir=str(out)))
    binary = "a37943a73234300660ce220a18304548"
    for data_file in (out / "data" / binary).glob("g*.js"):
        data_file.unlink()
    page.goto((out / "binaries" / f"{binary}.html").as_uri())
    page.click("#files tbody tr.row >> nth=0")
    expect(page.locator("#viewer .no-source-reason")).to_contain_text("Could not load")
    page.problems.clear()  # the failed script load is the point of this test


def test_owners_with_entry_problems_are_flagged(
    page: Any, cluster: ClusterCollection, tmp_path: Path
) -> None:
    entry = next(e for e in cluster.entries.values() if e.pod == "kv-store-1")
    (cluster.entry_dir(entry.name) / "info.json").write_text("{broken", encoding="utf-8")
    compile_cluster(cluster)
    page.goto(
        Path(
            run(Options(collection=str(cluster.root), output_dir=str(tmp_path / "r"))).index
        ).as_uri()
    )
    flagged = page.eval_on_selector_all(
        "#owners tr.has-errors", "rows => rows.map(r => r.cells[2].innerText)"
    )
    assert len(flagged) == 1 and flagged[0].startswith("kv-store") and "1 errors" in flagged[0]


def test_resolved_files_link_upstream_at_the_commit(page: Any, sample_report: Path) -> None:
    # The sample's inventory-api is github.com/example-org/inventory-api at a known commit
    # (the bundled sources); a line number links to that line there.
    binary = sample_report.parent / "binaries" / "a37943a73234300660ce220a18304548.html"
    page.goto(f"{binary.as_uri()}#file=github.com/example-org/inventory-api/main.go&line=30")
    page.wait_for_selector("table.source tr#L30")
    data = json.loads(page.inner_text("#cc-data"))
    commit = data["binary"]["commit"]
    assert len(commit) == 40
    base = f"https://github.com/example-org/inventory-api/blob/{commit}/main.go"
    assert page.get_attribute("#viewer a.upstream", "href") == base
    assert page.get_attribute("table.source tr#L30 td.line-num a", "href") == f"{base}#L30"
    assert page.inner_text("table.source tr#L30 td.line-num") == "30"
    assert all(f["status"] == "resolved" for f in data["files"])  # (unresolved: next test)


def test_an_unresolved_file_says_what_to_run(page: Any, hostile_report: Path) -> None:
    page.goto(hostile_report.as_uri())
    page.wait_for_selector("#owners tbody tr.row")
    pages = sorted((hostile_report.parent / "binaries").glob("*.html"))
    for binary in pages:
        page.goto(binary.as_uri())
        page.wait_for_selector("#files tbody tr.row")
        data = json.loads(page.inner_text("#cc-data"))
        unresolved = [f for f in data["files"] if f["status"] == "unresolved"]
        if not unresolved:
            continue
        page.goto(f"{binary.as_uri()}#file={unresolved[0]['path']}")
        page.reload()
        page.wait_for_selector("#viewer .no-source-reason")
        assert "cluster clone-sources" in page.inner_text("#viewer .no-source-reason")
        assert page.locator("#viewer a.upstream").count() == 0
        return
    pytest.fail("the hostile collection has no unresolved file")


def test_the_binary_pages_state_survives_a_reload(page: Any, sample_report: Path) -> None:
    binary = sample_report.parent / "binaries" / "a37943a73234300660ce220a18304548.html"
    page.goto(f"{binary.as_uri()}#file=github.com/example-org/inventory-api/main.go&line=30")
    page.wait_for_selector("table.source tr#L30.target")
    page.fill("#search", "internal")
    page.click("#files th[data-key=statements]")
    page.click("#files th[data-key=statements]")  # descending
    choose(page, "#filter-level", "excellent")
    page.click("#views button[data-layout=list]")
    page.click("nav.tabs button[data-tab=functions]")
    shown = rows(page, "#files")
    hash_ = page.evaluate("location.hash")
    for part in ("q=internal", "sort=statements", "order=desc", "level=excellent", "tab=functions",
                 "layout=list", "line=30"):  # fmt: skip
        assert part in hash_, part
    page.reload()
    page.wait_for_selector("[data-view=functions]:not([hidden])")
    assert page.input_value("#search") == "internal"
    expect(page.locator("#files th[data-key=statements]")).to_have_attribute(
        "aria-sort", "descending"
    )
    assert page.get_attribute(".split", "data-layout") == "list"
    page.click("nav.tabs button[data-tab=files]")
    assert rows(page, "#files") == shown
    assert page.inner_text("#filter-level > button").startswith("Coverage levels (1)")
    page.click("#filter-level > button")
    assert page.is_checked("#filter-level input[value=excellent]")
    assert "layout=list" in page.evaluate("location.hash")
