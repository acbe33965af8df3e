"""`cluster download` against a real S3 server (moto's, on loopback) with real Go coverage data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from coverage_collector.download.store import FETCH_ATTEMPTS
from tests.helpers.faultproxy import FaultProxy, object_path
from tests.helpers.gofixtures import cache_root, covdata, go_env
from tests.helpers.s3fixtures import (
    SECRET_SENTINEL,
    BucketSpec,
    ExpectedEntry,
    ExpectedInstance,
    MotoServer,
    S3Env,
    expected_textfmt,
    identity,
    local_entries,
    run_download,
    toggle_snapshot,
)


def textfmt(directory: Path, go: Path, out: Path) -> bytes:
    result = covdata(go, ["textfmt", f"-i={directory}", f"-o={out}"], go_env(cache_root()))
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


def test_download_keeps_every_instance_and_only_newest_snapshots(
    s3_bucket: BucketSpec, moto_s3: MotoServer, s3_env: S3Env, go_toolchain: Path, tmp_path: Path
) -> None:
    # Every entry (restarts, two pids in one directory, host processes, hostile but valid names)
    # arrives with one counter file per instance, and covdata on each local entry equals the
    # merge of that entry's newest snapshots. Unexpected keys are reported, none is dropped
    # silently; keys with a `.`/`..` or over-long component are refused, each by key.
    collection = tmp_path / "collection"
    summary = run_download(s3_bucket, moto_s3.endpoint, collection)
    assert not summary.failed, summary.failed
    assert sorted(summary.unexpected) == sorted(s3_bucket.unexpected_keys)
    refused = {key for e in s3_bucket.refused_entries for key in e.object_keys()}
    assert len(s3_bucket.refused_entries) == 4 and not summary.ok
    assert {r.key for r in summary.refused} == refused
    assert all(
        r.reason.endswith(("is '..'", "is '.'", "longer than 253 characters"))
        for r in summary.refused
    )
    local = local_entries(collection)
    assert set(local) == {identity(e) for e in s3_bucket.accepted_entries}
    for entry in s3_bucket.accepted_entries:
        directory = local[identity(entry)]
        assert directory.parent == collection / "coverage"
        meta = json.loads((directory / "metadata.json").read_text())
        assert meta["host_process"] is entry.host_process
        assert meta["container"]["image"] == entry.image
        # instances are listed by discovery time, then pid (the fixture's order is run order)
        assert [(i["discovery_time"], i["pid"]) for i in meta["instances"]] == sorted(
            (i.discovery_time, i.pid) for i in entry.instances
        )
        assert meta["first_seen"] <= meta["last_seen"]
        counters = sorted(p.name for p in directory.glob("covcounters.*"))
        assert len(counters) == len(entry.instances)
        assert textfmt(directory, go_toolchain, tmp_path / "ours.txt") == expected_textfmt(
            entry, go_toolchain, tmp_path / "expected"
        )
        info = directory / "info.json"
        assert info.exists() == (entry.info is not None)
    everything = [p for p in collection.rglob("*")]
    assert all(p.resolve().is_relative_to(collection.resolve()) for p in everything)
    assert not [p for p in everything if p.name.startswith((".tmp-", ".partial-"))]


def test_rerun_fetches_only_what_changed(
    s3_bucket: BucketSpec,
    moto_s3: MotoServer,
    s3_env: S3Env,
    go_toolchain: Path,
    tmp_path: Path,
    s3: Any,
) -> None:
    # Nothing is fetched again; after the producer's next upload of one instance, exactly that
    # object is fetched and replaces the superseded snapshot instead of adding to it.
    collection = tmp_path / "collection"
    first = run_download(s3_bucket, moto_s3.endpoint, collection)
    assert not first.failed and first.downloaded > 0
    again = run_download(s3_bucket, moto_s3.endpoint, collection)
    assert (again.downloaded, again.unchanged) == (0, first.downloaded)
    entry = next(e for e in s3_bucket.normal_entries if e.instances[0].next_bytes is not None)
    toggle_snapshot(s3, s3_bucket, entry.instances[0])
    skipped = run_download(s3_bucket, moto_s3.endpoint, collection, skip_existing=True)
    assert skipped.downloaded == 0
    assert skipped.skipped_entries == len(s3_bucket.accepted_entries)
    changed = run_download(s3_bucket, moto_s3.endpoint, collection)
    assert changed.downloaded == 1
    directory = local_entries(collection)[identity(entry)]
    assert len(list(directory.glob("covcounters.*"))) == len(entry.instances)
    assert textfmt(directory, go_toolchain, tmp_path / "ours.txt") == expected_textfmt(
        entry, go_toolchain, tmp_path / "expected"
    )


def victim(bucket: BucketSpec) -> tuple[ExpectedEntry, ExpectedInstance, str]:
    """An ordinary entry with several instances, one of them, and its newest snapshot's key:
    the object a fault test makes unreachable (the entry keeps its other files)."""
    entry = next(e for e in bucket.normal_entries if len(e.instances) >= 2)
    instance = entry.instances[0]
    return entry, instance, instance.newest_key


def test_faults_are_retried_and_nothing_is_lost(
    s3_bucket: BucketSpec,
    moto_s3: MotoServer,
    s3_env: S3Env,
    go_toolchain: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A proxy fails or drops a share of requests: retries carry the run through. One object
    # fails on every request (500, retryable): once botocore's and the downloader's attempts
    # are spent it is reported by key, and the next run completes the collection. The backoff
    # is recorded instead of waited for (the real one would take minutes).
    entry, _, key = victim(s3_bucket)
    path = object_path(s3_bucket.bucket, key)
    delays: list[float] = []
    monkeypatch.setattr(time, "sleep", delays.append)
    collection = tmp_path / "collection"
    with FaultProxy(
        moto_s3.endpoint, fail_ratio=0.25, drop_ratio=0.1, seed=7, fail_always={path: 500}
    ) as proxy:
        flaky = run_download(s3_bucket, proxy.endpoint, collection)
        assert proxy.failed + proxy.dropped > 0
        tries = proxy.requests_for(path)
    # every one of the downloader's attempts reached the proxy (each with botocore's own
    # retries inside it, while botocore's retry quota lasts), and every request failed
    assert len(tries) >= FETCH_ATTEMPTS
    assert {(r.outcome, r.status) for r in tries} == {("failed", 500)}
    assert len(delays) >= len(tries) - 1 and all(d >= 0 for d in delays)
    failed = dict(flaky.failed)
    assert key in failed and f"(after {FETCH_ATTEMPTS} attempts)" in failed[key]
    assert "InternalError" in failed[key] or "500" in failed[key]
    assert all(k.startswith(s3_bucket.key_prefix) for k in failed)
    assert not flaky.ok
    settled = run_download(s3_bucket, moto_s3.endpoint, collection)
    assert not settled.failed
    assert settled.downloaded == len(flaky.failed)
    for expected in s3_bucket.normal_entries:
        directory = local_entries(collection)[identity(expected)]
        assert textfmt(directory, go_toolchain, tmp_path / "ours.txt") == expected_textfmt(
            expected, go_toolchain, tmp_path / "expected"
        )
    meta = json.loads((local_entries(collection)[identity(entry)] / "metadata.json").read_text())
    assert len(meta["instances"]) == len(entry.instances)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coverage_collector", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_cli_reports_and_never_leaks_credentials(
    s3_bucket: BucketSpec, moto_s3: MotoServer, s3_env: S3Env, tmp_path: Path
) -> None:
    # The command prints a summary and writes a log file; the secret key appears in neither,
    # not even at trace verbosity; a prefix one level too high is diagnosed.
    collection = tmp_path / "collection"
    env = dict(os.environ)
    done = cli(
        "cluster",
        "download",
        "--collection",
        str(collection),
        "--bucket",
        s3_bucket.bucket,
        "--prefix",
        s3_bucket.prefix,
        "--endpoint-url",
        moto_s3.endpoint,
        "--verbosity",
        "trace",
        env=env,
    )
    assert done.returncode == 1, done.stderr  # the refused keys
    assert "downloaded" in done.stderr and "unexpected keys" in done.stderr
    assert f"refused keys: {4 * len(s3_bucket.refused_entries)}" in done.stderr
    assert "Traceback" not in done.stderr
    logs_text = "".join(p.read_text() for p in (collection / "logs").glob("*.log"))
    assert "downloaded" in logs_text
    for text in (done.stdout, done.stderr, logs_text):
        assert SECRET_SENTINEL not in text
    parent = s3_bucket.prefix.rsplit("/", 1)[0]
    wrong = cli(
        "cluster",
        "download",
        "--collection",
        str(tmp_path / "other"),
        "--bucket",
        s3_bucket.bucket,
        "--prefix",
        parent,
        "--endpoint-url",
        moto_s3.endpoint,
        env=env,
    )
    assert wrong.returncode == 1
    assert f"did you mean --prefix {s3_bucket.prefix}/ (" in wrong.stderr
    assert "Traceback" not in wrong.stderr and SECRET_SENTINEL not in wrong.stderr


def test_missing_bucket_is_one_clear_error(
    moto_s3: MotoServer, s3_env: S3Env, tmp_path: Path
) -> None:
    result = cli(
        "cluster",
        "download",
        "--collection",
        str(tmp_path / "c"),
        "--bucket",
        "no-such-bucket-here",
        "--prefix",
        "x",
        "--endpoint-url",
        moto_s3.endpoint,
    )
    assert result.returncode == 1
    assert "NoSuchBucket" in result.stderr and "Traceback" not in result.stderr


def test_objects_expired_from_the_bucket_stay_collected(
    s3_bucket: BucketSpec,
    moto_s3: MotoServer,
    s3_env: S3Env,
    go_toolchain: Path,
    tmp_path: Path,
    s3: Any,
) -> None:
    # The bucket expires old objects; a later download must not forget what was collected.
    collection = tmp_path / "collection"
    assert not run_download(s3_bucket, moto_s3.endpoint, collection).failed
    entry = next(e for e in s3_bucket.entries if len(e.dir_keys) >= 3)  # restarted twice
    first = entry.instances[0]
    for key in [k for k in entry.object_keys() if k.startswith(first.dir_key)]:
        s3.delete_object(Bucket=s3_bucket.bucket, Key=key)
    assert not run_download(s3_bucket, moto_s3.endpoint, collection).failed
    directory = local_entries(collection)[identity(entry)]
    meta = json.loads((directory / "metadata.json").read_text())
    assert [i["discovery_time"] for i in meta["instances"]] == [
        i.discovery_time for i in entry.instances
    ]
    assert textfmt(directory, go_toolchain, tmp_path / "ours.txt") == expected_textfmt(
        entry, go_toolchain, tmp_path / "expected"
    )


def test_an_object_that_always_fails_is_named_and_exits_1(
    s3_bucket: BucketSpec,
    moto_s3: MotoServer,
    s3_env: S3Env,
    go_toolchain: Path,
    tmp_path: Path,
    s3: Any,
) -> None:
    # One object is denied on every request (403: not retried, so the run stays short): the
    # command names that key on one line of its summary, fetches everything else (the same
    # entry's other instances included), and exits 1; a rerun without the fault fetches just
    # that object and exits 0. The refused entries are removed first, so that nothing but
    # this object can make the exit status 1.
    for refused in s3_bucket.refused_entries:
        for refused_key in refused.object_keys():
            s3.delete_object(Bucket=s3_bucket.bucket, Key=refused_key)
    entry, instance, key = victim(s3_bucket)
    path = object_path(s3_bucket.bucket, key)
    collection = tmp_path / "collection"
    argv = ["cluster", "download", "--collection", str(collection)]
    argv += ["--bucket", s3_bucket.bucket, "--prefix", s3_bucket.prefix]
    with FaultProxy(moto_s3.endpoint, fail_ratio=0, drop_ratio=0, fail_always={path: 403}) as proxy:
        denied = cli(*argv, "--endpoint-url", proxy.endpoint)
        tries = proxy.requests_for(path)
    assert denied.returncode == 1, denied.stderr
    assert [(r.method, r.status) for r in tries] == [("GET", 403)]  # a denial is not retried
    output = (denied.stdout + denied.stderr).splitlines()
    assert "failed: 1" in output
    # The summary's failed list holds it once, key and reason on one line; the only other line
    # naming it is the error logged when the fetch gave up (also one line, no traceback).
    summary = [line for line in output if line.startswith(f"  failed: {key}: ")]
    assert len(summary) == 1 and "AccessDenied" in summary[0], output
    logged = [line for line in output if key in line and line not in summary]
    assert all(line.startswith(f"error: couldn't fetch {key}: ") for line in logged), logged
    assert len(logged) <= 1
    assert "Traceback" not in denied.stderr

    local = local_entries(collection)
    assert set(local) == {identity(e) for e in s3_bucket.accepted_entries}
    for expected in s3_bucket.accepted_entries:
        directory = local[identity(expected)]
        present = [i for i in expected.instances if i is not instance]
        assert textfmt(directory, go_toolchain, tmp_path / "ours.txt") == expected_textfmt(
            expected, go_toolchain, tmp_path / "expected", present
        ), expected.dedup_key
        meta = json.loads((directory / "metadata.json").read_text())
        # listed by discovery time, then pid (the fixture's order is run order)
        assert [(i["discovery_time"], i["pid"]) for i in meta["instances"]] == sorted(
            (i.discovery_time, i.pid) for i in present
        )
        assert len(list(directory.glob("covcounters.*"))) == len(present)
    assert not [p for p in collection.rglob("*") if p.name.startswith((".tmp-", ".partial-"))]

    settled = cli(*argv, "--endpoint-url", moto_s3.endpoint)
    assert settled.returncode == 0, settled.stderr
    assert "failed: 0" in settled.stderr.splitlines()
    assert any(line.startswith("files: 1 downloaded") for line in settled.stderr.splitlines())
    directory = local_entries(collection)[identity(entry)]
    assert textfmt(directory, go_toolchain, tmp_path / "ours.txt") == expected_textfmt(
        entry, go_toolchain, tmp_path / "expected"
    )
