"""`cluster export`: Go profiles checked by `go tool cover`, grouping, filters and the index.

The per-format writers (LCOV, Cobertura, SonarQube, Codecov JSON) are checked against their
real consumers in test_export_formats.py.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from coverage_collector.cli import main
from coverage_collector.export.model import ExportGroup, safe_name
from coverage_collector.export.run import file_key

COVER_LINE = re.compile(r"^(?P<file>\S+):(?P<line>\d+):\s+(?P<name>\S+)\s+(?P<pct>[\d.]+)%$")


def export(collection: Path, out: Path, *args: str) -> dict[str, Any]:
    argv = ["cluster", "export", "--collection", str(collection), "--output-dir", str(out)]
    assert main([*argv, *args]) == 0
    return json.loads((out / "index.json").read_text())


def cover_func(go: Path, profile: Path, cwd: Path) -> tuple[dict[tuple[str, str], str], str]:
    """`go tool cover -func`: ({(file, function): percent}, total percent)."""
    result = subprocess.run(
        [str(go), "tool", "cover", f"-func={profile}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    functions: dict[tuple[str, str], str] = {}
    total = ""
    for line in result.stdout.splitlines():
        if line.startswith("total:"):
            total = line.split()[-1]
        elif match := COVER_LINE.match(line):
            functions[(match["file"], match["name"])] = match["pct"] + "%"
    return functions, total


def percent(covered: int, statements: int) -> str:
    return f"{100.0 * covered / statements:.1f}%" if statements else "0.0%"


def test_go_profiles_agree_with_go_tool_cover(
    resolved_collection: tuple[Path, list[Any]], go_toolchain: Path, tmp_path: Path
) -> None:
    collection, _ = resolved_collection
    index = export(collection, tmp_path / "gocover", "--format", "gocover")
    conn = sqlite3.connect(collection / "coverage.db")
    checked_binaries = checked_functions = 0
    for group in index["groups"]:
        (meta_hash,) = group["binaries"]
        binary_id, statements, covered, checkout = conn.execute(
            "SELECT b.id, b.statements, b.covered, coalesce(s.checkout, '') FROM binaries b "
            "LEFT JOIN binary_sources s ON s.binary_id = b.id WHERE b.meta_hash = ?",
            (meta_hash,),
        ).fetchone()
        assert (group["statements"], group["covered"]) == (statements, covered)
        if group["paths"] != "repository":
            continue  # go tool cover needs every file's source; some are not in the checkout
        profile = tmp_path / "gocover" / group["files"][0]
        assert all(
            line.startswith("./") for line in profile.read_text().splitlines()[1:]
        )  # repository-relative, readable from the repository root
        functions, total = cover_func(go_toolchain, profile, collection / checkout)
        assert total == percent(covered, statements)
        ours = conn.execute(
            "SELECT f.path, fn.name, fn.statements, fn.covered FROM binary_functions fn "
            "JOIN binary_files f ON f.binary_id = fn.binary_id AND f.file_id = fn.file_id "
            "WHERE fn.binary_id = ? AND fn.statements > 0",
            (binary_id,),
        ).fetchall()
        literal_parents = {(p, n.split(".func")[0]) for p, n, *_ in ours if ".func" in n}
        names = defaultdict(list)
        for path, name, total_statements, covered_statements in ours:
            names[(path, name.rsplit(".", 1)[-1])].append(
                (name, total_statements, covered_statements)
            )
        for (file, name), pct in functions.items():
            candidates = [
                c
                for (path, bare), found in names.items()
                if path.endswith(file.removeprefix(".")) and bare == name
                for c in found
            ]
            if len(candidates) != 1 or any(
                path.endswith(file.removeprefix(".")) and parent == candidates[0][0]
                for path, parent in literal_parents
            ):
                continue  # ambiguous, or cover counts its closures' statements in it
            _, total_statements, covered_statements = candidates[0]
            assert pct == percent(covered_statements, total_statements), (file, name)
            checked_functions += 1
        html = tmp_path / f"{meta_hash}.html"
        subprocess.run(
            [str(go_toolchain), "tool", "cover", f"-html={profile}", "-o", str(html)],
            cwd=collection / checkout,
            check=True,
            capture_output=True,
        )
        assert html.stat().st_size > 1000
        checked_binaries += 1
    assert checked_binaries >= 3 and checked_functions >= 10


def parse_profile(text: str) -> tuple[str, dict[str, tuple[int, int]]]:
    lines = text.splitlines()
    mode = lines[0].removeprefix("mode: ")
    blocks = {}
    for line in lines[1:]:
        position, statements, count = line.split()
        blocks[position] = (int(statements), int(count))
    return mode, blocks


def test_by_repo_merges_binaries_of_one_commit(
    resolved_collection: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    collection, _ = resolved_collection
    by_binary = export(collection, tmp_path / "binary", "--format", "gocover")
    by_repo = export(collection, tmp_path / "repo", "--format", "gocover", "--by", "repo")
    profiles = {
        h: parse_profile((tmp_path / "binary" / g["files"][0]).read_text())
        for g in by_binary["groups"]
        for h in g["binaries"]
    }
    merged_groups = [g for g in by_repo["groups"] if len(g["binaries"]) > 1]
    assert merged_groups, "the fixture builds two binaries from one repository and commit"
    for group in by_repo["groups"]:
        parts = [profiles[h] for h in group["binaries"]]
        both_set = all(mode == "set" for mode, _ in parts)
        expected: dict[str, list[int]] = {}
        for _, blocks in parts:
            for position, (statements, count) in blocks.items():
                known = expected.setdefault(position, [statements, 0])
                known[1] = max(known[1], count) if both_set else known[1] + count
        mode, blocks = parse_profile((tmp_path / "repo" / group["files"][0]).read_text())
        assert mode == (
            "set" if both_set else "count" if "atomic" not in {m for m, _ in parts} else "atomic"
        )
        assert {p: tuple(v) for p, v in expected.items()} == blocks
        assert group["statements"] == sum(s for s, _ in blocks.values())
        assert group["covered"] == sum(s for s, c in blocks.values() if c)


def test_by_owner_filters_and_index(
    cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.helpers.clusterfixtures import compile_cluster

    assert compile_cluster(cluster).ok
    conn = sqlite3.connect(cluster.root / "coverage.db")
    owners = conn.execute(
        "SELECT namespace, owner_type, owner_name, statements, covered FROM owners"
    ).fetchall()
    namespace = sorted({o[0] for o in owners if o[0]})[0]
    out = tmp_path / "json"
    index = export(
        cluster.root,
        out,
        "--format",
        "json",
        "--by",
        "owner",
        "--namespace",
        namespace,
        "--namespace",
        "host",
    )
    expected = sorted(
        (f"{ns or 'host'}/{kind}/{name}", statements, covered)
        for ns, kind, name, statements, covered in owners
        if ns in (namespace, "")
    )
    got = sorted((g["owners"][0], g["statements"], g["covered"]) for g in index["groups"])
    assert got == expected
    assert index["selection"] == f"--namespace {namespace} --namespace host"
    for group in index["groups"]:
        summary = json.loads((out / group["files"][0]).read_text())
        assert summary["statements"] == group["statements"]
        assert sum(f["covered"] for f in summary["files"]) == group["covered"]
        assert summary["paths"] == "go"  # no sources cloned in this collection
    written = {p.name for p in out.iterdir()}
    assert written == {"index.json"} | {f for g in index["groups"] for f in g["files"]}

    # a narrower export into the same directory removes what the previous one wrote
    index = export(cluster.root, out, "--format", "json", "--by", "owner", "--owner", "kv-*")
    assert {p.name for p in out.iterdir()} == {"index.json"} | {
        f for g in index["groups"] for f in g["files"]
    }
    assert (
        main(
            [
                "cluster",
                "export",
                "--collection",
                str(cluster.root),
                "--format",
                "json",
                "--owner",
                "no-such-owner",
            ]
        )
        == 2
    )
    assert "No owner matches --owner no-such-owner" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("../../etc", "passwd"), "etc_passwd"),
        (("a/b c", "<x>"), "a-b-c_x"),
        ((".hidden",), "hidden"),
        (("", ""), "unnamed"),
        (("ünï", "ok"), "n_ok"),
    ],
)
def test_safe_names(parts: tuple[str, ...], expected: str) -> None:
    assert safe_name(*parts) == expected


FORMATS = ("gocover", "lcov", "cobertura", "sonarqube", "codecov-json", "json")
LONG = "a" * 160
"""Owner and repository names that differ only after 160 characters."""


def assert_separate_files(index: dict[str, Any], out: Path, groups: list[str]) -> None:
    files = {g["group"]: g["files"] for g in index["groups"]}
    written = [f for group in groups for f in files[group]]
    assert written and len(set(written)) == len(written), written
    assert all((out / f).is_file() for f in written)
    assert {p.name for p in out.iterdir()} == {"index.json"} | {
        f for names in files.values() for f in names
    }


@pytest.mark.parametrize("export_format", FORMATS)
def test_long_owner_names_export_into_separate_files(
    cluster: Any, tmp_path: Path, export_format: str
) -> None:
    from tests.helpers.clusterfixtures import compile_cluster

    assert compile_cluster(cluster).ok
    with sqlite3.connect(cluster.root / "coverage.db") as conn:
        for suffix, name in (("-x-0", "inventory-api"), ("-y-0", "inventory-api-canary")):
            conn.execute(
                "UPDATE owners SET namespace = 'shop', owner_name = ? WHERE owner_name = ?",
                (LONG + suffix, name),
            )
    out = tmp_path / export_format
    index = export(cluster.root, out, "--format", export_format, "--by", "owner")
    long_groups = [g["group"] for g in index["groups"] if LONG in g["group"]]
    assert len(long_groups) == 2
    assert_separate_files(index, out, long_groups)
    for group in index["groups"]:
        (name,) = {f.rsplit(".", 1)[0] for f in group["files"] if "-2." not in f}
        if LONG in group["group"]:
            assert re.fullmatch(r"shop_Deployment_a{64}-[0-9a-f]{12}", name), name
        elif group["group"].startswith("storage/"):  # ordinary names are kept as they were
            assert name == safe_name(*group["owners"][0].split("/"), "kv-store", name[-8:])


def test_long_repository_names_export_into_separate_files(
    resolved_collection: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    collection = tmp_path / "collection"
    shutil.copytree(resolved_collection[0], collection, symlinks=True)
    with sqlite3.connect(collection / "coverage.db") as conn:
        ids = [i for (i,) in conn.execute("SELECT binary_id FROM binary_sources ORDER BY 1")]
        assert len(ids) >= 2
        for binary_id, suffix in zip(ids, ("-x", "-y"), strict=False):
            conn.execute(
                "UPDATE binary_sources SET source_url = ?, commit_id = ? WHERE binary_id = ?",
                (f"https://github.com/org/{LONG}{suffix}", "c" * 40, binary_id),
            )
    for export_format in FORMATS:
        out = tmp_path / export_format
        index = export(collection, out, "--format", export_format, "--by", "repo")
        long_groups = [g["group"] for g in index["groups"] if LONG in g["group"]]
        assert len(long_groups) == 2, index["groups"]
        assert_separate_files(index, out, long_groups)


def owner_group(owner: str, binary: str = "kv-store", digest: str = "ab" * 32) -> ExportGroup:
    parts = owner.split("/")
    key = safe_name(*parts, binary, digest[:8])
    return ExportGroup("owner", key, f"{owner} ({binary})", "set", "", "", [digest], [owner])


def test_file_keys_keep_plain_names_and_hash_the_rest() -> None:
    taken: set[str] = set()
    plain = owner_group("shop/Deployment/inventory-api", "node_exporter")
    assert file_key(plain, taken) == "shop_Deployment_inventory-api_node_exporter_abababab"
    unsafe = [owner_group("shop/Deployment/a b"), owner_group("shop/Deployment/a:b")]
    assert unsafe[0].key == unsafe[1].key  # what model.safe_name alone makes of them
    names = {file_key(g, taken) for g in unsafe}
    assert len(names) == 2 and all(re.fullmatch(r".*-[0-9a-f]{12}", n) for n in names)
    repos = [
        ExportGroup(
            "repo", "org_repo_" + "c" * 12, f"org/repo @ {'c' * 12}", "set", url, "c" * 40, [], []
        )
        for url in ("https://github.com/org/repo", "https://gitlab.example/org/repo")
    ]
    first, second = (file_key(g, taken) for g in repos)
    assert first == "org_repo_cccccccccccc" and second != first
    assert file_key(repos[1], taken) not in {first, second}  # the same identity twice
