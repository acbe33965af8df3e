"""LCOV, Cobertura, SonarQube, Codecov JSON (and our JSON's functions) pinned to `go tool covdata`.

test_export_formats.py checks the writers against the product's own per-line counts, which
cannot catch a wrong count upstream of the writers (a wrong merge of entries, a dropped or
doubled instance, a file or function attributed to the wrong place). Here every number an
export writes is derived independently, from Go's own tool run on the same entry directories
(all the entries of a binary or an owner merged by covdata: `-i=a,b,c`):

* `go tool covdata textfmt`: the blocks of every file with their merged counts. The per-line
  rule is the one the product documents for its exports and report
  (`export.model.FileCoverage.line_hits`, `report.annotate.line_counts`): a line is listed
  when at least one block's line range `[start line, end line]` contains it (blocks without
  statements included), and its count is the LARGEST count of those blocks (not their sum:
  two blocks on one line are two pieces of the same line's code, each run that many times).
  This module computes it itself from the profile it parses.
* `go tool covdata debugdump`: which units make up each function (closures inside a function
  are Go's units of that function; package-level function literals are functions of their
  own), with unit 0 the function's entry block: its count is the number of calls, which is
  what LCOV's `FNDA` reports. The function's first line is its first unit's line, as
  `go tool covdata func` prints it.
* `go tool covdata func`: each named function's statement percentage, compared with our
  JSON export's per-function statements and covered statements, and used to check the
  debugdump parse itself (every row must be reproduced from the parsed units).

Paths are mapped explicitly: the cluster collection has no cloned sources, so its exports use
Go's import paths, which are textfmt's paths as they are; the demo's sample collection is
cloned and resolved, so its exports are repository-relative: the Go path minus the module
path that the checkout's `go.mod` declares. Files of the injected coverage server
(`coverage_server.go`, `coverage_producer.go`, compile's default excludes) are in no export.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from coverage_collector.cli import main
from tests.helpers.clusterfixtures import ClusterCollection, compile_cluster
from tests.helpers.gofixtures import cache_root, covdata, go_env

EXCLUDED = frozenset({"coverage_server.go", "coverage_producer.go"})
"""Base names of the files the build injects: compile's default excludes (README)."""
FORMATS = ("lcov", "cobertura", "sonarqube", "codecov-json", "json")
GROUPINGS = ("binary", "owner")

_UNIT = re.compile(r"^(\d+): L(\d+):C(\d+) -- L(\d+):C(\d+) NS=(\d+) = (\d+)$")
_TEXTFMT = re.compile(r"^(.+):(\d+)\.(\d+),(\d+)\.(\d+) (\d+) (\d+)$")


# --------------------------------------------------------------------------------------------
# The oracle: Go's covdata on the entry directories


@dataclass(frozen=True, order=True)
class Unit:
    """One coverable unit (block) as Go prints it, counts merged over the inputs."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int
    statements: int
    count: int


@dataclass
class GoFunction:
    """A function of `go tool covdata debugdump`: its units in Go's order (unit 0: entry)."""

    file: str
    name: str
    literal: bool
    units: list[Unit] = field(default_factory=list)

    @property
    def first_line(self) -> int:
        return min(u.start_line for u in self.units)

    @property
    def statements(self) -> int:
        return sum(u.statements for u in self.units)

    @property
    def covered(self) -> int:
        return sum(u.statements for u in self.units if u.count)

    @property
    def lines(self) -> list[int]:
        """The lines the function's units touch (the lines Cobertura lists for its method)."""
        return sorted({n for u in self.units for n in range(u.start_line, u.end_line + 1)})


def go_percent(covered: int, statements: int) -> str:
    """`covdata func`'s number: `%.1f` of covered/total, total 0 counted as 1."""
    return f"{100.0 * covered / max(statements, 1):.1f}%"


