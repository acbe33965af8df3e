"""Benchmark the working tree against an earlier revision, stage by stage, on one collection.

A refactor (issue 15: the database and results layers, stages of one shape) must not cost
speed or memory. This runs each stage of the pipeline with a baseline revision's `src/` (a
temporary git worktree, as `bench/compare_outputs.py` does) and with the working tree's, as
`python -m coverage_collector` processes, on private copies of the same compiled and resolved
collection (by default the one `python -m bench.resolve_bench` leaves), the two versions
interleaved run by run so the machine's noise falls on both. Measured per stage and version:
wall time and peak RSS of the whole process tree (sampled as `bench/compile_bench.py` does),
medians over `--runs`, and the ratio current / baseline, with the worst ratio last.

Stages (each a process):
    compile-cold          cluster compile on the entries alone (no database)
    compile-noop          the same again (nothing changed)
    summary               cluster summary --format json
    render                cluster render into an empty directory (resolved sources)
    export-lcov-binary    cluster export --format lcov --by binary
    export-gocover-owner  cluster export --format gocover --by owner
    diff                  cluster diff --format json against the cold-compiled copy
    ingest                bigquery ingest --dry-run (rows built, nothing uploaded)

Usage::

    python -m bench.revision_bench [--baseline REV] [--collection DIR] [--runs 3] [--only STAGE]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.benchlib import REPO, machine_info, write_results
from bench.compare_outputs import Tool, copy_database, git, link_tree
from bench.compile_bench import TreeSampler

DEFAULT_COLLECTION = Path("~/.cache/coverage-collector-bench/resolve/collection")
RESULTS = REPO / "bench" / "results" / "revision.json"
VERSIONS = ("baseline", "current")


@dataclass(frozen=True)
class Stage:
    """One command of the pipeline; `{head}`, `{cold}` and `{out}` name the run's directories."""

    name: str
    command: str

    def args(self, dirs: dict[str, Path]) -> list[str]:
        return [word.format(**dirs) for word in self.command.split()]


STAGES = (
    Stage("compile-cold", "cluster compile --collection {cold}"),
    Stage("compile-noop", "cluster compile --collection {cold}"),
    Stage("summary", "cluster summary --collection {head} --format json"),
    Stage("render", "cluster render --collection {head} --output-dir {out}"),
    Stage(
        "export-lcov-binary",
        "cluster export --collection {head} --format lcov --by binary --output-dir {out}",
    ),
    Stage(
        "export-gocover-owner",
        "cluster export --collection {head} --format gocover --by owner --output-dir {out}",
    ),
    Stage("diff", "cluster diff --collection {head} --baseline {cold} --format json"),
    Stage("ingest", "bigquery --project p --dataset d ingest --collection {head} --dry-run"),
)


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    status: int


@dataclass
class Results:
    """Every measurement, by stage and version."""

    runs: dict[str, dict[str, list[Measured]]] = field(default_factory=dict)

    def add(self, stage: str, version: str, measured: Measured) -> None:
        self.runs.setdefault(stage, {v: [] for v in VERSIONS})[version].append(measured)

    def median(self, stage: str, version: str, attribute: str) -> float:
        return statistics.median(getattr(m, attribute) for m in self.runs[stage][version])

    def ratio(self, stage: str, attribute: str) -> float:
        base = self.median(stage, "baseline", attribute)
        return self.median(stage, "current", attribute) / base if base else float("nan")


def measure(tool: Tool, args: Sequence[str], log: Path) -> Measured:
    """Run the CLI of `tool` once, sampling its process tree's memory."""
    with log.open("ab") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "coverage_collector", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=tool.environment(),
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        status = proc.wait()
        seconds = time.perf_counter() - started
    peaks = sampler.stop()
    return Measured(round(seconds, 3), round(peaks.peak_tree_rss_mb, 1), status)


def prepare(source: Path, work: Path) -> dict[str, Path]:
    """Fresh directories of one run: `head` (the resolved collection: entries, checkouts and
    its database) and `cold` (entries only)."""
    shutil.rmtree(work, ignore_errors=True)
    dirs = {"head": work / "head", "cold": work / "cold", "out": work / "out"}
    link_tree(source / "coverage", dirs["head"] / "coverage")
    link_tree(source / "repos", dirs["head"] / "repos")
    copy_database(source, dirs["head"])
    link_tree(source / "coverage", dirs["cold"] / "coverage")
    return dirs


