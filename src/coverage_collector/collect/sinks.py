"""Where snapshots go: a local collection, or S3 in the producer's layout.

`LocalSink` writes entries as `cluster download` leaves them (`entrywriter`). `S3Sink`
uploads what ART's producer uploads (reference-tool §3.3), so `cluster download` reads it
back unchanged:

    {host}/_host_/{discoveryTime}/{binary}/covmeta.<H>                once
    {host}/_host_/{discoveryTime}/{binary}/covcounters.<H>.<pid>.<1|2>  each snapshot, toggling
    {host}/_host_/{discoveryTime}/{binary}/info.json                  once

and `{host}/{ns}/{pod}/{container}/{discoveryTime}/{image}/{binary}/` for pods' servers
(the toggle: a torn upload never replaces the only copy of the newest snapshot).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from coverage_collector.collect.protocol import ServerIdentity, Snapshot
from coverage_collector.entrydirs import EntryId
from coverage_collector.entrywriter import (
    EntryWriter,
    InstanceSnapshot,
    Placement,
    discovery_time,
)
from coverage_collector.exceptions import CollectorError

HOST_MARKER = "_host_"
_UNSAFE_KEY = re.compile(r"[/:@]")


@dataclass
class Instance:
    """One process instance of a server, as the sinks see it."""

    entry: EntryId
    identity: ServerIdentity
    address: str
    port: int
    discovered_ns: int
    """When the collector first saw this instance (Unix nanoseconds)."""
    image: str = ""
    owner_kind: str = ""
    owner_name: str = ""
    meta_hash: str = ""
    meta: bytes = b""
    snapshots: int = 0
    uploaded: set[str] = field(default_factory=set)
    """Keys this instance already uploaded once (meta, info)."""


class Sink(Protocol):
    def write(self, instance: Instance, snapshot: Snapshot) -> None:
        """Store `snapshot`, the newest of `instance` (its meta-data is on the instance)."""

    def flush(self) -> None:
        """Finish what `write` left for later (the end of a run, or now and then)."""


class LocalSink:
    """Snapshots into `<collection>/coverage/<entry>/`."""

    def __init__(self, collection: str) -> None:
        self.writer = EntryWriter(collection)

    def write(self, instance: Instance, snapshot: Snapshot) -> None:
        started = instance.discovered_ns // 1_000_000_000 * 1_000_000_000
        self.writer.write(
            Placement(instance.entry, instance.image, instance.owner_kind, instance.owner_name),
            instance.meta_hash,
            instance.meta,
            [InstanceSnapshot(snapshot.pid, started, snapshot.timestamp_ns, snapshot.counters)],
            info=instance.identity.info_json(instance.address, instance.port),
            flush=False,
        )

    def flush(self) -> None:
        """Bring the entries' `metadata.json` up to date with the newest snapshots."""
        self.writer.flush()


class UploadError(CollectorError):
    """An object could not be put into the bucket."""


def sanitized(value: str) -> str:
    """A value as the producer puts it in a key: `/`, `:` and `@` become `-`, leading dashes
    go, and nothing left is `unknown`."""
    return _UNSAFE_KEY.sub("-", value).lstrip("-") or "unknown"


class S3Sink:
    """Snapshots into a bucket, under `prefix`, in the producer's layout."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self._lock = threading.Lock()

    def directory(self, instance: Instance) -> str:
        """The key prefix of the instance's files: `{host}/_host_/{time}/{binary}/` for a
        host process, `{host}/{ns}/{pod}/{container}/{time}/{image}/{binary}/` for a pod's."""
        entry = instance.entry
        when = discovery_time(instance.discovered_ns)
        binary = sanitized(entry.binary)
        if entry.host_process:
            return f"{self.prefix}{entry.host}/{HOST_MARKER}/{when}/{binary}/"
        pod = f"{entry.host}/{entry.namespace}/{entry.pod}/{entry.container}"
        return f"{self.prefix}{pod}/{when}/{sanitized(instance.image)}/{binary}/"

    def write(self, instance: Instance, snapshot: Snapshot) -> None:
        base = self.directory(instance)
        meta_key = f"{base}covmeta.{instance.meta_hash}"
        if meta_key not in instance.uploaded:
            self._put(meta_key, instance.meta)
            instance.uploaded.add(meta_key)
        toggle = 1 + instance.snapshots % 2
        name = f"covcounters.{instance.meta_hash}.{snapshot.pid}.{toggle}"
        self._put(base + name, snapshot.counters)
        info_key = f"{base}info.json"
        if info_key not in instance.uploaded:
            self._put(info_key, instance.identity.info_json(instance.address, instance.port))
            instance.uploaded.add(info_key)

    def flush(self) -> None:
        """Nothing waits: every snapshot is uploaded as it is taken."""

    def _put(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        except Exception as exc:  # noqa: BLE001 - botocore's many errors, named here once
            raise UploadError(f"Couldn't upload s3://{self.bucket}/{key}: {exc}") from None
