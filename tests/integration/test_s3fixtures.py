"""Sanity checks of the S3 test infrastructure: moto server, producer bucket, fault proxy."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.faultproxy import DROPPED, FAILED, FaultProxy
from tests.helpers.s3fixtures import (
    NODES,
    SECRET_SENTINEL,
    BucketSpec,
    MotoServer,
    S3Env,
    build_bucket,
    expected_textfmt,
    list_keys,
    s3_client,
    textfmt_of,
    toggle_snapshot,
)

PREFIX = "openshift-ci/coverage/ci-op-sanity"


@pytest.fixture(scope="module")
def shared_bucket(
    moto_s3: MotoServer, go_toolchain: Path, tmp_path_factory: pytest.TempPathFactory
) -> BucketSpec:
    """One read-only bucket for the checks of this module."""
    client = s3_client(moto_s3.endpoint)
    return build_bucket(
        client, "sanity-shared", PREFIX + "/", tmp_path_factory.mktemp("s3"), go=go_toolchain
    )


def test_moto_server_up(moto_s3: MotoServer, s3: Any) -> None:
    with urllib.request.urlopen(moto_s3.endpoint + "/moto-api/", timeout=5) as resp:
        assert resp.status == 200
    s3.create_bucket(Bucket="sanity-empty")
    assert "sanity-empty" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert moto_s3.log_path.exists()


def test_s3_env(s3_env: S3Env) -> None:
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == SECRET_SENTINEL == s3_env.secret_key
    assert os.environ["AWS_ACCESS_KEY_ID"] == s3_env.access_key
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
    for gone in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        assert gone not in os.environ
    assert not Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).exists()


def test_bucket_layout(s3: Any, shared_bucket: BucketSpec) -> None:
    spec = shared_bucket
    assert spec.prefix == PREFIX
    listed = set(list_keys(s3, spec.bucket, spec.key_prefix))
    entry_keys = {k for e in spec.entries for k in e.object_keys()}
    assert listed == entry_keys | set(spec.unexpected_keys)
    assert all(k.startswith(spec.key_prefix) for k in listed)
    everything = set(list_keys(s3, spec.bucket))
    assert set(spec.outside_keys) <= everything
    assert not set(spec.outside_keys) & listed

    assert 15 <= len(spec.entries) <= 25
    assert {e.host for e in spec.entries} == set(NODES)
    assert len({e.meta_hash for e in spec.entries}) == 2
    assert sum(e.host_process for e in spec.entries) >= 2
    assert sum(e.info is None for e in spec.entries) == 1
    assert len(spec.hostile_entries) >= 8
    assert {i.newest_slot for i in spec.instances} == {1, 2}
    assert max(len(e.dir_keys) for e in spec.entries) == 3  # restarted twice
    assert any(len(e.instances) > len(e.dir_keys) for e in spec.entries)  # 2 pids, 1 dir
    pods = [e.pod for e in spec.entries]
    assert "pod:a" in pods and "pod_a" in pods and ".." in {e.namespace for e in spec.entries}
    assert any(len(p) == 300 for p in pods)

    for e in spec.entries:
        seg = 4 if e.host_process else 7
        for i in e.instances:
            rel = i.newest_key.removeprefix(spec.key_prefix)
            assert len(rel.split("/")) == seg + 1
            assert rel.split("/")[-1].startswith(f"covcounters.{e.meta_hash}.{i.pid}.")
            assert i.discovery_time in i.dir_key
        assert e.meta_bytes[24:40].hex() == e.meta_hash
        assert e.meta_key.endswith(f"/covmeta.{e.meta_hash}")
        assert s3.get_object(Bucket=spec.bucket, Key=e.meta_key)["Body"].read() == e.meta_bytes
        if e.info is not None:
            key = e.latest.dir_key + "info.json"
            info = json.loads(s3.get_object(Bucket=spec.bucket, Key=key)["Body"].read())
            assert info == e.info
            assert set(info) == {
                "binary",
                "host",
                "port",
                "pid",
                "source_url",
                "source_commit",
                "software_group",
                "software_key",
            }
            assert info["pid"] == (0 if e.host_process else e.latest.pid)
    inst = spec.entries[0].latest
    assert s3.get_object(Bucket=spec.bucket, Key=inst.newest_key)["Body"].read() == (
        inst.newest_bytes
    )


def test_newest_by_last_modified(s3: Any, shared_bucket: BucketSpec) -> None:
    spec = shared_bucket
    modified = {
        o["Key"]: o["LastModified"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=spec.bucket, Prefix=spec.key_prefix
        )
        for o in page["Contents"]
    }
    for i in spec.instances:
        assert modified[i.newest_key] == i.last_modified
        assert modified[i.newest_key] > modified[i.older_key]
        assert i.newest_bytes != i.older_bytes


def test_expected_textfmt(shared_bucket: BucketSpec, go_toolchain: Path, tmp_path: Path) -> None:
    restarted = max(shared_bucket.entries, key=lambda e: len(e.dir_keys))
    text = expected_textfmt(restarted, go_toolchain, tmp_path)
    assert text.startswith(b"mode: atomic\n")
    assert len(text.splitlines()) > 10
    latest_only = expected_textfmt(restarted, go_toolchain, tmp_path, [restarted.latest])
    assert latest_only != text
    inst = restarted.latest
    older = textfmt_of(restarted.meta_bytes, [(inst.pid, inst.older_bytes)], go_toolchain, tmp_path)
    assert older != latest_only
    assert older.splitlines()[0] == latest_only.splitlines()[0] == b"mode: atomic"
    for e in shared_bucket.hostile_entries[:2]:
        assert expected_textfmt(e, go_toolchain, tmp_path).startswith(b"mode: atomic\n")


def test_toggle_and_replace(s3: Any, s3_bucket: BucketSpec) -> None:
    spec = s3_bucket
    inst = spec.entries[0].latest
    old_newest, old_lm = inst.newest_key, inst.last_modified
    later = inst.next_bytes
    key = toggle_snapshot(s3, spec, inst)
    assert key != old_newest and inst.newest_key == key and inst.older_key == old_newest
    assert inst.newest_bytes == later and inst.last_modified > old_lm
    head = s3.head_object(Bucket=spec.bucket, Key=key)
    assert head["LastModified"] == inst.last_modified
    with pytest.raises(ValueError, match="no later snapshot"):
        toggle_snapshot(s3, spec, inst)


def test_fault_proxy_list_get(moto_s3: MotoServer, shared_bucket: BucketSpec) -> None:
    spec = shared_bucket
    with FaultProxy(moto_s3.endpoint, fail_ratio=0.3, drop_ratio=0.1, seed=7) as proxy:
        client = s3_client(proxy.endpoint, max_attempts=15, timeout=5)
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=spec.bucket, Prefix=spec.key_prefix, PaginationConfig={"PageSize": 20}
        ):
            keys.extend(o["Key"] for o in page["Contents"])
        assert set(keys) == set(list_keys(s3_client(moto_s3.endpoint), spec.bucket, PREFIX + "/"))
        for inst in spec.instances[:12]:
            body = client.get_object(Bucket=spec.bucket, Key=inst.newest_key)["Body"].read()
            assert body == inst.newest_bytes
            head = client.head_object(Bucket=spec.bucket, Key=inst.newest_key)
            assert head["ContentLength"] == len(inst.newest_bytes)
        assert proxy.failed > 0 and proxy.dropped > 0
        assert proxy.forwarded >= 24 + 1
        assert proxy.total == proxy.forwarded + proxy.failed + proxy.dropped
        assert any(r.outcome == FAILED for r in proxy.requests)
        assert any(r.outcome == DROPPED for r in proxy.requests)


def test_fault_proxy_put_and_hostile_keys(moto_s3: MotoServer, shared_bucket: BucketSpec) -> None:
    with FaultProxy(moto_s3.endpoint, fail_ratio=0.25, drop_ratio=0.1, seed=3) as proxy:
        client = s3_client(proxy.endpoint, max_attempts=15, timeout=5)
        client.create_bucket(Bucket="sanity-proxy-put")
        for n, key in enumerate(["a/b.txt", "p/pöd with spaces ☃/x", "p/../y", "p/q%2Fr/z"]):
            client.put_object(Bucket="sanity-proxy-put", Key=key, Body=b"v" * (n + 1) * 1000)
            got = client.get_object(Bucket="sanity-proxy-put", Key=key)["Body"].read()
            assert got == b"v" * (n + 1) * 1000
        for e in shared_bucket.hostile_entries:
            body = client.get_object(Bucket=shared_bucket.bucket, Key=e.meta_key)["Body"].read()
            assert body == e.meta_bytes
        assert proxy.failed + proxy.dropped > 0


def test_fault_proxy_records_without_faults(moto_s3: MotoServer, shared_bucket: BucketSpec) -> None:
    with FaultProxy(moto_s3.endpoint, fail_ratio=0, drop_ratio=0) as proxy:
        client = s3_client(proxy.endpoint)
        inst = shared_bucket.instances[0]
        client.get_object(Bucket=shared_bucket.bucket, Key=inst.newest_key)["Body"].read()
        gets = [r for r in proxy.requests if r.is_object_get]
        assert [r.path for r in gets] == [f"/{shared_bucket.bucket}/{inst.newest_key}"]
        assert proxy.failed == proxy.dropped == 0
