"""A small cluster collection made of real `-cover` programs, for compile's tests.

Every instance is one real run of a program (its own GOCOVERDIR), copied into the
entry directory the way `cluster download` lays it out. The layout exercises
owner kinds, replicas on several nodes, restarts, a binary shared by two owners,
set and count modes, a host process that duplicates a pod and one that does not,
and the injected files compile must leave out.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from coverage_collector import compile
from coverage_collector.collection import EntryMetadata, RecordedInstance, SourceInfo
from coverage_collector.compile import DEFAULT_EXCLUDES, parse_update
from tests.helpers.gofixtures import GO_MAIN, _build, _run_program, cache_root, go_binary, go_env

NODES = ("master-0", "master-1", "ip-10-0-1-2.ec2.internal")
PROGRAMS = {
    # key: (program dir, target, flags, binary name)
    "injected": ("injected", ".", ["-covermode=count"], "inventory-api"),
    "lab_set": ("lab", ".", ["-covermode=set"], "kv-store"),
    "lab_count": ("lab", ".", ["-covermode=count"], "node-agent"),
    "duo_one": ("duo", "./cmd/one", ["-covermode=atomic"], "etcd"),
}


@dataclass(frozen=True)
class EntrySpec:
    """One entry of the collection and what compile should make of it."""

    name: str
    program: str
    namespace: str
    pod: str
    container: str
    host: str
    runs: tuple[tuple[str, ...], ...]
    """One tuple of arguments per process instance."""
    host_process: bool = False
    kind: str = ""
    owner: str = ""
    duplicate: bool = False

    @property
    def binary(self) -> str:
        return PROGRAMS[self.program][3]


def _pod(
    program: str, ns: str, pod: str, host: str, kind: str, owner: str, *runs: tuple[str, ...]
) -> EntrySpec:
    binary = PROGRAMS[program][3]
    return EntrySpec(
        f"{host}-{ns}-{pod}-{binary}", program, ns, pod, binary, host, runs, kind=kind, owner=owner
    )


def _host(program: str, host: str, *runs: tuple[str, ...], duplicate: bool = False) -> EntrySpec:
    binary = PROGRAMS[program][3]
    return EntrySpec(
        f"{host}-host-{binary}", program, "", host, "", host, runs, True, "Host", binary, duplicate
    )


ENTRIES: tuple[EntrySpec, ...] = (
    _pod(
        "injected",
        "shop",
        "inventory-api-7d9f8c6b5d-x2k4p",
        NODES[0],
        "Deployment",
        "inventory-api",
        ("a",),
        ("bb", "cccc", "d"),
    ),
    _pod(
        "injected",
        "shop",
        "inventory-api-7d9f8c6b5d-b5n7q",
        NODES[1],
        "Deployment",
        "inventory-api",
        ("long-arg",),
    ),
    _pod(
        "injected",
        "shop-canary",
        "inventory-api-canary-5b9f6c7d8-xq2zr",
        NODES[2],
        "Deployment",
        "inventory-api-canary",
        (),
    ),
    _pod(
        "lab_count", "monitoring", "node-agent-8zt5w", NODES[0], "DaemonSet", "node-agent", ("x",)
    ),
    _pod(
        "lab_count",
        "monitoring",
        "node-agent-7xk2p",
        NODES[1],
        "DaemonSet",
        "node-agent",
        (),
        ("p", "q", "r"),
    ),
    _pod("lab_set", "storage", "kv-store-0", NODES[0], "StatefulSet", "kv-store", ("one",)),
    _pod(
        "lab_set",
        "storage",
        "kv-store-1",
        NODES[1],
        "StatefulSet",
        "kv-store",
        ("one",),
        ("two", "three", "four"),
    ),
    _pod("duo_one", "kube-system", f"etcd-{NODES[2]}", NODES[2], "Static Pod", "etcd", ("bob",)),
    _host("duo_one", NODES[2], ("bob",), duplicate=True),
    _host("lab_count", NODES[2], ("h1", "h2")),
)


@dataclass
class ClusterCollection:
    """The collection directory plus what was built to make it."""

    root: Path
    go: Path
    entries: dict[str, EntrySpec]
    meta_hash: dict[str, str] = field(default_factory=dict)
    """Program key -> covmeta hash."""

    def entry_dir(self, name: str) -> Path:
        return self.root / "coverage" / name

    def entries_of_owner(self, namespace: str, owner: str, binary: str) -> list[str]:
        return sorted(
            e.name
            for e in self.entries.values()
            if not e.duplicate
            and (e.namespace if not e.host_process else "") == namespace
            and e.owner == owner
            and e.binary == binary
        )

    def entries_of_program(self, program: str) -> list[str]:
        return sorted(
            e.name for e in self.entries.values() if e.program == program and not e.duplicate
        )


def build_programs(work: Path) -> tuple[Path, dict[str, Path]]:
    """Build the programs with -cover (Go's build cache makes a rebuild cheap)."""
    go = go_binary(GO_MAIN)
    assert go is not None, f"Go {GO_MAIN} is required"
    env = go_env(cache_root())
    bins = work / "bin"
    bins.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            key: pool.submit(_build, go, env, bins / key, prog, target, flags)
            for key, (prog, target, flags, _) in PROGRAMS.items()
        }
        return go, {key: f.result() for key, f in futures.items()}


