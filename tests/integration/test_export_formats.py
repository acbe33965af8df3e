"""LCOV, Cobertura, SonarQube and Codecov JSON exports, read by real consumers: lcov 1.16's
genhtml, xmllint against Cobertura's coverage-04 DTD and SonarQube's documented schema, and
a JSON parser. Every number is compared with the group's own `line_hits()` and functions.

Groups come from the demo's sample collection (compiled, sources cloned and resolved) and
from hand-made edge cases: hostile and non-ASCII names, set mode, a file with no covered
line, duplicate function names, a huge count, many files for Cobertura's split.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coverage_collector.database import open_readonly as connect_readonly
from coverage_collector.export import cobertura, codecovjson, lcov, sonarqube
from coverage_collector.export.model import (
    ExportGroup,
    FileCoverage,
    FunctionCoverage,
    build_groups,
)
from coverage_collector.selection import OwnerSelection, select
from tests.helpers.gofixtures import skip_or_fail

DATA = Path(__file__).resolve().parent / "data" / "export"
DTD = DATA / "coverage-04.dtd"
XSD = DATA / "sonar-generic-coverage.xsd"
SUMMARY = re.compile(r"^\s+(lines|functions)\.+: [\d.]+% \((\d+) of (\d+) \w+\)$", re.M)
HOSTILE = '<script>alert("x")</script>&\''
WRITERS = (lcov, cobertura, sonarqube, codecovjson)


# --------------------------------------------------------------------------------------------
# Groups


class Sample:
    """The demo sample's groups by binary, owner and repository, and their checkouts."""

    def __init__(self, collection: Path) -> None:
        conn = connect_readonly(str(collection))
        try:
            self.groups = [
                g
                for by in ("binary", "owner", "repo")
                for g in build_groups(conn, OwnerSelection(), by)
            ]
            sources = select(conn, OwnerSelection()).sources.values()
            self.checkouts = {(s.source_url, s.commit): collection / s.checkout for s in sources}
        finally:
            conn.close()

    def checkout(self, group: ExportGroup) -> Path | None:
        path = self.checkouts.get((group.source_url, group.commit))
        return path if group.path_style == "repository" and path and path.is_dir() else None


@pytest.fixture(scope="module")
def sample(sample_collection: Path) -> Sample:
    return Sample(sample_collection)


Block = tuple[int, int, int, int, int, int, int]
"""(start line, start column, end line, end column, statements, count, function index)"""


def make_file(
    path: str, blocks: list[Block], functions: list[tuple[str, int, int]], go_path: str = ""
) -> FileCoverage:
    """A file from blocks and (name, start line, end line) functions, numbers derived."""
    blocks = sorted(blocks)
    columns = list(zip(*blocks, strict=True)) if blocks else [()] * 7
    sl, sc, el, ec, stmts, funcs = (
        np.array(columns[i], dtype=np.int64) for i in (0, 1, 2, 3, 4, 6)
    )
    counts = np.array(columns[5], dtype=np.uint64)
    coverages = []
    for i, (name, start, end) in enumerate(functions):
        mine = [b for b in blocks if b[6] == i]
        statements, covered = sum(b[4] for b in mine), sum(b[4] for b in mine if b[5])
        entry = min(mine)[5] if mine else 0  # the count of its first block: its calls
        coverages.append(FunctionCoverage(name, start, end, statements, covered, entry))
    return FileCoverage(
        path,
        go_path or f"example.com/m/{path}",
        not go_path,
        sl,
        sc,
        el,
        ec,
        stmts,
        counts,
        funcs,
        coverages,
    )


def group_of(key: str, mode: str, files: list[FileCoverage]) -> ExportGroup:
    return ExportGroup("binary", key, key, mode, "", "", ["0" * 32], ["ns/Deployment/x"], files)


