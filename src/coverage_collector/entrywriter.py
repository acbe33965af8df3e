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
from dataclasses import field as dataclass_field
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


@dataclass
class _EntryState:
    """What the writer knows of one entry directory while it writes it."""

    path: str
    placement: Placement
    instances: dict[str, RecordedInstance]
    """Listed in `metadata.json`, by counter file (read once, then kept here)."""
    written: dict[str, bytes]
    """Small files (meta, info) as last written, so an unchanged one is not rewritten."""
    dirty: bool = False
    """`metadata.json` lags behind `instances` (a newer snapshot of a listed instance)."""
    lock: threading.Lock = dataclass_field(default_factory=threading.Lock)


class EntryWriter:
    """Writes entries of one collection; safe to call from several threads (one lock per
    entry, so two servers of one entry never interleave their `metadata.json` updates).

    A collector writes the same entries many times a minute: each entry's `metadata.json`
    is read once, and rewritten when an instance appears (so it never lists a file that is
    not there, nor leaves one out); a newer snapshot of a listed instance only marks it
    stale, and `flush` (or `write(..., flush=True)`) brings it up to date.
    """

    def __init__(self, collection: str) -> None:
        self.collection = Collection(collection)
        os.makedirs(self.collection.coverage, exist_ok=True)
        self._names = DirNames(collection)
        self._lock = threading.Lock()
        self._entries: dict[EntryId, _EntryState] = {}

    def directory(self, entry: EntryId) -> str:
        """The entry directory of `entry` (named once, then always the same)."""
        with self._lock:
            return self.collection.entry(self._names.name(entry))

    def _state(self, placement: Placement) -> _EntryState:
        with self._lock:
            state = self._entries.get(placement.entry)
            if state is None:
                path = self.collection.entry(self._names.name(placement.entry))
                state = _EntryState(path, placement, _listed(path), {})
                self._entries[placement.entry] = state
            return state

    def write(
        self,
        placement: Placement,
        meta_hash: str,
        meta: bytes,
        instances: list[InstanceSnapshot],
        info: bytes | None = None,
        replaces: list[str] | None = None,
        *,
        flush: bool = True,
    ) -> str:
        """Write the binary `meta_hash` (its `meta` bytes) and `instances` into the entry of
        `placement`; `info` is the `info.json` to keep (None: leave what is there);
        `replaces` names counter files the new ones supersede (removed before
        `metadata.json` stops listing them). Without `flush`, `metadata.json` is rewritten
        only when the instances listed change.

        Returns the entry's directory. DataError names a file that could not be written.
        """
        state = self._state(placement)
        path = state.path
        with state.lock:
            state.placement = placement
            _write_once(state, f"covmeta.{meta_hash}", meta)
            if info is not None:
                _write_once(state, INFO_FILE, info)
            listed_before = set(state.instances)
            for instance in instances:
                name = instance.file_name(meta_hash)
                outputs.write_bytes(os.path.join(path, name), instance.counters)
                state.instances[name] = _recorded(instance, meta_hash)
            for name in replaces or ():
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(path, name))
                state.instances.pop(name, None)
            state.dirty = True
            if flush or set(state.instances) != listed_before:
                _flush(state)
        return path

    def flush(self) -> None:
        """Bring every stale `metadata.json` up to date."""
        with self._lock:
            states = list(self._entries.values())
        for state in states:
            with state.lock:
                if state.dirty:
                    _flush(state)


def _listed(path: str) -> dict[str, RecordedInstance]:
    """The instances the entry at `path` lists whose files are there (none when new)."""
    try:
        listed = read_metadata(path).instances
    except EntryFileError:
        return {}
    return {i.counter_file: i for i in listed if os.path.exists(os.path.join(path, i.counter_file))}


def _write_once(state: _EntryState, name: str, data: bytes) -> None:
    """Write a small file of the entry unless this writer (or an earlier run) already has."""
    if state.written.get(name) == data:
        return
    _write_if_changed(os.path.join(state.path, name), data)
    state.written[name] = data


def _flush(state: _EntryState) -> None:
    _metadata(state.placement, list(state.instances.values())).write(state.path)
    state.dirty = False


def _recorded(instance: InstanceSnapshot, meta_hash: str) -> RecordedInstance:
    return RecordedInstance(
        counter_file=instance.file_name(meta_hash),
        discovery_time=discovery_time(instance.started_ns),
        pid=instance.pid,
        last_modified=rfc3339(datetime.fromtimestamp(instance.taken_ns / 1e9, UTC)),
    )


def _metadata(placement: Placement, listed: list[RecordedInstance]) -> EntryMetadata:
    """The entry's `metadata.json` for its instances, with the times derived from them as
    download derives them."""
    instances = sorted(listed, key=lambda i: (i.discovery_time, i.counter_file))
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
