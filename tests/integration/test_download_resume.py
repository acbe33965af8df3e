"""`cluster download` when things go wrong: a kill, a full disk, hostile keys, huge objects.

Against moto's S3 server, through the command line where the exit status and the printed
lines matter. The rule every test checks: an entry directory exists complete (with its
`metadata.json`) or not at all, no temporary file or partial directory stays behind, and
the next run ends with exactly what one clean run makes.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from coverage_collector import download
from coverage_collector.download import store as download_store
from coverage_collector.download.layout import RemoteObject
from tests.helpers.faultproxy import FaultProxy
from tests.helpers.s3fixtures import BucketSpec, MotoServer, S3Env
from tests.helpers.tmpfsfixtures import small_tmpfs

PREFIX = "ci/cluster-1"
H = "c" * 32
DISCOVERY = "20260318T091249Z"
IMAGE = "quay.io-evil-hostile-sha256-" + "0" * 64


def cli_args(collection: Path, bucket: str, prefix: str, endpoint: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "coverage_collector",
        "cluster",
        "download",
        "--collection",
        str(collection),
        "--bucket",
        bucket,
        "--prefix",
        prefix,
        "--endpoint-url",
        endpoint,
        "--region",
        "us-east-1",
        *extra,
    ]


def cli(
    collection: Path, bucket: str, prefix: str, endpoint: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_args(collection, bucket, prefix, endpoint),
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
        timeout=300,
    )


def tree(collection: Path) -> dict[str, bytes]:
    """Every file under `<collection>/coverage`, by relative path, with its bytes."""
    root = collection / "coverage"
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def leftovers(collection: Path) -> list[str]:
    """Temporary files and partial directories anywhere in the collection."""
    return [
        str(p)
        for p in collection.rglob("*")
        if p.name.startswith((".tmp-", ".partial-")) or ".tmp-" in p.name
    ]


def entry_dirs(collection: Path) -> list[Path]:
    """The entry directories (not the hidden partial ones)."""
    root = collection / "coverage"
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def assert_entries_complete(collection: Path) -> None:
    """Every entry directory in coverage/ is a finished entry, never a half one (a kill may
    leave `.partial-*` directories: the next run removes them)."""
    for directory in entry_dirs(collection):
        assert (directory / "metadata.json").is_file(), directory


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def pod_key(namespace: str, pod: str, name: str, *, discovery: str = DISCOVERY) -> str:
    return f"{PREFIX}/node-1/{namespace}/{pod}/app/{discovery}/{IMAGE}/app/{name}"


def put(client: Any, bucket: str, objects: dict[str, bytes]) -> None:
    client.create_bucket(Bucket=bucket)
    for key, data in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)


def noise(size: int, seed: str) -> bytes:
    """`size` incompressible bytes, different per seed."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}-{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def pod_objects(pod: str, *, size: int = 100, namespace: str = "shop") -> dict[str, bytes]:
    """One entry: a meta file, a counter file and info.json."""
    return {
        pod_key(namespace, pod, f"covmeta.{H}"): noise(size, f"{pod}-meta"),
        pod_key(namespace, pod, f"covcounters.{H}.42.1"): noise(size, f"{pod}-counters"),
        pod_key(namespace, pod, "info.json"): b'{"binary": "app"}',
    }


_buckets = iter(range(1, 1_000_000))


@pytest.fixture
def bucket_name() -> str:
    return f"resume-{os.getpid()}-{next(_buckets)}"


# --------------------------------------------------------------------------------------------
# Kill and resume


def slow_proxy(endpoint: str, delay: float) -> FaultProxy:
    """A proxy that forwards every request after `delay` seconds, one at a time."""

    def slow(method: str, path: str) -> bool:
        time.sleep(delay)
        return False  # never a fault

    return FaultProxy(endpoint, fail_ratio=0, drop_ratio=0, fault_filter=slow)


def test_a_killed_download_resumes_to_what_one_clean_run_makes(
    s3_bucket: BucketSpec, moto_s3: MotoServer, s3_env: S3Env, tmp_path: Path
) -> None:
    # SIGKILL once the first entry directory is in place; every directory then is complete;
    # the rerun ends byte for byte where a single clean run ends, with no duplicate directory
    # and no temporary file.
    clean = tmp_path / "clean"
    reference = cli(clean, s3_bucket.bucket, s3_bucket.prefix, moto_s3.endpoint)
    assert reference.returncode == 1 and "Traceback" not in reference.stderr  # refused keys
    expected = tree(clean)
    collection = tmp_path / "collection"
    with slow_proxy(moto_s3.endpoint, 0.03) as proxy:
        args = cli_args(collection, s3_bucket.bucket, s3_bucket.prefix, proxy.endpoint)
        args += ["--max-concurrency", "2"]
        process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ)
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                coverage = collection / "coverage"
                if coverage.is_dir() and any(
                    not p.name.startswith(".") for p in coverage.iterdir()
                ):
                    break
                time.sleep(0.002)
            process.send_signal(signal.SIGKILL)
        finally:
            assert process.wait(timeout=30) == -signal.SIGKILL
    assert_entries_complete(collection)
    assert 0 < len(entry_dirs(collection)) < len(entry_dirs(clean))
    partial = [p for p in (collection / "coverage").iterdir() if p.name.startswith(".partial-")]
    again = cli(collection, s3_bucket.bucket, s3_bucket.prefix, moto_s3.endpoint)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert [p.name for p in entry_dirs(collection)] == [p.name for p in entry_dirs(clean)]
    assert tree(collection) == expected
    assert leftovers(collection) == []
    assert not any(p.exists() for p in partial)


