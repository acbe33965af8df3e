"""Who ran this line (issue 18, item 3), clicked in Chromium and checked against the owners'
own `go tool covdata` output on the same entries: a shared binary's page says, for each line,
which owners executed it, how often, in how many entries and process instances; its owner
filter gives the files, functions, totals and source colours of the chosen owners alone, kept
in the URL hash; the index links an owner row to that view.

The sample collection's inventory-api runs in two owners: shop/inventory-api (a Deployment
of three pods, one restarted: four process instances) and an e2e smoke-test pod."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.helpers.gofixtures import cache_root, covdata, go_env

BINARY = "a37943a73234300660ce220a18304548"
PAGE = f"binaries/{BINARY}.html"
MAIN_GO = "github.com/example-org/inventory-api/main.go"
SHOP, SMOKE = "shop", "e2e-test-inventory-api-8f2kd"
INJECTED = "/coverage_server.go"
"""The coverage server the build injects: not the application, the report leaves it out."""


@dataclass(frozen=True)
class Block:
    """One line of a text profile."""

    path: str
    start_line: int
    end_line: int
    statements: int
    count: int


def _profile(go: Path, dirs: list[Path], out: Path) -> list[Block]:
    """`go tool covdata textfmt` of `dirs`, parsed."""
    result = covdata(
        go, ["textfmt", "-i=" + ",".join(map(str, dirs)), f"-o={out}"], go_env(cache_root())
    )
    assert result.returncode == 0, result.stderr
    blocks = []
    for line in out.read_text().splitlines()[1:]:
        where, statements, count = line.rsplit(" ", 2)
        path, _, span = where.rpartition(":")
        if path.endswith(INJECTED):
            continue
        start, end = span.split(",")
        blocks.append(
            Block(
                path, int(start.split(".")[0]), int(end.split(".")[0]), int(statements), int(count)
            )
        )
    return blocks


def _lines(blocks: list[Block]) -> dict[tuple[str, int], int]:
    """(path, line) -> the largest count of the blocks touching the line."""
    counts: dict[tuple[str, int], int] = {}
    for b in blocks:
        for line in range(b.start_line, b.end_line + 1):
            counts[(b.path, line)] = max(counts.get((b.path, line), 0), b.count)
    return counts


def _covered(blocks: list[Block]) -> dict[str, int]:
    """Path -> statements of its blocks that ran."""
    covered: dict[str, int] = defaultdict(int)
    for b in blocks:
        covered[b.path] += b.statements if b.count else 0
    return covered


@dataclass(frozen=True)
class Owner:
    """An owner of inventory-api as its entries' directories say (metadata.json)."""

    namespace: str
    dirs: list[Path]

    @property
    def instances(self) -> int:
        return sum(len(list(d.glob("covcounters.*"))) for d in self.dirs)


def _owners(collection: Path) -> dict[str, Owner]:
    dirs: dict[str, list[Path]] = defaultdict(list)
    for entry in sorted((collection / "coverage").iterdir()):
        meta = json.loads((entry / "metadata.json").read_text())
        if (entry / f"covmeta.{BINARY}").exists():
            dirs[meta["namespace"]].append(entry)
    assert sorted(dirs) == sorted([SHOP, SMOKE])
    return {ns: Owner(ns, d) for ns, d in dirs.items()}


