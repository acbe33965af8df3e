"""The baseline and head collections of tests/difffixtures.py, and its covdata oracle."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from coverage_collector.owners import infer_owner
from tests.helpers.difffixtures import (
    AUDITOR_C,
    AUDITOR_D,
    CATEGORY_KEYS,
    EXCLUDED,
    LEDGER_A,
    LEDGER_B,
    MODULE,
    V2_PATCH,
    DiffCollections,
    Key,
    add_categories,
    ledger_sources,
    make_diff_collections,
    oracle_categories,
    textfmt_blocks,
)
from tests.helpers.gofixtures import cache_root, go_env

# What the oracle says with Go 1.27.3 (statements per category).
EXPECTED = {
    "ledger": {
        "newly_covered": 18,
        "lost": 0,
        "still_covered": 25,
        "never_covered": 35,
        "new_code": 0,
        "new_code_covered": 0,
        "removed_code": 0,
        "removed_code_covered": 0,
        "head_statements": 78,
        "head_covered": 43,
        "base_statements": 78,
        "base_covered": 25,
    },
    "auditor": {
        "newly_covered": 1,
        "lost": 14,
        "still_covered": 45,
        "never_covered": 16,
        "new_code": 7,
        "new_code_covered": 5,
        "removed_code": 2,
        "removed_code_covered": 2,
        "head_statements": 83,
        "head_covered": 51,
        "base_statements": 78,
        "base_covered": 61,
    },
}
MAIN_CATEGORIES = (
    "newly_covered",
    "lost",
    "still_covered",
    "never_covered",
    "new_code",
    "removed_code",
)


@pytest.fixture(scope="module")
def diff(go_toolchain: Path, tmp_path_factory: pytest.TempPathFactory) -> DiffCollections:
    return make_diff_collections(tmp_path_factory.mktemp("diff"))


@pytest.fixture(scope="module")
def oracle(diff: DiffCollections) -> dict[str, dict[str, int]]:
    return {
        owner: oracle_categories(diff.go, diff.base_dirs(owner), diff.head_dirs(owner))
        for owner in diff.owners
    }


def _entries(collection: Path) -> set[str]:
    return {p.name for p in (collection / "coverage").iterdir()}


def test_layout(diff: DiffCollections) -> None:
    assert _entries(diff.baseline) == {LEDGER_A.name, AUDITOR_C.name}
    assert _entries(diff.head) == {LEDGER_A.name, LEDGER_B.name, AUDITOR_D.name}
    assert diff.meta_hash["v1"] != diff.meta_hash["v2"]
    for collection in (diff.baseline, diff.head):
        for name in _entries(collection):
            spec = diff.entries[name]
            entry = collection / "coverage" / name
            meta_hash = diff.meta_hash[spec.build]
            assert [p.name for p in entry.glob("covmeta.*")] == [f"covmeta.{meta_hash}"]
            counters = sorted(p.name for p in entry.glob("covcounters.*"))
            assert len(counters) == len(spec.runs)
            assert all(c.startswith(f"covcounters.{meta_hash}.") for c in counters)
            metadata = json.loads((entry / "metadata.json").read_text())
            assert metadata["pod_name"] == spec.pod
            assert metadata["namespace"] == spec.namespace
            assert metadata["container"] == {"name": spec.container, "image": spec.image}
            assert metadata["binary_name"] == spec.binary
            assert metadata["hostname"] == spec.host
            assert sorted(i["counter_file"] for i in metadata["instances"]) == counters
            assert len({i["pid"] for i in metadata["instances"]}) == len(counters)
            assert json.loads((entry / "info.json").read_text())["source_url"]
    # The head keeps the baseline's ledger entry byte for byte.
    for path in (diff.baseline / "coverage" / LEDGER_A.name).iterdir():
        assert (diff.head / "coverage" / LEDGER_A.name / path.name).read_bytes() == (
            path.read_bytes()
        )


def test_owners(diff: DiffCollections) -> None:
    ledger, auditor = diff.owners["ledger"], diff.owners["auditor"]
    assert ledger.base_entries == (LEDGER_A.name,)
    assert ledger.head_entries == (LEDGER_A.name, LEDGER_B.name)
    assert (ledger.base_build, ledger.head_build) == ("v1", "v1")
    assert auditor.base_entries == (AUDITOR_C.name,)
    assert auditor.head_entries == (AUDITOR_D.name,)
    assert (auditor.base_build, auditor.head_build) == ("v1", "v2")
    for owner in (ledger, auditor):
        for name in owner.base_entries + owner.head_entries:
            spec = diff.entries[name]
            inferred = infer_owner(spec.pod, ["master-0", "master-1", "master-2"])
            assert (inferred.kind.value, inferred.name) == (owner.kind, owner.name)
            assert (spec.namespace, spec.binary) == (owner.namespace, owner.binary)
    # The rollout kept namespace, pod, container and binary name; image and node changed.
    same = ("namespace", "pod", "container", "binary")
    assert [getattr(AUDITOR_C, f) for f in same] == [getattr(AUDITOR_D, f) for f in same]
    assert AUDITOR_C.image != AUDITOR_D.image
    assert AUDITOR_C.host != AUDITOR_D.host


def test_v2_is_one_changed_function_and_one_appended(diff: DiffCollections) -> None:
    v1, v2 = ledger_sources("v1"), ledger_sources("v2")
    assert v1.keys() == v2.keys()
    assert {p for p in v1 if v1[p] != v2[p]} == set(V2_PATCH) == {"audit/audit.go"}
    old, new = v1["audit/audit.go"], v2["audit/audit.go"]
    # Scan is v1's last function: everything before the patched lines is unchanged.
    changed_at = old.index(V2_PATCH["audit/audit.go"][0])
    assert old.rindex("\nfunc ") == old.index("\nfunc Scan(") < changed_at
    assert new[:changed_at] == old[:changed_at]
    assert new.endswith(V2_PATCH["audit/audit.go"][2])
    assert (diff.v2_source / "audit" / "audit.go").read_text() == new


def _functions(go: Path, dirs: list[Path]) -> dict[str, list[tuple[int, str]]]:
    """file -> sorted (first unit's line, function) from `go tool covdata func`."""
    proc = subprocess.run(
        [str(go), "tool", "covdata", "func", "-i=" + ",".join(map(str, dirs))],
        capture_output=True,
        text=True,
        env=go_env(cache_root()),
        check=True,
    )
    functions: dict[str, list[tuple[int, str]]] = {}
    for line in proc.stdout.splitlines():
        where, name, _ = line.split()
        if where != "total":
            path, number, _ = where.split(":")
            functions.setdefault(path, []).append((int(number), name))
    return {path: sorted(rows) for path, rows in functions.items()}


def _relative(
    blocks: dict[Key, tuple[int, int]], functions: dict[str, list[tuple[int, str]]]
) -> dict[Key, tuple[object, ...]]:
    """Absolute key -> (file, function, sl - function line, sc, el - function line, ec, stmts)."""
    result = {}
    for key, (stmts, _) in blocks.items():
        path, sl, sc, el, ec = key
        line, name = max(f for f in functions[path] if f[0] <= sl)
        result[key] = (path, name, sl - line, sc, el - line, ec, stmts)
    return result


def test_absolute_and_function_relative_matching_agree(diff: DiffCollections) -> None:
    base_dirs, head_dirs = diff.base_dirs("auditor"), diff.head_dirs("auditor")
    base_funcs, head_funcs = _functions(diff.go, base_dirs), _functions(diff.go, head_dirs)
    audit_go = f"{MODULE}/audit/audit.go"
    assert set(head_funcs[audit_go]) - set(base_funcs[audit_go]) == {(48, "round")}
    assert {p: f for p, f in head_funcs.items() if p != audit_go} == {
        p: f for p, f in base_funcs.items() if p != audit_go
    }
    base = _relative(textfmt_blocks(diff.go, base_dirs), base_funcs)
    head = _relative(textfmt_blocks(diff.go, head_dirs), head_funcs)
    assert len(set(base.values())) == len(base) and len(set(head.values())) == len(head)
    matched_absolute = {base[k] for k in base.keys() & head.keys()}
    assert matched_absolute == set(base.values()) & set(head.values())
    assert all(base[k] == head[k] for k in base.keys() & head.keys())
    # Only Scan (changed) and round (added) have units without a counterpart.
    unmatched = set(base.values()) ^ set(head.values())
    assert {(r[0], r[1]) for r in unmatched} == {(audit_go, "Scan"), (audit_go, "round")}


def test_oracle_numbers(oracle: dict[str, dict[str, int]]) -> None:
    assert oracle == EXPECTED


def test_same_build_owner(oracle: dict[str, dict[str, int]]) -> None:
    ledger = oracle["ledger"]
    assert ledger["newly_covered"] > 0
    assert ledger["still_covered"] > 0 and ledger["never_covered"] > 0
    assert ledger["lost"] == 0  # cumulative: the head has the baseline's runs too
    assert ledger["new_code"] == ledger["removed_code"] == 0
    assert ledger["head_statements"] == ledger["base_statements"]


def test_changed_owner_has_every_category(oracle: dict[str, dict[str, int]]) -> None:
    auditor = oracle["auditor"]
    for category in MAIN_CATEGORIES:
        assert auditor[category] > 0, category
    assert 0 < auditor["new_code_covered"] < auditor["new_code"]
    overall = add_categories(*oracle.values())
    for category in MAIN_CATEGORIES:
        assert overall[category] > 0, category


@pytest.mark.parametrize("owner", ["ledger", "auditor"])
def test_categories_add_up(oracle: dict[str, dict[str, int]], owner: str) -> None:
    n = oracle[owner]
    assert set(n) == set(CATEGORY_KEYS)
    matched = n["newly_covered"] + n["lost"] + n["still_covered"] + n["never_covered"]
    assert n["head_statements"] == matched + n["new_code"]
    assert n["base_statements"] == matched + n["removed_code"]
    assert n["head_covered"] == n["newly_covered"] + n["still_covered"] + n["new_code_covered"]
    assert n["base_covered"] == n["lost"] + n["still_covered"] + n["removed_code_covered"]


def test_injected_files_are_excluded(diff: DiffCollections) -> None:
    dirs = diff.base_dirs("ledger")
    everything = textfmt_blocks(diff.go, dirs, excluded=())
    kept = textfmt_blocks(diff.go, dirs)
    dropped = {k for k in everything if Path(k[0]).name in EXCLUDED}
    assert dropped and everything.keys() - kept.keys() == dropped
    assert textfmt_blocks(diff.go, []) == {}