def hostile_group() -> ExportGroup:
    """Names with markup, quotes, commas, line breaks, controls, non-ASCII, undecodable
    bytes; duplicate function names; a count past int64."""
    huge = 2**63 + 5
    markup = make_file(
        f"pkg/{HOSTILE}/ünïcødé ☃ 名前.go",
        [
            (3, 2, 5, 10, 3, huge, 0),
            (10, 2, 12, 3, 2, 4, 1),
            (20, 2, 22, 3, 2, 0, 2),
            (30, 2, 30, 20, 1, 1, 3),
            (40, 2, 41, 3, 2, 1, 4),
            (50, 2, 52, 3, 2, 7, 5),
        ],
        [
            (HOSTILE, 3, 5),
            ("dup", 10, 12),
            ("dup", 20, 22),
            ("dup@10", 30, 30),
            ("a,b\nend_of_record\r\x01\u2028", 40, 41),
            ("名前.(*T).f", 50, 52),
        ],
    )
    undecodable = make_file(
        "raw\udcff\x07name.go",
        [(1, 1, 2, 5, 1, 0, 0), (2, 6, 4, 1, 2, 0, 0)],
        [("", 1, 4)],
        go_path="example.com/raw\udcff\x07name.go",
    )
    return group_of("hostile", "count", [undecodable, markup])


def set_mode_group() -> ExportGroup:
    """Set mode; a file no test reached; two functions sharing a name and a line."""
    reached = make_file(
        "cmd/app/main.go",
        [(5, 13, 7, 2, 2, 1, 0), (7, 2, 9, 3, 1, 0, 0), (12, 20, 14, 2, 1, 1, 1)],
        [("main", 5, 9), ("main.func1", 12, 14)],
    )
    unreached = make_file(
        "internal/unused/unused.go",
        [(3, 20, 6, 2, 3, 0, 0), (8, 20, 8, 40, 1, 0, 1), (8, 41, 8, 60, 1, 0, 2)],
        [("Unused", 3, 6), ("twin", 8, 8), ("twin", 8, 8)],
    )
    return group_of("set-mode", "set", [unreached, reached])


def many_files_group(n_files: int = 240) -> ExportGroup:
    """Enough files in enough packages for Cobertura to split with small limits."""
    files = []
    for i in range(n_files):
        blocks = [(10 * j + 1, 2, 10 * j + 5, 3, 3, (i + j) % 3, j) for j in range(4)]
        functions = [(f"F{j}", 10 * j + 1, 10 * j + 5) for j in range(4)]
        files.append(make_file(f"pkg{i % 17}/file{i:03}.go", blocks, functions))
    return group_of("many", "count", files)


def edge_groups() -> list[ExportGroup]:
    return [hostile_group(), set_mode_group(), many_files_group(40)]


def all_groups(sample: Sample) -> list[ExportGroup]:
    return [*sample.groups, *edge_groups()]


def expected_lines(file: FileCoverage) -> dict[int, int]:
    lines, hits = file.line_hits()
    return dict(zip(lines.tolist(), hits.tolist(), strict=True))


def totals(group: ExportGroup) -> tuple[int, int, int, int]:
    """(lines, covered lines, functions, functions called) as LCOV counts them."""
    hits = [h for f in group.files for h in expected_lines(f).values()]
    functions = [fn for f in group.files for fn in f.functions]
    return (
        len(hits),
        sum(1 for h in hits if h),
        len(functions),
        sum(1 for f in functions if f.executions),
    )


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        skip_or_fail(f"{name} is not installed (apt-get install lcov libxml2-utils)")
    return path


# --------------------------------------------------------------------------------------------
# LCOV