def test_what_an_interrupted_run_left_is_replaced_not_duplicated(
    moto_s3: MotoServer, s3_env: S3Env, s3: Any, bucket_name: str, tmp_path: Path
) -> None:
    # Left by earlier versions or a kill: an entry directory without metadata.json (with a
    # stale file), a partial directory, a temporary file in a finished entry. The rerun
    # completes the first in place, removes the others, and matches a clean run.
    objects = {**pod_objects("api-0"), **pod_objects("api-1"), **pod_objects("pod:odd")}
    put(s3, bucket_name, objects)
    clean = tmp_path / "clean"
    assert cli(clean, bucket_name, PREFIX, moto_s3.endpoint).returncode == 0
    collection = tmp_path / "collection"
    assert cli(collection, bucket_name, PREFIX, moto_s3.endpoint).returncode == 0
    first, second, third = entry_dirs(collection)
    (first / "metadata.json").unlink()
    (first / ".download-state.json").unlink()
    (first / f"covcounters.{H}.42.1").write_bytes(b"half a file")
    second.rename(second.parent / f".partial-{second.name}")
    (third / ".tmp-abc123").write_bytes(b"temporary")
    (third / "metadata.json").unlink()
    again = cli(collection, bucket_name, PREFIX, moto_s3.endpoint)
    assert again.returncode == 0, again.stderr
    assert tree(collection) == tree(clean)
    assert leftovers(collection) == []


# --------------------------------------------------------------------------------------------
# A full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs; skipped where `mount` isn't allowed."""
    with small_tmpfs(tmp_path / "small", "1m") as mount:
        yield mount


def test_a_full_disk_is_one_line_and_the_next_run_completes(
    moto_s3: MotoServer,
    s3_env: S3Env,
    s3: Any,
    bucket_name: str,
    tmp_path: Path,
    small_disk: Path,
) -> None:
    # 3 MiB of objects for a 1 MiB disk: exit 1, one error line naming the file that did not
    # fit, no traceback, no temporary file or partial directory; with more space, the next
    # run makes what a clean run makes.
    objects: dict[str, bytes] = {}
    for index in range(6):
        objects.update(pod_objects(f"api-{index}", size=256 << 10))
    put(s3, bucket_name, objects)
    clean = tmp_path / "clean"
    assert cli(clean, bucket_name, PREFIX, moto_s3.endpoint).returncode == 0
    collection = small_disk / "collection"
    full = cli(collection, bucket_name, PREFIX, moto_s3.endpoint)
    assert full.returncode == 1, full.stderr
    assert "Traceback" not in full.stderr
    (line,) = errors(full.stderr)
    assert "No space left on device" in line and str(collection / "coverage") in line
    named = line.removeprefix("error: Couldn't write ").split(": No space")[0]
    assert not Path(named).name.startswith(".tmp-") and ".partial-" not in named
    assert leftovers(collection) == []
    assert_entries_complete(collection)
    grown = subprocess.run(
        ["mount", "-o", "remount,size=16m", str(small_disk)], capture_output=True, check=False
    )
    assert grown.returncode == 0, grown.stderr
    again = cli(collection, bucket_name, PREFIX, moto_s3.endpoint)
    assert again.returncode == 0, again.stderr
    assert tree(collection) == tree(clean)
    assert leftovers(collection) == []


# --------------------------------------------------------------------------------------------
# Keys from the cluster


def test_refused_keys_are_named_and_everything_else_downloads(
    moto_s3: MotoServer, s3_env: S3Env, s3: Any, bucket_name: str, tmp_path: Path
) -> None:
    # Traversal, an escape sequence and a 300-character pod are refused by key (escaped on
    # the terminal), counted, and the exit status is 1; a namespace made of markup and a pod
    # with spaces are names like any other and download.
    markup = "evil|ns`<b>x<&b>"
    good = {**pod_objects("api-0"), **pod_objects("a pod", namespace=markup)}
    bad = {
        **pod_objects(".."),
        **pod_objects("esc\x1b[31m-0"),
        **pod_objects("p" * 300),
    }
    put(s3, bucket_name, {**good, **bad})
    collection = tmp_path / "collection"
    done = cli(collection, bucket_name, PREFIX, moto_s3.endpoint)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "\x1b" not in done.stderr
    assert f"refused keys: {len(bad)}" in done.stderr
    refused = [line for line in done.stderr.splitlines() if "refused: " in line]
    assert len(refused) == len(bad)
    for key in bad:
        shown = key.replace("\x1b", "\\x1b")
        assert any(shown in line for line in refused), key
    assert any("pod: control character U+001B" in line for line in refused)
    assert any("pod: is '..'" in line for line in refused)
    assert any("pod: longer than 253 characters" in line for line in refused)
    names = {
        (m["namespace"], m["pod_name"])
        for m in (json.loads((d / "metadata.json").read_text()) for d in entry_dirs(collection))
    }
    assert names == {("shop", "api-0"), (markup, "a pod")}


