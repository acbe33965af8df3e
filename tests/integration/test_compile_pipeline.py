"""download then compile, against a real S3 server: restarts summed, toggles never doubled."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from coverage_collector import compile
from coverage_collector.compile import DEFAULT_EXCLUDES
from tests.helpers.s3fixtures import (
    BucketSpec,
    ExpectedEntry,
    MotoServer,
    S3Env,
    expected_textfmt,
    identity,
    local_entries,
    run_download,
    toggle_snapshot,
)


def text_numbers(text: bytes) -> tuple[int, int]:
    """Statements and covered statements of a text profile, without the injected files."""
    total = covered = 0
    for line in text.decode().splitlines()[1:]:
        position, stmts, count = line.rsplit(" ", 2)
        if Path(position.rsplit(":", 1)[0]).name in DEFAULT_EXCLUDES:
            continue
        total += int(stmts)
        covered += int(stmts) if int(count) else 0
    return total, covered


def entry_numbers(collection: Path) -> dict[str, tuple[int, int, int]]:
    conn = sqlite3.connect(collection / "coverage.db")
    try:
        return {
            name: (statements, covered, instances)
            for name, statements, covered, instances in conn.execute(
                "SELECT dir_name, statements, covered, instances FROM entries"
            )
        }
    finally:
        conn.close()


def check_entries(
    spec: BucketSpec, entries: list[ExpectedEntry], collection: Path, go: Path, work: Path
) -> None:
    stored = entry_numbers(collection)
    local = local_entries(collection)
    for entry in entries:
        name = local[identity(entry)].name
        expected = text_numbers(expected_textfmt(entry, go, work))
        assert stored[name] == (*expected, len(entry.instances)), name


def test_downloaded_collection_compiles_to_the_ground_truth(
    s3_bucket: BucketSpec,
    moto_s3: MotoServer,
    s3_env: S3Env,
    go_toolchain: Path,
    tmp_path: Path,
    s3: Any,
) -> None:
    collection = tmp_path / "collection"
    downloaded = run_download(s3_bucket, moto_s3.endpoint, collection)
    # Only the keys with a `.`/`..` or over-long component are refused; the rest is kept.
    refused = {key for e in s3_bucket.refused_entries for key in e.object_keys()}
    assert not downloaded.failed and {r.key for r in downloaded.refused} == refused
    summary = compile.run(compile.Options(collection=str(collection), max_concurrency=2))
    assert summary.ok, summary.errors
    accepted = s3_bucket.accepted_entries
    assert summary.entries == len(accepted)
    check_entries(s3_bucket, accepted, collection, go_toolchain, tmp_path / "expected")
    # the producer's next poll overwrites the older snapshot slot: the entry is recompiled
    # once, with the newer snapshot replacing (not adding to) the one it supersedes
    entry = next(e for e in s3_bucket.normal_entries if e.instances[0].next_bytes is not None)
    toggle_snapshot(s3, s3_bucket, entry.instances[0])
    assert run_download(s3_bucket, moto_s3.endpoint, collection).downloaded == 1
    again = compile.run(compile.Options(collection=str(collection), max_concurrency=2))
    assert again.decoded == 1 and again.owners_updated == 1
    check_entries(s3_bucket, [entry], collection, go_toolchain, tmp_path / "expected")
