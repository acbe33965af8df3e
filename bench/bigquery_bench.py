"""Benchmark `bigquery ingest` against the prior tool's method: streaming 500-row batches.

Both write the same rows to the same BigQuery REST API: the local-bigquery emulator (the test
suite's, tests/bqfixtures.py) in its own process on loopback.

1. **Collection.** The reference-scale collection ``bench/resolve_bench.py`` leaves in
   ``~/.cache/coverage-collector-bench/resolve/collection`` (81 binaries, 860 owners, every file
   resolved to its source: about 12 million line rows). Run ``python -m bench.resolve_bench
   --runs 1`` first if it is missing.
2. **Ours:** ``ingest()`` in-process, end to end (rows built from the database and the sources,
   load jobs into staging tables, the replacing transaction), ``--runs`` times into the same
   dataset, so every run after the first also replaces a previous copy. Load jobs are counted per
   table from the emulator's job list.
3. **Baseline:** the prior tool's ``Inserter.Put``: ``tabledata.insertAll`` of 500 rows per request,
   one request after another, of the same rows (read back from the NDJSON our ingest uploads, so
   building them costs the baseline nothing), into tables of the same schema. Streaming all of
   them takes hours, so it runs for ``--baseline-seconds`` and its rate is extrapolated to the
   full row count (labelled as such).
4. A table with rows/s of both, the ratio (target >= 10) and load jobs per table (target <= 3),
   and JSON in ``bench/results/bigquery.json``.

Usage::

    python -m bench.bigquery_bench [--collection DIR] [--runs 3] [--baseline-seconds 120]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from tests.helpers.bqfixtures import BigQueryEmulator

from bench.benchlib import REPO, machine_info, write_results
from coverage_collector import bigquery, database
from coverage_collector.bigquery import schema
from coverage_collector.bigquery.load import Target, schema_fields
from coverage_collector.bigquery.rows import BuildOptions, build_tables
from coverage_collector.selection import OwnerSelection

DEFAULT_COLLECTION = Path.home() / ".cache/coverage-collector-bench/resolve/collection"
PROJECT = "bench"
BATCH = 500


def run_ours(emulator: BigQueryEmulator, collection: Path, runs: int) -> list[dict[str, object]]:
    results = []
    target = Target(PROJECT, "ours", api_endpoint=emulator.endpoint)
    for run in range(runs):
        started = time.monotonic()
        summary = bigquery.run(bigquery.Options(collection=str(collection), target=target))
        seconds = time.monotonic() - started
        results.append(
            {
                "run": run + 1,
                "seconds": round(seconds, 2),
                "rows": summary.rows,
                "rows_per_second": round(summary.rows / seconds),
                "prepare_seconds": round(summary.prepare_seconds, 2),
                "load_seconds": round(summary.load_seconds, 2),
                "replace_seconds": round(summary.replace_seconds, 2),
                "load_jobs": summary.load_jobs,
                "tables": {t.spec.name: t.rows for t in summary.tables},
            }
        )
        print(f"ours run {run + 1}: {summary.rows:,} rows in {seconds:.1f} s", flush=True)
    return results


def load_jobs_per_table(emulator: BigQueryEmulator) -> dict[str, int]:
    """Load jobs per destination table (staging tables counted for their target)."""
    jobs: Counter[str] = Counter()
    for job in emulator.client(PROJECT).list_jobs(all_users=True):
        if job.job_type == "load":
            name = job.destination.table_id.removeprefix("_cc_staging_").rsplit("_", 1)[0]
            jobs[name] += 1
    return dict(jobs)


def run_baseline(emulator: BigQueryEmulator, collection: Path, seconds: float) -> dict[str, object]:
    """Stream the same rows, 500 per insertAll request, for `seconds`; extrapolate."""
    from google.cloud import bigquery

    client = emulator.client(PROJECT)
    client.create_dataset(f"{PROJECT}.baseline", exists_ok=True)
    for spec in schema.TABLES:
        table = bigquery.Table(f"{PROJECT}.baseline.{spec.name}", schema_fields(spec.columns))
        table.time_partitioning = bigquery.TimePartitioning(field=spec.partition_field)
        client.create_table(table, exists_ok=True)
    with tempfile.TemporaryDirectory() as work:
        conn = database.open_readonly(str(collection))
        options = BuildOptions(
            str(collection), collection.name, OwnerSelection(), datetime.now(UTC)
        )
        outputs = build_tables(conn, options, work).outputs
        total = sum(o.rows for o in outputs.values())
        streamed = requests = 0
        started = time.monotonic()
        # the line table first, as the prior tool wrote it (binary by binary)
        for spec in schema.TABLES:
            for batch in _batches(outputs[spec.name].path):
                if time.monotonic() - started >= seconds:
                    break
                errors = client.insert_rows_json(f"{PROJECT}.baseline.{spec.name}", batch)
                if errors:
                    raise SystemExit(f"baseline insert failed: {errors[:2]}")
                streamed += len(batch)
                requests += 1
        elapsed = time.monotonic() - started
    rate = streamed / elapsed
    print(f"baseline: {streamed:,} rows in {elapsed:.1f} s ({requests} requests)", flush=True)
    return {
        "rows_streamed": streamed,
        "requests": requests,
        "seconds": round(elapsed, 2),
        "rows_per_second": round(rate),
        "rows_total": total,
        "extrapolated_seconds_for_all_rows": round(total / rate),
        "extrapolated": streamed < total,
    }


def _batches(path: str) -> Iterator[list[dict[str, object]]]:
    """The rows of one of our upload files, 500 at a time, as insertAll JSON rows."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH):
            rows = batch.to_pylist()
            for row in rows:
                for name, value in row.items():
                    if isinstance(value, datetime):
                        row[name] = value.isoformat()
            yield rows
        return
    with open(path, encoding="ascii") as handle:
        while batch := [json.loads(line) for line in itertools.islice(handle, BATCH)]:
            yield batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path, default=DEFAULT_COLLECTION)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-seconds", type=float, default=120.0)
    args = parser.parse_args()
    if not (args.collection / "coverage.db").is_file():
        sys.exit(
            f"{args.collection} has no coverage.db: run python -m bench.resolve_bench --runs 1"
        )
    with BigQueryEmulator() as emulator:
        ours = run_ours(emulator, args.collection, args.runs)
        jobs = load_jobs_per_table(emulator)
        baseline = run_baseline(emulator, args.collection, args.baseline_seconds)
    median = statistics.median(r["rows_per_second"] for r in ours)  # type: ignore[misc]
    ratio = median / baseline["rows_per_second"]  # type: ignore[operator]
    per_table = {name: count / len(ours) for name, count in jobs.items()}
    print()
    print(f"{'method':<34} {'rows/s':>12}")
    print(f"{'ours (load jobs, median)':<34} {median:>12,.0f}")
    print(f"{'baseline (streaming 500/request)':<34} {baseline['rows_per_second']:>12,}")
    print(f"ratio ours/baseline: {ratio:.1f}x (target >= 10)")
    print(f"load jobs per table per ingest: {per_table} (target <= 3)")
    write_results(
        REPO / "bench" / "results" / "bigquery.json",
        {
            "machine": machine_info(),
            "collection": str(args.collection),
            "ours": ours,
            "ours_median_rows_per_second": median,
            "load_jobs_per_table_per_ingest": per_table,
            "baseline": baseline,
            "ratio": round(ratio, 1),
        },
    )


if __name__ == "__main__":
    main()