def test_two_spellings_of_one_discovery_time_are_two_instances(
    moto_s3: MotoServer, s3_env: S3Env, s3: Any, bucket_name: str, tmp_path: Path
) -> None:
    # `20260318T091249Z` and `2026318T91249Z`, same pod, same pid: two counter files.
    objects = {}
    for discovery in (DISCOVERY, "2026318T91249Z"):
        for name in (f"covmeta.{H}", f"covcounters.{H}.4242.1"):
            key = pod_key("shop", "api-0", name, discovery=discovery)
            objects[key] = noise(64, discovery + name)
    put(s3, bucket_name, objects)
    collection = tmp_path / "collection"
    assert cli(collection, bucket_name, PREFIX, moto_s3.endpoint).returncode == 0
    (directory,) = entry_dirs(collection)
    counters = sorted(directory.glob("covcounters.*"))
    assert len(counters) == 2
    assert {c.read_bytes() for c in counters} == {
        objects[pod_key("shop", "api-0", f"covcounters.{H}.4242.1", discovery=d)]
        for d in (DISCOVERY, "2026318T91249Z")
    }
    meta = json.loads((directory / "metadata.json").read_text())
    assert sorted(i["discovery_time"] for i in meta["instances"]) == [DISCOVERY, "2026318T91249Z"]


# --------------------------------------------------------------------------------------------
# Object size


def options(collection: Path, bucket: str, endpoint: str, **extra: Any) -> download.Options:
    return download.Options(
        collection=str(collection),
        bucket=bucket,
        prefixes=(PREFIX,),
        endpoint_url=endpoint,
        region="us-east-1",
        **extra,
    )


def test_an_object_over_the_cap_is_refused_by_key(
    moto_s3: MotoServer, s3_env: S3Env, s3: Any, bucket_name: str, tmp_path: Path
) -> None:
    # The cap applies to the listed size and to what the server then sends (an object
    # replaced between listing and fetching); the rest of the entry still arrives.
    objects = pod_objects("api-0", size=500)
    big = pod_key("shop", "api-0", f"covmeta.{H}")
    objects[big] = noise(5000, "big")
    put(s3, bucket_name, objects)
    collection = tmp_path / "collection"
    summary = download.run(
        options(collection, bucket_name, moto_s3.endpoint, max_object_bytes=1000)
    )
    assert [key for key, _ in summary.failed] == [big]
    assert summary.failed[0][1] == "larger than the 1000 bytes limit (5000 bytes)"
    assert summary.downloaded == 2 and leftovers(collection) == []
    assert "\n".join(summary.lines()).count(big) == 1

    class ListsSmall(download.ObjectStore):
        def list(self, prefix: str) -> list[RemoteObject]:
            return [replace(o, size=min(o.size, 10)) for o in super().list(prefix)]

    opts = options(tmp_path / "other", bucket_name, moto_s3.endpoint, max_object_bytes=1000)
    lying = download.run(opts, store=ListsSmall(opts))
    assert [key for key, _ in lying.failed] == [big]
    assert lying.failed[0][1] == "larger than the 1000 bytes limit (5000 bytes)"
    assert leftovers(tmp_path / "other") == []


def test_objects_stream_to_disk_in_bounded_chunks(
    moto_s3: MotoServer,
    s3_env: S3Env,
    s3: Any,
    bucket_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 3 MiB object is never read whole: no read asks for more than a chunk.
    monkeypatch.setattr(download_store, "CHUNK_BYTES", 64 << 10)
    objects = pod_objects("api-0", size=3 << 20)
    put(s3, bucket_name, objects)
    reads: list[int | None] = []

    class Recording(download.ObjectStore):
        def __init__(self, opts: download.Options) -> None:
            super().__init__(opts)
            get_object = self.client.get_object

            def recording_get(**kwargs: Any) -> Any:
                response = get_object(**kwargs)
                body = response["Body"]
                read = body.read

                def counted(amt: int | None = None) -> bytes:
                    reads.append(amt)
                    return read(amt)

                body.read = counted
                return response

            self.client.get_object = recording_get  # type: ignore[method-assign]

    opts = options(tmp_path / "collection", bucket_name, moto_s3.endpoint)
    summary = download.run(opts, store=Recording(opts))
    assert summary.ok, summary.failed
    assert reads and all(amt is not None and amt <= 64 << 10 for amt in reads)
    (directory,) = entry_dirs(tmp_path / "collection")
    assert (directory / f"covmeta.{H}").read_bytes() == objects[
        pod_key("shop", "api-0", f"covmeta.{H}")
    ]
