"""The keys `collect --upload` writes are the producer's: download's own layout rules
(`download.layout.classify`) read them back as the same entry."""

from __future__ import annotations

from datetime import UTC, datetime

from coverage_collector.collect.protocol import ServerIdentity, Snapshot
from coverage_collector.collect.sinks import Instance, S3Sink
from coverage_collector.download.layout import RemoteObject, classify, plan_entries
from coverage_collector.entrydirs import EntryId

H = "ab" * 16
DISCOVERED = int(datetime(2026, 3, 18, 9, 12, 4, tzinfo=UTC).timestamp()) * 1_000_000_000


class Recorder:
    """An S3 client that records `put_object` calls (the keys are what is tested here;
    test_collect.py uploads to a real S3 server)."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> None:  # noqa: N803
        self.keys.append(Key)


def uploaded(entry: EntryId, image: str = "") -> list[str]:
    client = Recorder()
    sink = S3Sink(client, "bucket", "ci/cluster-1/")
    instance = Instance(entry, ServerIdentity(42, entry.binary), "10.0.0.5", 53700, DISCOVERED)
    instance.image, instance.meta_hash, instance.meta = image, H, b"meta"
    for _ in range(3):
        sink.write(instance, Snapshot(H, b"", 42, b"counters", 0))
        instance.snapshots += 1
    return client.keys


def test_pod_keys_are_read_back_as_the_same_entry() -> None:
    entry = EntryId("node-1", "shop", "api-0", "server", "api", False)
    keys = uploaded(entry, image="quay.io/shop/api@sha256:00")
    base = "ci/cluster-1/node-1/shop/api-0/server/20260318T091204Z/quay.io-shop-api-sha256-00/api/"
    assert keys == [
        f"{base}covmeta.{H}",
        f"{base}covcounters.{H}.42.1",
        f"{base}info.json",
        f"{base}covcounters.{H}.42.2",
        f"{base}covcounters.{H}.42.1",
    ]
    when = datetime(2026, 3, 18, 10, tzinfo=UTC)
    listing = classify([RemoteObject(k, 1, "e", when) for k in set(keys)], "ci/cluster-1/")
    assert not listing.unexpected and not listing.refused
    [plan] = plan_entries(listing.located)
    assert plan.entry == entry
    assert len(plan.instances) == 1  # the two toggles are one process's snapshots


def test_host_keys_are_read_back_as_the_same_entry() -> None:
    entry = EntryId("node-1", "", "node-1", "", "kubelet", True)
    keys = uploaded(entry)
    assert keys[0] == f"ci/cluster-1/node-1/_host_/20260318T091204Z/kubelet/covmeta.{H}"
    when = datetime(2026, 3, 18, 10, tzinfo=UTC)
    listing = classify([RemoteObject(k, 1, "e", when) for k in set(keys)], "ci/cluster-1/")
    [plan] = plan_entries(listing.located)
    assert plan.entry == entry
