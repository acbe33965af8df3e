"""Benchmark collections that span many clusters: does every stage stay flat in memory and
linear in time as a collection grows from 1 to 3 to 10 reference-scale clusters?

Collections come from `bench/scale_gen.py` (the same real binaries in every cluster, with
each cluster's own owner names, restarts and nodes, plus Deployments that recur in every
cluster). One generation of `max(sizes) + 1` clusters is made once and cached; the
collection of N clusters links the entries of its first N clusters, and the cluster after
them is what "adding one more cluster" adds. Each stage runs as a `python -m
coverage_collector` process of the working tree, on private directories, `--runs` times;
measured per stage and size: wall time and peak RSS of the whole process tree (sampled as
`bench/compile_bench.py` does), medians over the runs.

Stages (each a process, in this order, per size N):
    compile-cold       cluster compile on the N clusters' entries alone (no database)
    compile-noop       the same again (nothing changed)
    render-cold        cluster render into an empty directory
    render-noop        the same again
    export-owner       cluster export --format gocover --by owner
    ingest-dry-run     bigquery ingest --dry-run (every row built, nothing uploaded)
    diff-previous      cluster diff against the previous size's collection (as it was left:
                       with its one added cluster; not for the first size)
    compile-add-one    one more cluster's entries added, then cluster compile

and, in headless Chromium, the rendered index: load until interactive, the worst search
keystroke (clearing the search included), filter change and sort (`bench/index_timing.py`).

The report compares each size with the first: time and memory ratios, against the targets
of issue 16 (peak RSS within 1.2x of one cluster's and at most 1 GB; cold compile at most
10x one cluster's; adding a cluster about what one cluster costs alone; every index
interaction < 100 ms). `--plot` draws time and memory against collection size (PNG,
matplotlib: `pip install '.[bench]'`).

Usage::

    python -m bench.scale_bench [--sizes 1,3,10] [--runs 3] [--work DIR] [--plot FILE.png]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.benchlib import REPO, machine_info, write_results
from bench.compare_outputs import Tool
from bench.revision_bench import Measured, measure

DEFAULT_WORK = Path("~/.cache/coverage-collector-bench/scale")
RESULTS = REPO / "bench" / "results" / "scale.json"
TOOL = Tool(REPO / "src")


@dataclass(frozen=True)
class Stage:
    """One command; `{c}` is the collection, `{out}` an output directory, `{prev}` the
    previous size's collection."""

    name: str
    command: str

    def args(self, dirs: dict[str, Path]) -> list[str]:
        return [word.format(**dirs) for word in self.command.split()]


STAGES = (
    Stage("compile-cold", "cluster compile --collection {c}"),
    Stage("compile-noop", "cluster compile --collection {c}"),
    Stage("render-cold", "cluster render --collection {c} --output-dir {out}/html"),
    Stage("render-noop", "cluster render --collection {c} --output-dir {out}/html"),
    Stage(
        "export-owner",
        "cluster export --collection {c} --format gocover --by owner --output-dir {out}/export",
    ),
    Stage("ingest-dry-run", "bigquery --project p --dataset d ingest --collection {c} --dry-run"),
    Stage("diff-previous", "cluster diff --collection {c} --baseline {prev} --format json"),
    Stage("compile-add-one", "cluster compile --collection {c}"),
)


@dataclass
class SizeResult:
    """Every measurement of one collection size."""

    clusters: int
    entries: int = 0
    runs: dict[str, list[Measured]] = field(default_factory=dict)
    index: list[dict[str, float]] = field(default_factory=list)

    def median(self, stage: str, attribute: str) -> float:
        return statistics.median(getattr(m, attribute) for m in self.runs[stage])

    def index_median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.index)


def generated(work: Path, clusters: int, seed: int) -> Path:
    """The cached generation of `clusters` clusters (made once)."""
    source = work / f"generated-{clusters}-seed{seed}"
    if not (source / "coverage").is_dir():
        shutil.rmtree(source, ignore_errors=True)
        subprocess.run(
            [
                *(sys.executable, "-m", "bench.scale_gen", "--output", str(source)),
                *("--clusters", str(clusters), "--seed", str(seed)),
            ],
            check=True,
            cwd=REPO,
        )
    return source


