"""Entries written straight into a collection, exactly as `cluster download` leaves them.

`cluster import` (GOCOVERDIR directories) and `collect --collection` (live coverage
servers) have no S3 in between: they hand this module a binary's meta-data and the newest
snapshot of each process instance, and it writes

    coverage/<entry>/covmeta.<H>                        once
    coverage/<entry>/covcounters.<H>.<pid>.<start-ns>   one per instance, newest snapshot
    coverage/<entry>/info.json                          when the producer knows one
    coverage/<entry>/metadata.json                      last, listing every instance

in the directory `entrydirs` gives the identity, so compile (and a later download of the
same identity) needs nothing new. Every file is written atomically; `metadata.json` is
written after the files it lists, so a kill leaves an entry compile reads as it was or as
it is now, never one listing a file that is not there.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from coverage_collector import outputs
from coverage_collector.collection import (
    DISCOVERY_FORMAT,
    INFO_FILE,
    Collection,
    EntryFileError,
    EntryMetadata,
    RecordedInstance,
    read_metadata,
    rfc3339,
)
from coverage_collector.entrydirs import DirNames, EntryId


@dataclass(frozen=True)
class Placement:
    """Who ran the binary (the entry's identity) and what else the producer knows of it."""

    entry: EntryId
    image: str = ""
    owner_kind: str = ""
    owner_name: str = ""


@dataclass(frozen=True)
class InstanceSnapshot:
    """The newest snapshot of one process instance."""

    pid: int
    started_ns: int
    """When the instance was first seen (Unix nanoseconds): names its counter file, so a
    newer snapshot of the same instance replaces the older one instead of adding to it."""
    taken_ns: int
    """When this snapshot was taken (Unix nanoseconds)."""
    counters: bytes

    def file_name(self, meta_hash: str) -> str:
        """The counter file's name, one `go tool covdata` reads."""
        return f"covcounters.{meta_hash}.{self.pid}.{self.started_ns}"


def discovery_time(nanoseconds: int) -> str:
    """Unix nanoseconds in the producer's discovery format (`YYYYMMDDTHHMMSSZ`)."""
    return datetime.fromtimestamp(nanoseconds // 1_000_000_000, UTC).strftime(DISCOVERY_FORMAT)


class EntryWriter:
    """Writes entries of one collection; safe to call from several threads (one lock per
    entry, so two servers of one entry never interleave their `metadata.json` updates)."""

    def __init__(self, collection: str) -> None:
        self.collection = Collection(collection)
        os.makedirs(self.collection.coverage, exist_ok=True)
        self._names = DirNames(collection)
        self._lock = threading.Lock()
        self._entry_locks: dict[EntryId, threading.Lock] = {}

    def directory(self, entry: EntryId) -> str:
        """The entry directory of `entry` (named once, then always the same)."""
        with self._lock:
            return self.collection.entry(self._names.name(entry))

    def write(
        self,
        placement: Placement,
        meta_hash: str,
        meta: bytes,
        instances: list[InstanceSnapshot],
        info: bytes | None = None,
        replaces: list[str] | None = None,
    ) -> str:
        """Write the binary `meta_hash` (its `meta` bytes) and `instances` into the entry of
        `placement`; `info` is the `info.json` to keep (None: leave what is there);
        `replaces` names counter files the new ones supersede (removed before
        `metadata.json` stops listing them).

        Returns the entry's directory. DataError names a file that could not be written.
        """
        path = self.directory(placement.entry)
        with self._lock:
            lock = self._entry_locks.setdefault(placement.entry, threading.Lock())
        with lock:
            _write_if_changed(os.path.join(path, f"covmeta.{meta_hash}"), meta)
            for instance in instances:
                target = os.path.join(path, instance.file_name(meta_hash))
                _write_if_changed(target, instance.counters)
            if info is not None:
                _write_if_changed(os.path.join(path, INFO_FILE), info)
            for name in replaces or ():
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(path, name))
            recorded = [_recorded(i, meta_hash) for i in instances]
            _metadata(path, placement, recorded).write(path)
        return path


def _recorded(instance: InstanceSnapshot, meta_hash: str) -> RecordedInstance:
    return RecordedInstance(
        counter_file=instance.file_name(meta_hash),
        discovery_time=discovery_time(instance.started_ns),
        pid=instance.pid,
        last_modified=rfc3339(datetime.fromtimestamp(instance.taken_ns / 1e9, UTC)),
    )


def _metadata(path: str, placement: Placement, new: list[RecordedInstance]) -> EntryMetadata:
    """The entry's `metadata.json`: the instances it listed (whose files are still here),
    updated by `new`, and the times derived from them as download derives them."""
    try:
        listed = read_metadata(path).instances
    except EntryFileError:
        listed = ()
    by_file = {
        i.counter_file: i for i in listed if os.path.exists(os.path.join(path, i.counter_file))
    }
    by_file.update((i.counter_file, i) for i in new)
    instances = sorted(by_file.values(), key=lambda i: (i.discovery_time, i.counter_file))
    entry = placement.entry
    first = min((i.first_seen for i in instances), default="")
    last = max((i.last_modified for i in instances), default="")
    return EntryMetadata(
        pod_name=entry.pod,
        namespace=entry.namespace,
        container_name=entry.container,
        image=placement.image,
        binary_name=entry.binary,
        hostname=entry.host,
        host_process=entry.host_process,
        collected_at=max((i.first_seen for i in instances), default=""),
        first_seen=first,
        last_seen=last,
        owner_kind=placement.owner_kind,
        owner_name=placement.owner_name,
        cluster=entry.cluster,
        instances=tuple(instances),
    )


def _write_if_changed(path: str, data: bytes) -> None:
    """Write `path` atomically unless it already holds exactly `data`."""
    try:
        with open(path, "rb") as handle:
            if handle.read(len(data) + 1) == data:
                return
    except OSError:
        pass
    outputs.write_bytes(path, data)