@dataclass
class Oracle:
    """What Go says about one set of entry directories (one export group)."""

    mode: str
    blocks: dict[str, list[Unit]]
    """Go path -> the file's blocks, from textfmt (excluded files dropped)."""
    functions: list[GoFunction]
    """Functions with at least one unit, from debugdump (excluded files dropped)."""
    func_rows: set[tuple[str, int, str, str]]
    """(Go path, line, name, percent) rows of `covdata func` (excluded files dropped)."""

    def line_hits(self, go_path: str) -> dict[int, int]:
        """The documented rule: line -> the largest count of the blocks touching it."""
        hits: dict[int, int] = {}
        for unit in self.blocks[go_path]:
            for line in range(unit.start_line, unit.end_line + 1):
                hits[line] = max(hits.get(line, 0), unit.count)
        return hits

    def functions_of(self, go_path: str) -> list[GoFunction]:
        return [f for f in self.functions if f.file == go_path]

    @property
    def statements(self) -> int:
        return sum(u.statements for units in self.blocks.values() for u in units)

    @property
    def covered(self) -> int:
        return sum(u.statements for units in self.blocks.values() for u in units if u.count)


def _go(go: Path, *args: str) -> str:
    result = covdata(go, list(args), go_env(cache_root()))
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout.decode()


