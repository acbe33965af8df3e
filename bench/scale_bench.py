"""Measure the stages on collections of 1, 3 and 10 reference-scale clusters (issue 16).

For each cluster count N the collection ``bench/scale_gen.py`` makes (regenerated only when
missing or made with other parameters) is measured:

1. ``cluster compile``, cold (``coverage.db`` deleted first), then again (a no-op);
2. with ``--stages``: ``cluster render``, ``cluster export --format json --by owner``,
   ``cluster diff`` (against the collection of the previous N, or of N + 1 for the first),
   ``bigquery ingest --dry-run`` and ``cluster summary --by namespace``.

Then one more cluster is added to the largest collection: the collection of N + 1 clusters,
compiled without its last cluster's entries, then compiled again with them (what adding a
cluster costs).

Wall time and peak memory come from ``compile_bench.run_measured``: the RSS of the process
and all its descendants is sampled every 20 ms and summed (the peak of the sum is "tree"); the
largest single process is "single". Results go to ``bench/results/scale.json``.

Usage::

    python -m bench.scale_bench [--clusters 1,3,10] [--work DIR] [--stages]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import compile_bench, scale_gen
from bench.benchlib import REPO, machine_info, write_results

WORK = compile_bench.BENCH_CACHE / "scale"
RESULTS = REPO / "bench" / "results" / "scale.json"


@dataclass(frozen=True)
class Row:
    """One measured command."""

    clusters: int
    step: str
    seconds: float
    tree_mb: float
    single_mb: float
    returncode: int


def collection(work: Path, clusters: int) -> Path:
    """The collection of `clusters` clusters, generated when it is not current."""
    out = work / f"clusters-{clusters}"
    out.mkdir(parents=True, exist_ok=True)
    if not scale_gen.is_current(out, scale_gen.params_of(1, clusters, 1.0)):
        scale_gen.print_summary(out, scale_gen.generate(out, clusters))
    return out


def measure(clusters: int, step: str, args: Sequence[str], target: Path, logs: Path) -> Row:
    """Run `coverage-collector ARGS` on `target`, measured; print and return the row."""
    argv = [sys.executable, "-m", "coverage_collector", *args]
    m = compile_bench.run_measured(argv, target, logs / f"{target.name}-{step}.log")
    row = Row(
        clusters,
        step,
        m.seconds,
        round(m.memory.peak_tree_rss_mb),
        round(m.memory.peak_single_rss_mb),
        m.returncode,
    )
    print(
        f"  {clusters:>3} clusters  {step:<16} {row.seconds:7.1f} s  tree {row.tree_mb:5.0f} MB"
        f"  single {row.single_mb:5.0f} MB  rc {row.returncode}",
        flush=True,
    )
    if m.returncode:
        print(m.stderr_tail)
    return row


def compile_args(target: Path) -> list[str]:
    return ["cluster", "compile", "--collection", str(target)]


def drop_database(target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (target / f"coverage.db{suffix}").unlink(missing_ok=True)


def stage_rows(clusters: int, target: Path, baseline: Path, work: Path) -> list[Row]:
    """Render, export by owner, diff, BigQuery's dry run and summary of `target`."""
    out = work / "out" / target.name
    shutil.rmtree(out, ignore_errors=True)
    c = ["--collection", str(target)]
    steps = {
        "render": ["cluster", "render", *c, "--output-dir", str(out / "html")],
        "export-owner": [
            *("cluster", "export", *c, "--format", "json", "--by", "owner"),
            *("--output-dir", str(out / "export")),
        ],
        "diff": [
            *("cluster", "diff", *c, "--baseline", str(baseline), "--format", "json"),
            *("--output-dir", str(out / "diff")),
        ],
        "bigquery-dry-run": [
            *("bigquery", "--project", "p", "--dataset", "d", "ingest", *c, "--dry-run")
        ],
        "summary": ["cluster", "summary", *c, "--by", "namespace"],
    }
    return [measure(clusters, step, args, target, work) for step, args in steps.items()]


def add_one_cluster(work: Path, clusters: int) -> list[Row]:
    """Compile N + 1 clusters without the last one's entries, then with them."""
    target = collection(work, clusters + 1)
    aside = work / "last-cluster"
    shutil.rmtree(aside, ignore_errors=True)
    aside.mkdir()
    prefix = f"cluster-{clusters}-"
    for entry in sorted((target / "coverage").glob(prefix + "*")):
        entry.rename(aside / entry.name)
    drop_database(target)
    try:
        first = measure(clusters, "cold (N of N+1)", compile_args(target), target, work)
    finally:
        for entry in sorted(aside.iterdir()):
            entry.rename(target / "coverage" / entry.name)
    added = measure(clusters + 1, "+1 cluster", compile_args(target), target, work)
    return [first, added]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clusters", default="1,3,10", help="cluster counts (1,3,10)")
    parser.add_argument("--work", type=Path, default=WORK, help="where the collections live")
    parser.add_argument("--stages", action="store_true", help="also render, export, diff ...")
    opts = parser.parse_args(argv)
    counts = sorted({int(n) for n in opts.clusters.split(",")})
    work = opts.work.expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    targets = {n: collection(work, n) for n in counts}
    for n, target in targets.items():
        drop_database(target)
        rows.append(measure(n, "cold compile", compile_args(target), target, work))
        rows.append(measure(n, "no-op compile", compile_args(target), target, work))
    if opts.stages:
        for i, (n, target) in enumerate(targets.items()):
            previous = counts[i - 1] if i else None
            if previous is None:
                baseline = collection(work, n + 1)
                if not (baseline / "coverage.db").exists():
                    measure(n + 1, "baseline compile", compile_args(baseline), baseline, work)
            else:
                baseline = targets[previous]
            rows += stage_rows(n, target, baseline, work)
    rows += add_one_cluster(work, counts[-1])
    write_results(RESULTS, {"machine": machine_info(), "rows": [asdict(r) for r in rows]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