def entries_by_cluster(source: Path) -> dict[str, list[Path]]:
    """The generated entry directories, by the cluster their metadata.json names, in the
    order the generator made them (`cluster-<k>`, by k)."""
    found: dict[str, list[Path]] = {}
    for entry in sorted((source / "coverage").iterdir()):
        metadata = json.loads((entry / "metadata.json").read_bytes())
        found.setdefault(metadata.get("cluster", ""), []).append(entry)
    return dict(sorted(found.items(), key=lambda item: _natural(item[0])))


def _natural(name: str) -> list[object]:
    """`cluster-10` after `cluster-9`: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def link_entries(entries: Sequence[Path], collection: Path) -> None:
    """Link `entries` into `collection/coverage/` (files hard-linked: stages only read them)."""
    for entry in entries:
        target = collection / "coverage" / entry.name
        shutil.copytree(entry, target, copy_function=os.link)


def run_size(
    clusters: list[list[Path]], size: int, work: Path, previous: Path | None, runs: int
) -> SizeResult:
    """Measure every stage on the first `size` clusters, `runs` times."""
    result = SizeResult(size, entries=sum(len(c) for c in clusters[:size]))
    log = work / "stages.log"
    for run in range(runs):
        collection = work / f"size-{size}" / "collection"
        out = work / f"size-{size}" / "out"
        shutil.rmtree(collection.parent, ignore_errors=True)
        for cluster in clusters[:size]:
            link_entries(cluster, collection)
        dirs = {"c": collection, "out": out, "prev": previous or collection}
        for stage in STAGES:
            if stage.name == "diff-previous" and previous is None:
                continue
            if stage.name == "compile-add-one":
                link_entries(clusters[size], collection)
            measured = measure(TOOL, stage.args(dirs), log)
            result.runs.setdefault(stage.name, []).append(measured)
            print(
                f"{size:3d} clusters  run {run + 1}  {stage.name:16s} {measured.seconds:8.2f} s "
                f"{measured.peak_rss_mb:7.0f} MB  exit {measured.status}",
                flush=True,
            )
            if stage.name == "render-noop":
                result.index.append(_index_timings(out / "html"))
    return result


def _index_timings(html: Path) -> dict[str, float]:
    """The index's timings in Chromium (ms, and the rows shown), or nothing when the tool
    isn't available."""
    try:
        from bench.index_timing import measure_index
    except ImportError:
        return {}
    timings = {key: float(value) for key, value in asdict(measure_index(html)).items()}
    print(
        f"      index: {timings['rows']:.0f} rows, "
        + ", ".join(f"{k} {v:.0f}" for k, v in timings.items() if k.endswith("_ms")),
        flush=True,
    )
    return timings


INTERACTIONS = ("search_ms", "clear_ms", "filter_ms", "sort_ms", "expand_ms")
"""The index's timings with a budget of 100 ms (`interactive_ms` has 1 s)."""


def report(sizes: list[SizeResult]) -> str:
    """A markdown table of medians per stage and size, with ratios against the first size."""
    first = sizes[0]
    header = "| stage | " + " | ".join(f"{s.clusters} clusters s / MB" for s in sizes)
    header += " | time ratio (last/first) | RSS ratio (last/first) |"
    lines = [header, "|" + "---|" * (len(sizes) + 3)]
    for stage in (s.name for s in STAGES):
        measured = [s for s in sizes if stage in s.runs]
        if not measured:
            continue
        cells = [
            f"{s.median(stage, 'seconds'):.1f} / {s.median(stage, 'peak_rss_mb'):.0f}"
            if stage in s.runs
            else "-"
            for s in sizes
        ]
        base, last = measured[0], measured[-1]
        time_ratio = last.median(stage, "seconds") / base.median(stage, "seconds")
        rss_ratio = last.median(stage, "peak_rss_mb") / base.median(stage, "peak_rss_mb")
        lines.append(f"| {stage} | {' | '.join(cells)} | {time_ratio:.2f} | {rss_ratio:.2f} |")
    if all(s.index for s in sizes) and all(s.index[0] for s in sizes):
        for key in first.index[0]:
            unit = "" if key == "rows" else " ms"
            cells = [f"{s.index_median(key):.0f}{unit}" for s in sizes]
            lines.append(f"| index {key} | {' | '.join(cells)} | | |")
    return "\n".join(lines)