def genhtml(info: Path, out: Path, source_dir: Path | None) -> str:
    """genhtml's output; sources from `source_dir` when given, else `--no-source`."""
    args = [tool("genhtml"), "--output-directory", str(out), "--function-coverage", str(info)]
    if source_dir is None:
        args.insert(1, "--no-source")
    result = subprocess.run(
        args,
        cwd=source_dir or out.parent,
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output and "ERROR" not in output, output
    return output


def parse_info(text: str) -> dict[str, dict[str, Any]]:
    """Our own reading of a tracefile: per SF, its FN, FNDA and DA entries and summary lines."""
    records: dict[str, dict[str, Any]] = {}
    record: dict[str, Any] = {}
    for line in text.split("\n")[:-1]:
        tag, _, value = line.partition(":")
        if tag == "SF":
            assert value not in records
            record = records.setdefault(value, {"FN": {}, "FNDA": {}, "DA": {}})
        elif tag == "FN":
            start, name = value.split(",", 1)
            assert name not in record["FN"] and "," not in name
            record["FN"][name] = int(start)
        elif tag in ("FNDA", "DA"):
            key, number = value.split(",", 1)[::-1] if tag == "FNDA" else value.split(",")
            record[tag][key if tag == "FNDA" else int(key)] = int(number)
        elif tag in ("FNF", "FNH", "LF", "LH"):
            record[tag] = int(value)
        else:
            assert line in ("TN:", "end_of_record"), line
    return records


def check_lcov(group: ExportGroup, out: Path, source_dir: Path | None) -> None:
    """genhtml reads the tracefile without a warning and sums up the group's numbers; our own
    reading of it finds every file's line hits and functions."""
    (name,) = lcov.write(group, str(out))
    assert name == f"{group.key}.info"
    output = genhtml(out / name, out / "html", source_dir)
    found = {kind: (int(hit), int(total)) for kind, hit, total in SUMMARY.findall(output)}
    n_lines, n_covered, n_functions, n_called = totals(group)
    assert found["lines"] == (n_covered, n_lines), group.label
    assert found["functions"] == (n_called, n_functions), group.label
    assert f"Found {len(group.files)} entries." in output
    if source_dir is not None:  # the sources annotated: one page per file
        assert len(list((out / "html").rglob("*.go.gcov.html"))) == len(group.files)
    records = parse_info((out / name).read_text(encoding="utf-8", errors="surrogateescape"))
    assert len(records) == len(group.files)
    for file in group.files:
        record = records[lcov.safe_field(file.path)]
        assert record["DA"] == expected_lines(file)
        assert record["LF"] == len(record["DA"])
        assert record["LH"] == sum(1 for h in record["DA"].values() if h)
        assert sorted(record["FNDA"].values()) == sorted(f.executions for f in file.functions)
        assert record["FNDA"].keys() == record["FN"].keys()
        assert record["FNF"] == len(file.functions)
        assert record["FNH"] == sum(1 for f in file.functions if f.executions)


def test_lcov_read_by_genhtml(sample: Sample, tmp_path: Path) -> None:
    for i, group in enumerate(sample.groups):
        (tmp_path / str(i)).mkdir()
        source_dir = sample.checkout(group)
        assert source_dir is not None  # annotated from the checkout: sources found
        check_lcov(group, tmp_path / str(i), source_dir)
    for group in edge_groups():
        (tmp_path / group.key).mkdir()
        check_lcov(group, tmp_path / group.key, None)


def test_lcov_names_made_unique_and_safe(tmp_path: Path) -> None:
    group = hostile_group()
    (name,) = lcov.write(group, str(tmp_path))
    raw = (tmp_path / name).read_bytes()
    assert b"SF:raw\xff\xef\xbf\xbdname.go\n" in raw  # original byte kept, BEL replaced
    records = parse_info(raw.decode("utf-8", "surrogateescape"))
    markup = records[f"pkg/{HOSTILE}/ünïcødé ☃ 名前.go"]
    assert markup["FN"] == {
        HOSTILE: 3,
        "dup@10#2": 10,  # "dup@10" is taken by the function of that name
        "dup@20": 20,
        "dup@10": 30,
        "a;b\ufffdend_of_record\ufffd\ufffd\ufffd": 40,
        "名前.(*T).f": 50,
    }
    assert markup["FNDA"]["dup@10#2"] == 4 and markup["FNDA"][HOSTILE] == 2**63 + 5
    assert markup["DA"][3] == np.iinfo(np.int64).max  # line hits are clipped to int64
    assert records["raw\udcff\ufffdname.go"]["FN"] == {"_": 1}
    (name,) = lcov.write(set_mode_group(), str(tmp_path))
    unused = parse_info((tmp_path / name).read_text())["internal/unused/unused.go"]
    assert unused["FN"] == {"Unused": 3, "twin@8": 8, "twin@8#2": 8}
    assert set(unused["DA"].values()) == {0} and set(unused["FNDA"].values()) == {0}


# --------------------------------------------------------------------------------------------
# Cobertura


def xmllint(*args: str) -> None:
    result = subprocess.run(
        [tool("xmllint"), "--noout", "--nonet", *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() in ("", *(f"{a} validates" for a in args)), result.stderr


def classes(root: ET.Element) -> list[ET.Element]:
    return root.findall("./packages/package/classes/class")


def line_map(element: ET.Element) -> dict[int, int]:
    return {
        int(x.get("number", "")): int(x.get("hits", "")) for x in element.findall("./lines/line")
    }


def check_cobertura(group: ExportGroup, out: Path, names: list[str]) -> list[ET.Element]:
    """Every part valid against the DTD, each file in exactly one part with its line hits;
    the parts' roots."""
    for name in names:
        xmllint("--dtdvalid", str(DTD), str(out / name))
    roots = [ET.parse(out / name).getroot() for name in names]
    found = Counter(c.get("filename") for root in roots for c in classes(root))
    assert found == Counter(cobertura.xml_text(f.path) for f in group.files)
    by_name = {c.get("filename"): c for root in roots for c in classes(root)}
    for file in group.files:
        element = by_name[cobertura.xml_text(file.path)]
        assert line_map(element) == expected_lines(file)
        methods = element.findall("./methods/method")
        assert [m.get("name") for m in methods] == [
            cobertura.xml_text(f.name) for f in file.functions
        ]
        for method in methods:
            assert line_map(method).items() <= line_map(element).items()
    for root in roots:
        lines = [h for c in classes(root) for h in line_map(c).values()]
        assert root.get("lines-valid") == str(len(lines))
        assert root.get("lines-covered") == str(sum(1 for h in lines if h))
        assert [s.text for s in root.findall("./sources/source")] == ["."]
    return roots


def test_cobertura_valid_against_dtd(sample: Sample, tmp_path: Path) -> None:
    for i, group in enumerate(all_groups(sample)):
        out = tmp_path / str(i)
        out.mkdir()
        names = cobertura.write(group, str(out))
        assert names == [f"{group.key}.xml"]
        (root,) = check_cobertura(group, out, names)
        n_lines, n_covered, _, _ = totals(group)
        assert root.get("line-rate") == (f"{n_covered / n_lines:.4f}" if n_lines else "1.0000")
        packages = {
            c.get("filename"): package.get("name")
            for package in root.findall("./packages/package")
            for c in package.findall("./classes/class")
        }
        assert packages == {
            cobertura.xml_text(f.path): cobertura.xml_text(f.package) for f in group.files
        }


def test_cobertura_hostile_names_escaped(tmp_path: Path) -> None:
    group = hostile_group()
    (name,) = cobertura.write(group, str(tmp_path))
    root = ET.parse(tmp_path / name).getroot()
    files = {c.get("filename"): c for c in classes(root)}
    assert set(files) == {f"pkg/{HOSTILE}/ünïcødé ☃ 名前.go", "raw\ufffd\ufffdname.go"}
    markup = files[f"pkg/{HOSTILE}/ünïcødé ☃ 名前.go"]
    assert markup.get("name") == "ünïcødé ☃ 名前.go"
    names = [m.get("name") for m in markup.findall("./methods/method")]
    assert names[0] == HOSTILE and names[4] == "a,b\nend_of_record\r\ufffd\u2028"
    assert b"<script>" not in (tmp_path / name).read_bytes()


def test_cobertura_split_by_size(tmp_path: Path) -> None:
    group = many_files_group()
    whole = tmp_path / "whole"
    whole.mkdir()
    (single,) = cobertura.write(group, str(whole))
    size = (whole / single).stat().st_size
    limit = size // 7
    names = cobertura.write(group, str(tmp_path), max_bytes=limit, max_sources=1)
    assert names == ["many.xml", *(f"many-{i}.xml" for i in range(2, len(names) + 1))]
    assert 7 <= len(names) <= 9  # parts nearly full
    sizes = [(tmp_path / n).stat().st_size for n in names]
    assert max(sizes) <= limit
    roots = check_cobertura(group, tmp_path, names)
    assert sum(int(r.get("lines-valid", "")) for r in roots) == totals(group)[0]
    assert sum(int(r.get("lines-covered", "")) for r in roots) == totals(group)[1]
    order = [c.get("filename") for r in roots for c in classes(r)]
    assert order == sorted(order, key=lambda p: (os.path.dirname(p), p))  # runs of the sorted files


def test_cobertura_file_larger_than_the_limit_stands_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    group = set_mode_group()
    with caplog.at_level(logging.WARNING):
        names = cobertura.write(group, str(tmp_path), max_bytes=100)
    assert names == ["set-mode.xml", "set-mode-2.xml"]
    check_cobertura(group, tmp_path, names)
    assert "alone exceeds 100 bytes" in caplog.text
    with pytest.raises(ValueError):
        cobertura.write(group, str(tmp_path), max_sources=0)


# --------------------------------------------------------------------------------------------
# SonarQube and Codecov


def check_sonarqube(group: ExportGroup, out: Path) -> None:
    """Valid against the documented schema; each line covered when its hits are not 0."""
    (name,) = sonarqube.write(group, str(out))
    assert name == f"{group.key}.xml"
    xmllint("--schema", str(XSD), str(out / name))
    root = ET.parse(out / name).getroot()
    assert root.attrib == {"version": "1"}
    files = {f.get("path"): f for f in root.findall("./file")}
    assert len(files) == len(group.files)
    for file in group.files:
        lines = files[cobertura.xml_text(file.path)].findall("./lineToCover")
        covered = {int(x.get("lineNumber", "")): x.get("covered") == "true" for x in lines}
        assert covered == {line: hit > 0 for line, hit in expected_lines(file).items()}


def check_codecov(group: ExportGroup, out: Path) -> None:
    """Plain JSON: every file's lines in numeric order with their hits as integers."""
    (name,) = codecovjson.write(group, str(out))
    assert name == f"{group.key}.json"
    data = json.loads((out / name).read_text(encoding="ascii"))
    assert list(data) == ["coverage"]
    coverage = data["coverage"]
    assert list(coverage) == sorted(coverage)
    assert len(coverage) == len(group.files)
    for file in group.files:
        lines = coverage[file.path.replace("\udcff", "\ufffd")]
        assert all(type(h) is int for h in lines.values())
        assert [int(k) for k in lines] == sorted(int(k) for k in lines)
        assert {int(k): h for k, h in lines.items()} == expected_lines(file)


def test_sonarqube_valid_against_schema(sample: Sample, tmp_path: Path) -> None:
    for i, group in enumerate(all_groups(sample)):
        (tmp_path / str(i)).mkdir()
        check_sonarqube(group, tmp_path / str(i))


def test_codecov_json_matches_line_hits(sample: Sample, tmp_path: Path) -> None:
    for i, group in enumerate(all_groups(sample)):
        (tmp_path / str(i)).mkdir()
        check_codecov(group, tmp_path / str(i))


def test_go_built_groups_read_by_every_consumer(
    resolved_collection: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    """Binaries built here from local repositories: vendored and generated files, Go paths
    for files outside the checkout (`mixed` groups), repositories of several binaries."""
    collection, _ = resolved_collection
    built = Sample(collection)
    styles = Counter(g.path_style for g in built.groups)
    assert styles["mixed"] and styles["repository"]
    for i, group in enumerate(built.groups):
        out = tmp_path / str(i)
        out.mkdir()
        check_lcov(group, out, built.checkout(group))
        names = cobertura.write(group, str(out))
        check_cobertura(group, out, names)
        (out / "sonar").mkdir()
        check_sonarqube(group, out / "sonar")
        check_codecov(group, out)


# --------------------------------------------------------------------------------------------
# All formats


@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.__name__.rsplit(".", 1)[-1])
def test_output_is_deterministic_and_sorted(writer: Any, tmp_path: Path) -> None:
    group = many_files_group(30)
    reversed_group = group_of(group.key, group.mode, group.files[::-1])
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    names = writer.write(group, str(first))
    assert writer.write(reversed_group, str(second)) == names
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()


@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.__name__.rsplit(".", 1)[-1])
def test_empty_group(writer: Any, tmp_path: Path) -> None:
    names = writer.write(group_of("empty", "set", []), str(tmp_path))
    assert len(names) == 1 and (tmp_path / names[0]).is_file()
    if writer is cobertura:
        xmllint("--dtdvalid", str(DTD), str(tmp_path / names[0]))
    if writer is sonarqube:
        xmllint("--schema", str(XSD), str(tmp_path / names[0]))