@pytest.fixture(scope="module")
def oracle(
    sample_collection: Path, go_toolchain: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Per owner: its profile, its entries' profiles; and the profile of both."""
    tmp = tmp_path_factory.mktemp("whoran")
    owners = _owners(sample_collection)
    out: dict[str, Any] = {"owners": owners, "profile": {}, "entries": {}}
    for ns, owner in owners.items():
        out["profile"][ns] = _profile(go_toolchain, owner.dirs, tmp / f"{ns}.txt")
        out["entries"][ns] = [
            (
                _lines(_profile(go_toolchain, [d], tmp / f"{d.name}.txt")),
                len(list(d.glob("covcounters.*"))),
            )
            for d in owner.dirs
        ]
    every = [d for o in owners.values() for d in o.dirs]
    out["profile"]["both"] = _profile(go_toolchain, every, tmp / "both.txt")
    return out


def _label_of(page: Any, namespace: str) -> str:
    labels = page.eval_on_selector_all(
        "#filter-owner label", "ls => ls.map(l => l.textContent.trim())"
    )
    (label,) = [x for x in labels if x.startswith(namespace + "/")]
    return str(label)


def _choose(page: Any, namespaces: list[str]) -> None:
    page.click("#filter-owner > button")
    for ns in namespaces:
        page.get_by_label(_label_of(page, ns), exact=True).check()
    page.keyboard.press("Escape")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


COLLECT = """() => {
  const out = {};
  for (const row of document.querySelectorAll("table.source tr[id]")) {
    row.querySelector("td.code").click();
    const rows = [...document.querySelectorAll("#who-ran tbody tr")];
    out[row.id.slice(1)] = rows.map((r) => [...r.cells].map((c) => c.textContent));
  }
  return out;
}"""


def test_who_ran_each_line_is_what_covdata_says(
    page: Any, sample_report: Path, oracle: dict[str, Any]
) -> None:
    # every line of every file: each owner's count, entries and process instances that ran it
    owners: dict[str, Owner] = oracle["owners"]
    paths = sorted({b.path for b in oracle["profile"]["both"]})
    assert len(paths) == 5
    page.goto((sample_report.parent / PAGE).as_uri())
    labels = {ns: _label_of(page, ns) for ns in owners}
    checked = 0
    for path in paths:
        page.goto("about:blank")  # a new hash alone would not load the page again
        page.goto(f"{(sample_report.parent / PAGE).as_uri()}#file={path}")
        page.wait_for_selector("table.source tr.hit")
        page.click("table.source tr.hit td.code >> nth=0")
        page.wait_for_selector("#who-ran")
        shown = page.evaluate(COLLECT)
        tracked = {line for (p, line) in _lines(oracle["profile"]["both"]) if p == path}
        for line in sorted(tracked):
            rows = {cells[0]: cells[1:] for cells in shown[str(line)]}
            for ns, owner in owners.items():
                count = _lines(oracle["profile"][ns]).get((path, line), 0)
                ran = [n for lines, n in oracle["entries"][ns] if lines.get((path, line), 0) > 0]
                got = rows[labels[ns]]
                assert _number(got[0]) == count, (path, line, ns)
                assert got[1] == f"{len(ran)} of {len(owner.dirs)}", (path, line, ns)
                assert got[2] == f"{sum(ran)} of {owner.instances}", (path, line, ns)
                assert got[3] == "\u2013"  # no cluster recorded in the sample
                checked += 1
    assert checked > 300


def _files(page: Any) -> dict[str, tuple[int, int]]:
    """The files table: path -> (statements, covered)."""
    rows = page.eval_on_selector_all(
        "#files tbody tr.row",
        "rs => rs.map(r => [r.cells[0].title, r.cells[2].textContent, r.cells[3].textContent])",
    )
    return {path: (_number(s), _number(c)) for path, s, c in rows}


def _functions(go: Path, dirs: list[Path]) -> dict[tuple[str, str], str]:
    """`go tool covdata func`: (file:line, name) -> percent text."""
    result = covdata(go, ["func", "-i=" + ",".join(map(str, dirs))], go_env(cache_root()))
    assert result.returncode == 0, result.stderr
    out = {}
    for line in result.stdout.decode().splitlines():
        fields = line.split()
        if fields[0] == "total" or INJECTED + ":" in fields[0]:
            continue
        where, name, percent = fields[0].rstrip(":"), fields[1], fields[-1]
        path, number = where.rsplit(":", 1)
        out[(path.rsplit("/", 1)[-1] + ":" + number, name)] = percent
    return out


@pytest.mark.parametrize("chosen", [[SHOP], [SMOKE], [SHOP, SMOKE]])
def test_the_owner_filter_shows_those_owners_numbers(
    page: Any, sample_report: Path, oracle: dict[str, Any], go_toolchain: Path, chosen: list[str]
) -> None:
    # files, totals, functions and source colours are the chosen owners' own, per covdata
    owners: dict[str, Owner] = oracle["owners"]
    profile = oracle["profile"][chosen[0] if len(chosen) == 1 else "both"]
    covered = _covered(profile)
    page.goto(f"{(sample_report.parent / PAGE).as_uri()}#file={MAIN_GO}")
    page.wait_for_selector("table.source tr")
    _choose(page, chosen)
    expect(page.locator("#card-percent-label")).to_contain_text(f"{len(chosen)} of 2 owners")
    files = _files(page)
    assert {p: c for p, (_, c) in files.items()} == {p: covered[p] for p in files}
    total = sum(covered[p] for p in files)
    assert _number(page.inner_text("#card-covered")) == total
    # the owners in the hash; a reload shows the same view
    ids = re.findall(r"owner=(\d+)", page.url)
    assert len(ids) == len(chosen)
    page.reload()
    page.wait_for_selector("table.source tr")
    expect(page.locator("#filter-owner > button")).to_contain_text(f"Owners ({len(chosen)})")
    expect(page.locator("#card-covered")).to_have_text(f"{total:,}")
    assert _files(page) == files
    # the source's colours and counts
    lines = _lines(profile)
    page.wait_for_function(
        "n => document.querySelectorAll('table.source tr.hit').length === n",
        arg=sum(1 for (p, _), c in lines.items() if p == MAIN_GO and c > 0),
    )
    shown = page.eval_on_selector_all(
        "table.source tr[id]",
        "rs => rs.map(r => [r.id.slice(1), r.className, r.cells[1].textContent])",
    )
    for number, classes, count in shown:
        expected = lines.get((MAIN_GO, int(number)))
        if expected is None:
            assert "untracked" in classes.split()
        else:
            assert ("hit" if expected else "miss") in classes.split(), number
            assert int(count) == expected, number
    # the tree's totals
    statements = sum(s for s, _ in files.values())
    page.click("nav.tabs button[data-tab=tree]")
    expect(page.locator("#tree summary").first).to_contain_text(f"({total:,}/{statements:,})")
    # the functions: covdata func's percent of each, for these owners
    dirs = [d for ns in chosen for d in owners[ns].dirs]
    expected_functions = _functions(go_toolchain, dirs)
    page.click("nav.tabs button[data-tab=functions]")
    page.wait_for_selector("#functions tbody tr")
    rows = page.eval_on_selector_all(
        "#functions tbody tr",
        "rs => rs.map(r => [1, 0, 3].map(i => r.cells[i].textContent))",
    )
    assert {(where, name): pct for where, name, pct in rows} == expected_functions


def test_the_index_links_an_owner_to_its_view(
    page: Any, sample_report: Path, oracle: dict[str, Any]
) -> None:
    # the smoke test's row opens inventory-api's page restricted to that owner; the owners
    # of binaries nobody else runs keep their plain link
    page.goto(sample_report.as_uri())
    page.wait_for_selector("#owners tbody tr.row")
    page.uncheck("#hide-tests")  # the smoke test runs in an e2e-* namespace
    expect(page.locator("#owners tbody tr.row")).to_have_count(5)
    hrefs = page.eval_on_selector_all(
        "#owners tbody tr.row a", "as => as.map(a => a.getAttribute('href'))"
    )
    assert sorted(h.partition("#")[0] == PAGE for h in hrefs if "#owner=" in h) == [True, True]
    assert sum("#" not in h for h in hrefs) == len(hrefs) - 2
    row = page.locator("#owners tbody tr.row", has_text="inventory-api-smoke-test")
    row.locator("a").click()
    page.wait_for_selector("#files tbody tr.row")
    expect(page.locator("#filter-owner > button")).to_contain_text("Owners (1)")
    assert page.is_checked(f"#filter-owner input[value='{_label_of(page, SMOKE)}']")
    covered = _covered(oracle["profile"][SMOKE])
    total = sum(covered[p] for p in _files(page))
    expect(page.locator("#card-covered")).to_have_text(f"{total:,}")