def make_collection(
    root: Path, work: Path, entries: Sequence[EntrySpec] = ENTRIES
) -> ClusterCollection:
    """Build, run and lay out the collection under `root`."""
    go, binaries = build_programs(work)
    env = go_env(cache_root())
    collection = ClusterCollection(root, go, {e.name: e for e in entries})
    run_index = 0
    for spec in entries:
        entry = collection.entry_dir(spec.name)
        entry.mkdir(parents=True)
        instances: list[RecordedInstance] = []
        for args in spec.runs:
            run_index += 1
            covdir = work / "runs" / f"{run_index:03d}"
            _run_program(binaries[spec.program], args, env, covdir)
            for path in sorted(covdir.iterdir()):
                shutil.copy2(path, entry / path.name)
                if path.name.startswith("covcounters."):
                    _, meta_hash, pid, nanos = path.name.split(".")
                    collection.meta_hash[spec.program] = meta_hash
                    instances.append(
                        RecordedInstance(counter_file=path.name, discovery_time=nanos, pid=int(pid))
                    )
        _metadata(spec, instances).write(str(entry))
        SourceInfo(
            source_url=f"https://github.com/example/{spec.binary}",
            source_commit="0123456789abcdef0123456789abcdef01234567",
            software_group="example",
            software_key=spec.binary,
        ).write(str(entry))
    return collection


def _metadata(spec: EntrySpec, instances: list[RecordedInstance]) -> EntryMetadata:
    return EntryMetadata(
        pod_name=spec.pod,
        namespace=spec.namespace,
        container_name=spec.container,
        image="" if spec.host_process else f"quay.io/example/{spec.binary}:v1",
        binary_name=spec.binary,
        collected_at="2026-11-20T10:00:00Z",
        first_seen="2026-11-20T10:00:00Z",
        last_seen="2026-11-20T12:00:00Z",
        hostname=spec.host,
        host_process=spec.host_process,
        instances=tuple(instances),
    )


# --------------------------------------------------------------------------------------------
# The oracle: go tool covdata on the same files


@dataclass(frozen=True)
class Expected:
    statements: int
    covered: int
    files: dict[str, tuple[int, int]]
    """path -> (statements, covered)."""
    functions: set[tuple[str, str, str]]
    """("file:line:", function, "pct%") rows of `covdata func` in application files."""