def verdicts(sizes: list[SizeResult]) -> list[str]:
    """Each target of issue 16, met or not, with the numbers."""
    first, last = sizes[0], sizes[-1]
    found = []
    worst = max(
        (s for s in STAGES if s.name in last.runs and s.name in first.runs),
        key=lambda s: last.median(s.name, "peak_rss_mb") / first.median(s.name, "peak_rss_mb"),
    )
    ratio = last.median(worst.name, "peak_rss_mb") / first.median(worst.name, "peak_rss_mb")
    found.append(
        f"worst RSS ratio {last.clusters} vs {first.clusters} clusters: {ratio:.2f} "
        f"({worst.name}; target <= 1.2) {'OK' if ratio <= 1.2 else 'MISSED'}"
    )
    peak = max(m.peak_rss_mb for s in sizes for runs in s.runs.values() for m in runs)
    verdict = "OK" if peak <= 1000 else "MISSED"
    found.append(f"largest peak RSS {peak:.0f} MB (target <= 1000) {verdict}")
    cold = last.median("compile-cold", "seconds") / first.median("compile-cold", "seconds")
    found.append(
        f"cold compile {last.clusters} vs {first.clusters} clusters: {cold:.2f}x "
        f"(target <= {last.clusters / first.clusters:.0f}x) "
        f"{'OK' if cold <= last.clusters / first.clusters else 'MISSED'}"
    )
    add = last.median("compile-add-one", "seconds") / first.median("compile-cold", "seconds")
    found.append(
        f"adding one cluster to {last.clusters}: {add:.2f}x one cluster's cold compile "
        "(target: about 1x)"
    )
    if last.index and last.index[0]:
        worst_key = max(INTERACTIONS, key=last.index_median)
        ms = last.index_median(worst_key)
        load = last.index_median("interactive_ms")
        found.append(
            f"index at {last.clusters} clusters ({last.index_median('rows'):.0f} owners): "
            f"interactive in {load:.0f} ms (target < 1000), worst interaction {worst_key} "
            f"{ms:.0f} ms (target < 100) {'OK' if load < 1000 and ms < 100 else 'MISSED'}"
        )
    return found


def plot(sizes: list[SizeResult], path: Path) -> None:
    """Time and peak RSS of each stage against the number of clusters."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
    for stage in (s.name for s in STAGES):
        measured = [s for s in sizes if stage in s.runs]
        xs = [s.clusters for s in measured]
        time_axis.plot(xs, [s.median(stage, "seconds") for s in measured], marker="o", label=stage)
        memory_axis.plot(
            xs, [s.median(stage, "peak_rss_mb") for s in measured], marker="o", label=stage
        )
    time_axis.set(xlabel="clusters in the collection", ylabel="wall time (s)", title="Time")
    memory_axis.set(
        xlabel="clusters in the collection",
        ylabel="peak RSS of the process tree (MB)",
        title="Memory",
    )
    memory_axis.axhline(1000, color="grey", linestyle="--", linewidth=1)
    for axis in (time_axis, memory_axis):
        axis.set_xticks([s.clusters for s in sizes])
        axis.grid(alpha=0.3)
    memory_axis.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    print(f"plot written to {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,3,10", help="cluster counts, ascending")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    work = args.work.expanduser()
    work.mkdir(parents=True, exist_ok=True)
    source = generated(work, max(sizes) + 1, args.seed)
    clusters = list(entries_by_cluster(source).values())
    if len(clusters) <= max(sizes):
        raise SystemExit(f"{source} holds {len(clusters)} clusters, {max(sizes) + 1} needed")
    results: list[SizeResult] = []
    previous: Path | None = None
    for size in sizes:
        results.append(run_size(clusters, size, work, previous, args.runs))
        previous = work / f"size-{size}-kept"
        shutil.rmtree(previous, ignore_errors=True)
        os.replace(work / f"size-{size}" / "collection", previous)
    table = report(results)
    print(table)
    for line in verdicts(results):
        print(line)
    write_results(
        RESULTS,
        {
            "machine": machine_info(),
            "command": "python -m bench.scale_bench " + " ".join(sys.argv[1:]),
            "sizes": [asdict(r) for r in results],
            "table": table,
            "verdicts": verdicts(results),
        },
    )
    if args.plot:
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
