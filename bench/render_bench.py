"""Benchmark ``cluster render`` on the reference-scale collection, and the report in Chromium.

The collection is the one ``bench/resolve_bench.py`` prepares (the compile benchmark's 2,191
entries, 860 owners and 81 binaries, with 41 real checkouts in ``repos/`` and every file
resolved: 27,061 binary files, 2,4k distinct sources); it is made first when missing.

Measured, in one run:

1. a cold render (empty output directory), ``--runs`` times: wall time and peak RSS of the
   process tree (the highlighting runs in worker processes);
2. a no-op re-render after each cold one;
3. the output: total size, number of files, the largest file, the largest binary page;
4. the index in headless Chromium (Playwright, Debian's chromium) from file://: time until the
   rows are painted, then each search keystroke, clearing the search, a filter, sorts and
   expanding a row, from the input to the painted result (bench/index_timing.py).

Targets (issue "cluster render"): cold <= 60 s, no-op <= 5 s, no file over 5 MB, a binary page
under 2 MB, the index interactive in under 1 s and filtering or sorting in under 100 ms.

Usage::

    python -m bench.render_bench [--runs 3]
    python -m bench.render_bench --browser-only <collection>/html/index.html
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.benchlib import REPO, machine_info, write_results
from bench.compile_bench import run_measured
from bench.index_timing import first_page_bytes, measure_index

COLLECTION = Path.home() / ".cache" / "coverage-collector-bench" / "resolve" / "collection"
RESULTS = REPO / "bench" / "results" / "render.json"
TARGETS = {
    "cold_s": 60.0,
    "noop_s": 5.0,
    "largest_file_mb": 5.0,
    "page_mb": 2.0,
    "interactive_s": 1.0,
    "first_page_mb": 2.0,
    "interaction_ms": 100.0,
}


def ensure_collection() -> None:
    """Prepare the resolved reference collection with the resolution benchmark if needed."""
    if not (COLLECTION / "coverage.db").exists():
        subprocess.run(
            [sys.executable, str(REPO / "bench" / "resolve_bench.py"), "--runs", "1"], check=True
        )


def render_argv(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "coverage_collector",
        "cluster",
        "render",
        "--collection",
        str(COLLECTION),
        "--output-dir",
        str(out),
    ]


def output_stats(out: Path) -> dict[str, Any]:
    files = [p for p in out.rglob("*") if p.is_file()]
    largest = max(files, key=lambda p: p.stat().st_size)
    pages = list((out / "binaries").glob("*.html"))
    largest_page = max(pages, key=lambda p: p.stat().st_size)
    return {
        "files": len(files),
        "total_mb": round(sum(p.stat().st_size for p in files) / 1e6, 1),
        "largest_file": str(largest.relative_to(out)),
        "largest_file_mb": round(largest.stat().st_size / 1e6, 2),
        "largest_page": str(largest_page.relative_to(out)),
        "page_mb": round(largest_page.stat().st_size / 1e6, 2),
        "index_mb": round((out / "index.html").stat().st_size / 1e6, 2),
    }


def browser_timings(index: Path, runs: int) -> dict[str, Any]:
    """Time to interactive and interaction times of the index, medians over `runs` loads
    (bench/index_timing.py: from the input to the painted result)."""
    timings = measure_index(index.parent, runs)
    return {
        "rows": timings.rows,
        "interactive_s": round(timings.interactive_ms / 1000, 3),
        "search_ms": timings.search_ms,
        "clear_ms": timings.clear_ms,
        "filter_ms": timings.filter_ms,
        "sort_ms": timings.sort_ms,
        "expand_ms": timings.expand_ms,
        "interaction_ms": timings.worst_interaction_ms,
        "first_page_mb": round(first_page_bytes(index.parent) / 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="cold + no-op renders (3)")
    parser.add_argument(
        "--browser-only",
        type=Path,
        metavar="INDEX",
        help="only time this index.html in Chromium (e.g. a larger collection)",
    )
    options = parser.parse_args()
    if options.browser_only:
        print(browser_timings(options.browser_only.resolve(), 5))
        return
    ensure_collection()
    work = Path.home() / ".cache" / "coverage-collector-bench" / "render-work"
    work.mkdir(parents=True, exist_ok=True)
    out = work / "html"
    cold, noop = [], []
    for run in range(1, options.runs + 1):
        shutil.rmtree(out, ignore_errors=True)
        first = run_measured(render_argv(out), work, work / f"cold-{run}.log")
        again = run_measured(render_argv(out), work, work / f"noop-{run}.log")
        assert first.returncode == 0 and again.returncode == 0, first.stderr_tail
        cold.append(first)
        noop.append(again)
        print(
            f"  run {run}: cold {first.seconds:.1f} s (peak tree RSS "
            f"{first.memory.peak_tree_rss_mb:.0f} MB), no-op {again.seconds:.2f} s"
        )
    results: dict[str, Any] = {
        "cold_s": statistics.median(m.seconds for m in cold),
        "cold_runs_s": [m.seconds for m in cold],
        "peak_tree_rss_mb": round(max(m.memory.peak_tree_rss_mb for m in cold)),
        "noop_s": statistics.median(m.seconds for m in noop),
        **output_stats(out),
        **browser_timings(out / "index.html", 5),
    }
    print("\n| metric | value | target | met |\n|---|---|---|---|")
    for key, target in TARGETS.items():
        met = "yes" if results[key] <= target else "NO"
        print(f"| {key} | {results[key]} | <= {target} | {met} |")
    print(f"| peak tree RSS MB | {results['peak_tree_rss_mb']} | | |")
    print(
        f"| output | {results['total_mb']} MB in {results['files']} files "
        f"(largest {results['largest_file']}) | | |"
    )
    write_results(
        RESULTS,
        {
            "command_line": "python -m bench.render_bench " + " ".join(sys.argv[1:]),
            "machine": machine_info(),
            **results,
        },
    )


if __name__ == "__main__":
    main()