def expected_numbers(
    collection: ClusterCollection,
    entry_names: Sequence[str],
    scratch: Path,
    excludes: Sequence[str],
) -> Expected:
    """Copy the entries' files into one directory and ask `go tool covdata` about it."""
    dirs = [collection.entry_dir(name) for name in entry_names]
    return covdata_numbers(collection.go, dirs, scratch, excludes)


def covdata_numbers(
    go: Path, dirs: Sequence[Path], scratch: Path, excludes: Sequence[str]
) -> Expected:
    """Copy the coverage files of `dirs` into one directory and ask `go tool covdata`."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    for directory in dirs:
        for path in directory.glob("cov*"):
            shutil.copy2(path, scratch / path.name)
    out = scratch.parent / f"{scratch.name}.txt"
    env = go_env(cache_root())
    for args in (["textfmt", f"-i={scratch}", f"-o={out}"], ["func", f"-i={scratch}"]):
        proc = subprocess.run(
            [str(go), "tool", "covdata", *args], capture_output=True, env=env, check=True
        )
    files: dict[str, list[int]] = {}
    for line in out.read_text(encoding="utf-8").splitlines()[1:]:
        position, stmts, count = line.rsplit(" ", 2)
        path = position.rsplit(":", 1)[0]
        if Path(path).name in excludes:
            continue
        numbers = files.setdefault(path, [0, 0])
        numbers[0] += int(stmts)
        numbers[1] += int(stmts) if int(count) else 0
    functions = set()
    for line in proc.stdout.decode().splitlines():
        where, name, pct = line.split()
        if where != "total" and Path(where.split(":")[0]).name not in excludes:
            functions.add((where, name, pct))
    return Expected(
        sum(n[0] for n in files.values()),
        sum(n[1] for n in files.values()),
        {p: (n[0], n[1]) for p, n in files.items()},
        functions,
    )


def compile_cluster(
    cluster: ClusterCollection, *update: str, excludes: tuple[str, ...] = DEFAULT_EXCLUDES
) -> compile.Summary:
    options = compile.Options(
        collection=str(cluster.root),
        update=parse_update(update),
        excludes=excludes,
        max_concurrency=2,
    )
    return compile.run(options)


def connect(cluster: ClusterCollection) -> sqlite3.Connection:
    return sqlite3.connect(cluster.root / "coverage.db")


def stored_numbers(conn: sqlite3.Connection, table: str, key: int) -> Expected:
    """Read an owner's or a binary's numbers back in covdata's terms."""
    if table == "owners":
        binary_id, statements, covered = conn.execute(
            "SELECT binary_id, statements, covered FROM owners WHERE id = ?", (key,)
        ).fetchone()
        files = conn.execute(
            "SELECT path, statements, covered FROM owner_file_stats WHERE owner_id = ?", (key,)
        ).fetchall()
        functions = conn.execute(
            "SELECT file_id, start_line, name, statements, covered, literal "
            "FROM owner_function_stats WHERE owner_id = ?",
            (key,),
        ).fetchall()
    else:
        binary_id = key
        statements, covered = conn.execute(
            "SELECT statements, covered FROM binaries WHERE id = ?", (key,)
        ).fetchone()
        files = conn.execute(
            "SELECT path, statements, covered FROM binary_files WHERE binary_id = ?", (key,)
        ).fetchall()
        functions = conn.execute(
            "SELECT file_id, start_line, name, statements, covered, literal "
            "FROM binary_functions WHERE binary_id = ?",
            (key,),
        ).fetchall()
    paths = dict(
        conn.execute("SELECT file_id, path FROM binary_files WHERE binary_id = ?", (binary_id,))
    )
    return Expected(
        statements,
        covered,
        {path: (total, hit) for path, total, hit in files},
        {
            (f"{paths[file_id]}:{line}:", name, f"{100.0 * hit / max(total, 1):.1f}%")
            for file_id, line, name, total, hit, literal in functions
            if not literal
        },
    )