def _excluded(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in EXCLUDED


def parse_textfmt(text: str) -> tuple[str, dict[str, list[Unit]]]:
    lines = text.splitlines()
    assert lines[0].startswith("mode: "), lines[:1]
    blocks: dict[str, list[Unit]] = {}
    for line in lines[1:]:
        match = _TEXTFMT.match(line)
        assert match, line
        path, *numbers = match.groups()
        if not _excluded(path):
            blocks.setdefault(path, []).append(Unit(*(int(n) for n in numbers)))
    return lines[0].removeprefix("mode: "), blocks


def parse_debugdump(text: str) -> list[GoFunction]:
    """Functions and their units; units that name a `Parent` (per-function granularity,
    which these builds do not use) would fail the parse rather than be misread."""
    functions: list[GoFunction] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith(("Func: ", "Srcfile: ", "Literal: ")):
            key, _, value = line.partition(": ")
            current[key] = value
            if key == "Literal":
                functions.append(GoFunction(current["Srcfile"], current["Func"], value == "true"))
        elif match := _UNIT.match(line):
            index, *numbers = (int(n) for n in match.groups())
            assert index == len(functions[-1].units), line
            functions[-1].units.append(Unit(*numbers))
        else:
            assert "Parent:" not in line, line
    return [f for f in functions if f.units and not _excluded(f.file)]


def parse_func(text: str) -> set[tuple[str, int, str, str]]:
    rows = set()
    for line in text.splitlines():
        where, name, percent = line.split()
        if where == "total":
            continue
        path, number, _ = where.rsplit(":", 2)
        if not _excluded(path):
            rows.add((path, int(number), name, percent))
    return rows


def oracle(go: Path, dirs: Sequence[Path], scratch: Path) -> Oracle:
    """Run covdata textfmt, debugdump and func on `dirs` merged (`-i=a,b,c`)."""
    assert dirs, "a group without entries"
    scratch.mkdir(parents=True, exist_ok=True)
    inputs = "-i=" + ",".join(str(d) for d in dirs)
    profile = scratch / "profile.txt"
    _go(go, "textfmt", inputs, f"-o={profile}")
    mode, blocks = parse_textfmt(profile.read_text(encoding="utf-8"))
    functions = parse_debugdump(_go(go, "debugdump", inputs))
    result = Oracle(mode, blocks, functions, parse_func(_go(go, "func", inputs)))
    check_oracle(result)
    return result


def check_oracle(found: Oracle) -> None:
    """The three outputs describe the same units: debugdump's units are textfmt's blocks
    (same positions, statements and merged counts) and reproduce every `func` row."""
    from_functions = sorted((f.file, u) for f in found.functions for u in f.units)
    from_blocks = sorted((path, u) for path, units in found.blocks.items() for u in units)
    assert from_functions == from_blocks
    rows = {
        (f.file, f.first_line, f.name, go_percent(f.covered, f.statements))
        for f in found.functions
        if not f.literal
    }
    assert rows == found.func_rows


# --------------------------------------------------------------------------------------------
# Readers of the exports (real parsers, nothing of the product's)


@dataclass
class LcovFile:
    functions: dict[str, int] = field(default_factory=dict)
    """FN: name -> line."""
    calls: dict[str, int] = field(default_factory=dict)
    """FNDA: name -> executions."""
    lines: dict[int, int] = field(default_factory=dict)
    """DA: line -> hits."""
    summary: dict[str, int] = field(default_factory=dict)
    """FNF, FNH, LF, LH."""


def read_lcov(text: str) -> dict[str, LcovFile]:
    files: dict[str, LcovFile] = {}
    current: LcovFile | None = None
    for line in text.splitlines():
        tag, _, value = line.partition(":")
        if tag == "SF":
            assert value not in files, f"{value} twice"
            current = files[value] = LcovFile()
        elif tag == "end_of_record":
            current = None
        elif tag == "TN":
            continue
        else:
            assert current is not None, line
            if tag == "FN":
                number, name = value.split(",", 1)
                assert name not in current.functions, name
                current.functions[name] = int(number)
            elif tag == "FNDA":
                count, name = value.split(",", 1)
                current.calls[name] = int(count)
            elif tag == "DA":
                number, hits = value.split(",")[:2]
                assert int(number) not in current.lines, line
                current.lines[int(number)] = int(hits)
            else:
                assert tag in ("FNF", "FNH", "LF", "LH"), line
                current.summary[tag] = int(value)
    assert current is None, "the last record is not closed"
    return files


def xml_lines(element: ET.Element) -> dict[int, int]:
    """number -> hits of the `<line>`s directly under `element`'s `<lines>`."""
    (lines,) = element.findall("lines")
    found = {}
    for line in lines.findall("line"):
        assert line.get("branch") == "false"
        found[int(line.get("number", ""))] = int(line.get("hits", ""))
    return found


def rate(covered: int, lines: int) -> float:
    return covered / lines if lines else 1.0


# --------------------------------------------------------------------------------------------
# Export groups and their entries


@dataclass
class Group:
    """One exported group: its index row, the entry directories it covers, its path map."""

    row: dict[str, Any]
    dirs: list[Path]
    to_go: Callable[[str], str]
    """An exported path -> its Go path (textfmt's)."""
    oracle: Oracle | None = None


@dataclass
class Exported:
    out: Path
    index: dict[tuple[str, str], dict[str, Any]]
    """(format, by) -> index.json."""
    groups: dict[tuple[str, str], list[Group]] = field(default_factory=dict)
    """(format, by) -> the groups, each with its oracle."""


def export_all(collection: Path, out: Path, groupings: Sequence[str] = GROUPINGS) -> Exported:
    """Export every format with every grouping through the CLI's entry point."""
    exported = Exported(out, {})
    for by in groupings:
        for export_format in FORMATS:
            target = out / f"{export_format}-{by}"
            argv = ["cluster", "export", "--collection", str(collection)]
            argv += ["--output-dir", str(target), "--format", export_format, "--by", by]
            assert main(argv) == 0
            index = json.loads((target / "index.json").read_text(encoding="utf-8"))
            assert index["format"] == export_format and index["by"] == by
            exported.index[(export_format, by)] = index
    return exported


def attach_oracles(
    exported: Exported,
    go: Path,
    dirs_of: Callable[[dict[str, Any]], list[Path]],
    to_go_of: Callable[[dict[str, Any]], Callable[[str], str]],
) -> None:
    """One oracle per distinct group (formats share it: same group, same entries)."""
    cache: dict[tuple[str, ...], Oracle] = {}
    for (export_format, by), index in exported.index.items():
        groups = []
        for row in index["groups"]:
            dirs = dirs_of(row)
            key = (by, row["group"], *map(str, dirs))
            if key not in cache:
                scratch = exported.out / "oracle" / f"{len(cache):03d}"
                cache[key] = oracle(go, dirs, scratch)
            groups.append(Group(row, dirs, to_go_of(row), cache[key]))
        exported.groups[(export_format, by)] = groups


# --------------------------------------------------------------------------------------------
# Checks, one per format


def check_totals(group: Group) -> None:
    expected = group.oracle
    assert expected is not None
    assert group.row["mode"] == expected.mode, group.row["group"]
    assert (group.row["statements"], group.row["covered"]) == (
        expected.statements,
        expected.covered,
    ), group.row["group"]


def mapped(group: Group, paths: Sequence[str]) -> dict[str, str]:
    """Exported path -> Go path; every Go file of the group exported exactly once."""
    assert group.oracle is not None
    found = {path: group.to_go(path) for path in paths}
    assert sorted(found.values()) == sorted(group.oracle.blocks), group.row["group"]
    return found


def check_lcov(exported: Exported, by: str) -> int:
    checked = 0
    for group in exported.groups[("lcov", by)]:
        expected = group.oracle
        assert expected is not None
        check_totals(group)
        (name,) = group.row["files"]
        records = read_lcov((exported.out / f"lcov-{by}" / name).read_text(encoding="utf-8"))
        for path, go_path in mapped(group, list(records)).items():
            record = records[path]
            hits = expected.line_hits(go_path)
            assert record.lines == hits, (group.row["group"], path)
            assert record.summary["LF"] == len(hits)
            assert record.summary["LH"] == sum(1 for h in hits.values() if h)
            functions = expected.functions_of(go_path)
            assert len({f.name for f in functions}) == len(functions), "no @line renames here"
            assert record.functions == {f.name: f.first_line for f in functions}, path
            assert record.calls == {f.name: f.units[0].count for f in functions}, path
            assert record.summary["FNF"] == len(functions)
            assert record.summary["FNH"] == sum(1 for f in functions if f.units[0].count)
            checked += len(hits)
    return checked


def check_cobertura(exported: Exported, by: str) -> int:
    checked = 0
    for group in exported.groups[("cobertura", by)]:
        expected = group.oracle
        assert expected is not None
        check_totals(group)
        classes: dict[str, ET.Element] = {}
        valid = covered = 0
        for name in group.row["files"]:
            root = ET.parse(exported.out / f"cobertura-{by}" / name).getroot()
            assert root.tag == "coverage"
            valid += int(root.get("lines-valid", ""))
            covered += int(root.get("lines-covered", ""))
            for element in root.iter("class"):
                path = element.get("filename", "")
                assert path not in classes, path
                classes[path] = element
        all_hits = 0
        all_covered = 0
        for path, go_path in mapped(group, list(classes)).items():
            element = classes[path]
            hits = expected.line_hits(go_path)
            assert xml_lines(element) == hits, (group.row["group"], path)
            lit = sum(1 for h in hits.values() if h)
            assert float(element.get("line-rate", "")) == pytest.approx(
                rate(lit, len(hits)), abs=5e-5
            )
            methods = {}
            for method in element.iter("method"):
                assert method.get("name", "") not in methods
                methods[method.get("name", "")] = method
            functions = expected.functions_of(go_path)
            assert set(methods) == {f.name for f in functions}, path
            for function in functions:
                method = methods[function.name]
                want = {line: hits[line] for line in function.lines}
                assert xml_lines(method) == want, (path, function.name)
                method_lit = sum(1 for h in want.values() if h)
                assert float(method.get("line-rate", "")) == pytest.approx(
                    rate(method_lit, len(want)), abs=5e-5
                )
            all_hits += len(hits)
            all_covered += lit
            checked += len(hits)
        assert (valid, covered) == (all_hits, all_covered), group.row["group"]
    return checked


def check_sonarqube(exported: Exported, by: str) -> int:
    checked = 0
    for group in exported.groups[("sonarqube", by)]:
        expected = group.oracle
        assert expected is not None
        check_totals(group)
        (name,) = group.row["files"]
        root = ET.parse(exported.out / f"sonarqube-{by}" / name).getroot()
        assert root.tag == "coverage" and root.get("version") == "1"
        files: dict[str, dict[int, bool]] = {}
        for element in root.findall("file"):
            path = element.get("path", "")
            assert path not in files, path
            files[path] = {
                int(line.get("lineNumber", "")): {"true": True, "false": False}[
                    line.get("covered", "")
                ]
                for line in element.findall("lineToCover")
            }
            assert len(files[path]) == len(element.findall("lineToCover")), path
        for path, go_path in mapped(group, list(files)).items():
            want = {line: hit > 0 for line, hit in expected.line_hits(go_path).items()}
            assert files[path] == want, (group.row["group"], path)
            checked += len(want)
    return checked


def check_codecov_json(exported: Exported, by: str) -> int:
    checked = 0
    for group in exported.groups[("codecov-json", by)]:
        expected = group.oracle
        assert expected is not None
        check_totals(group)
        (name,) = group.row["files"]
        document = json.loads((exported.out / f"codecov-json-{by}" / name).read_text())
        assert set(document) == {"coverage"}
        coverage = document["coverage"]
        for path, go_path in mapped(group, list(coverage)).items():
            want = {str(line): hit for line, hit in sorted(expected.line_hits(go_path).items())}
            assert coverage[path] == want, (group.row["group"], path)
            assert all(type(v) is int for v in coverage[path].values())
            checked += len(want)
    return checked


def check_functions(exported: Exported, by: str) -> int:
    """Our JSON's per-function statements, covered statements and executions against
    debugdump's units, and its percentages against `covdata func`'s rows."""
    checked = 0
    for group in exported.groups[("json", by)]:
        expected = group.oracle
        assert expected is not None
        check_totals(group)
        (name,) = group.row["files"]
        document = json.loads((exported.out / f"json-{by}" / name).read_text())
        files = {f["path"]: f for f in document["files"]}
        rows = {(path, line, fn): pct for path, line, fn, pct in expected.func_rows}
        for path, go_path in mapped(group, list(files)).items():
            assert files[path]["go_path"] == go_path
            ours = {(f["name"], f["start_line"]): f for f in files[path]["functions"]}
            theirs = {(f.name, f.first_line): f for f in expected.functions_of(go_path)}
            assert set(ours) == set(theirs), path
            for key, function in theirs.items():
                got = ours[key]
                assert (got["statements"], got["covered"], got["executions"]) == (
                    function.statements,
                    function.covered,
                    function.units[0].count,
                ), (path, key)
                if not function.literal:  # `covdata func` leaves literals out
                    row = rows.pop((go_path, function.first_line, function.name))
                    assert go_percent(got["covered"], got["statements"]) == row, (path, key)
                    checked += 1
        assert not rows, f"covdata func rows without an exported function: {rows}"
    return checked


CHECKS: dict[str, Callable[[Exported, str], int]] = {
    "lcov": check_lcov,
    "cobertura": check_cobertura,
    "sonarqube": check_sonarqube,
    "codecov-json": check_codecov_json,
    "json": check_functions,
}


# --------------------------------------------------------------------------------------------
# The cluster collection: Go import paths, by binary and by owner


@pytest.fixture(scope="module")
def cluster_exports(
    pristine_cluster: ClusterCollection, tmp_path_factory: pytest.TempPathFactory
) -> Exported:
    work = tmp_path_factory.mktemp("export-oracle")
    root = work / "collection"
    shutil.copytree(pristine_cluster.root, root)
    cluster = ClusterCollection(
        root, pristine_cluster.go, pristine_cluster.entries, pristine_cluster.meta_hash
    )
    assert compile_cluster(cluster).ok
    exported = export_all(root, work / "out")
    program_of = {h: p for p, h in cluster.meta_hash.items()}

    def dirs_of(row: dict[str, Any]) -> list[Path]:
        (meta_hash,) = row["binaries"]
        program = program_of[meta_hash]
        if row["kind"] == "binary":
            names = cluster.entries_of_program(program)
        else:
            (label,) = row["owners"]
            namespace, _, owner = label.split("/")
            binary = next(e.binary for e in cluster.entries.values() if e.program == program)
            names = cluster.entries_of_owner(
                "" if namespace == "host" else namespace, owner, binary
            )
        return [cluster.entry_dir(n) for n in names]

    def to_go_of(row: dict[str, Any]) -> Callable[[str], str]:
        assert row["paths"] == "go", row  # no sources cloned: Go's paths, as textfmt has them
        return lambda path: path

    attach_oracles(exported, cluster.go, dirs_of, to_go_of)
    return exported


@pytest.mark.parametrize("by", GROUPINGS)
@pytest.mark.parametrize("export_format", FORMATS)
def test_cluster_exports_match_covdata(
    cluster_exports: Exported, export_format: str, by: str
) -> None:
    # Every line, hit, function and total of every group (4 binaries in set, count and atomic
    # mode; 6 owners, a host process among them) is Go's; a duplicate host process (etcd's)
    # must not count twice.
    groups = cluster_exports.groups[(export_format, by)]
    assert len(groups) == {"binary": 4, "owner": 6}[by]
    assert {g.row["mode"] for g in groups} == {"set", "count", "atomic"}
    checked = CHECKS[export_format](cluster_exports, by)
    assert checked >= (8 if export_format == "json" else 60), checked


def test_cluster_groups_merge_several_entries(cluster_exports: Exported) -> None:
    # The data must exercise what the oracle protects against: groups that merge several
    # entries (and several instances), lines touched by two blocks whose counts differ
    # (max, not sum), and functions whose blocks ran more often than the function was called.
    groups = cluster_exports.groups[("lcov", "owner")] + cluster_exports.groups[("lcov", "binary")]
    assert max(len(g.dirs) for g in groups) >= 3
    shared_lines = 0
    for group in groups:
        assert group.oracle is not None
        for units in group.oracle.blocks.values():
            for a in units:
                for b in units:
                    if a is not b and a.count != b.count and a.end_line == b.start_line:
                        shared_lines += 1
    assert shared_lines > 0
    assert any(  # FNDA is the entry block's count, not the function's busiest block's
        max(u.count for u in f.units) > f.units[0].count > 0
        for g in groups
        if g.oracle
        for f in g.oracle.functions
    )


# --------------------------------------------------------------------------------------------
# The demo's sample collection: cloned, resolved, repository-relative paths


def module_path(checkout: Path) -> str:
    """The `module` directive of the checkout's go.mod."""
    for line in (checkout / "go.mod").read_text(encoding="utf-8").splitlines():
        if line.startswith("module "):
            return line.split()[1].strip('"')
    raise AssertionError(f"no module directive in {checkout / 'go.mod'}")


@pytest.fixture(scope="module")
def sample_exports(
    sample_collection: Path, go_toolchain: Path, tmp_path_factory: pytest.TempPathFactory
) -> Exported:
    exported = export_all(sample_collection, tmp_path_factory.mktemp("sample-oracle"), ["binary"])
    entries: dict[str, list[Path]] = {}
    for meta in sorted((sample_collection / "coverage").glob("*/covmeta.*")):
        entries.setdefault(meta.name.removeprefix("covmeta."), []).append(meta.parent)

    def dirs_of(row: dict[str, Any]) -> list[Path]:
        (meta_hash,) = row["binaries"]
        return entries[meta_hash]

    def to_go_of(row: dict[str, Any]) -> Callable[[str], str]:
        assert row["paths"] == "repository", row
        url = urlsplit(row["source_url"])
        checkout = sample_collection / "repos" / url.netloc / url.path.strip("/") / row["commit"]
        module = module_path(checkout)

        def to_go(path: str) -> str:
            assert (checkout / path).is_file(), path  # relative to the repository root
            return f"{module}/{path}"

        return to_go

    attach_oracles(exported, go_toolchain, dirs_of, to_go_of)
    return exported


@pytest.mark.parametrize("export_format", FORMATS)
def test_sample_exports_match_covdata(sample_exports: Exported, export_format: str) -> None:
    # Repository-relative paths: each maps to one Go path through the module's name.
    groups = sample_exports.groups[(export_format, "binary")]
    assert len(groups) == 4 and max(len(g.dirs) for g in groups) >= 3
    checked = CHECKS[export_format](sample_exports, "binary")
    assert checked >= (20 if export_format == "json" else 200), checked