def run_version(
    tool: Tool, version: str, source: Path, work: Path, stages: Sequence[Stage], results: Results
) -> None:
    """One run of every stage with one version. The head database is brought to the
    version's schema (a no-op compile) before anything is measured on it."""
    dirs = prepare(source, work / version)
    log = work / f"{version}.log"
    setup = measure(tool, ("cluster", "compile", "--collection", str(dirs["head"])), log)
    if setup.status:
        raise SystemExit(f"error: {version}: compile of the head copy failed (see {log})")
    for stage in stages:
        shutil.rmtree(dirs["out"], ignore_errors=True)
        measured = measure(tool, stage.args(dirs), log)
        results.add(stage.name, version, measured)
        print(
            f"  {version:<8} {stage.name:<21} {measured.seconds:7.2f} s "
            f"{measured.peak_rss_mb:7.0f} MB  exit {measured.status}",
            flush=True,
        )
    shutil.rmtree(work / version, ignore_errors=True)


def table(results: Results) -> list[str]:
    """Markdown: medians of both versions and their ratios, the worst ratios last."""
    lines = [
        "| stage | baseline s | current s | time ratio | baseline MB | current MB | RSS ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for stage in results.runs:
        cells = [f"{results.median(stage, v, 'seconds'):.2f}" for v in VERSIONS] + [
            f"{results.ratio(stage, 'seconds'):.2f}"
        ]
        cells += [f"{results.median(stage, v, 'peak_rss_mb'):.0f}" for v in VERSIONS]
        cells.append(f"{results.ratio(stage, 'peak_rss_mb'):.2f}")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    worst_time = max(results.runs, key=lambda s: results.ratio(s, "seconds"))
    worst_rss = max(results.runs, key=lambda s: results.ratio(s, "peak_rss_mb"))
    lines.append(
        f"worst time ratio {results.ratio(worst_time, 'seconds'):.2f} ({worst_time}); "
        f"worst RSS ratio {results.ratio(worst_rss, 'peak_rss_mb'):.2f} ({worst_rss})"
    )
    return lines


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="47f6af2", help="revision to compare with")
    parser.add_argument("--collection", type=Path, default=DEFAULT_COLLECTION)
    parser.add_argument("--runs", type=int, default=3, help="runs of each version (3)")
    parser.add_argument("--only", action="append", default=[], help="measure only STAGE")
    parser.add_argument("--json", type=Path, default=RESULTS, help="results file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    source = options.collection.expanduser().resolve()
    if not (source / "coverage.db").is_file() or not (source / "repos").is_dir():
        raise SystemExit(
            f"error: {source} is not a compiled, resolved collection: run "
            "python -m bench.resolve_bench --runs 1 first"
        )
    stages = [s for s in STAGES if not options.only or s.name in options.only]
    commit = git("rev-parse", "--verify", f"{options.baseline}^{{commit}}")
    results = Results()
    with tempfile.TemporaryDirectory(prefix="cc-revision-") as tmp:
        work = Path(tmp)
        tree = work / "baseline-src"
        git("worktree", "add", "--detach", str(tree), commit)
        try:
            tools = {"baseline": Tool(tree / "src"), "current": Tool(REPO / "src")}
            for tool in tools.values():
                tool.check_imported()
            for n in range(1, options.runs + 1):
                print(f"run {n} of {options.runs}", flush=True)
                order = VERSIONS if n % 2 else VERSIONS[::-1]
                for version in order:
                    run_version(tools[version], version, source, work, stages, results)
        finally:
            git("worktree", "remove", "--force", str(tree))
    failed = [s for s, by in results.runs.items() for ms in by.values() for m in ms if m.status]
    lines = table(results)
    print(f"\nbaseline {commit[:10]} vs the working tree, medians of {options.runs} runs")
    print("\n".join(lines))
    write_results(
        options.json,
        {
            "machine": machine_info(),
            "command": "python -m bench.revision_bench " + " ".join(argv or sys.argv[1:]),
            "baseline": commit,
            "collection": str(source),
            "runs": {
                stage: {v: [m.__dict__ for m in ms] for v, ms in by.items()}
                for stage, by in results.runs.items()
            },
            "table": lines,
        },
    )
    if failed:
        print(f"error: non-zero exit status in {sorted(set(failed))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
