"""`cluster download`: S3 to `<collection>/coverage/`, incremental, resumable, nothing lost.

The only module that imports boto3. Objects are listed once, sorted by `s3layout` into
entries and process instances, and only what changed since the last run (by key, ETag
and size, remembered per entry in `.download-state.json`) is fetched, many objects at
a time. Every file is written under a temporary name and renamed, and an entry's
state and `metadata.json` are written after its files, so an interrupted run leaves
no half files and the next run finishes the job.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from coverage_collector import logs
from coverage_collector.collection import COVERAGE_DIR, list_entries, read_json_object
from coverage_collector.exceptions import CollectorError
from coverage_collector.progress import Reporter
from coverage_collector.s3layout import (
    MAX_NAME,
    EntryId,
    EntryPlan,
    RemoteObject,
    classify,
    depth_hint,
    hashed_dir_name,
    normalise_prefix,
    parse_discovery,
    plain_dir_name,
    plan_entries,
    rfc3339,
)

STATE_FILE = ".download-state.json"
TEMPORARY_PREFIX = ".tmp-"
STATE_FORMAT = 1
FETCH_ATTEMPTS = 5
log = logs.get_logger(__name__)


class FetchError(CollectorError):
    """S3 could not be listed or an object could not be fetched."""


@dataclass(frozen=True)
class DownloadOptions:
    """What `cluster download` was asked to do."""

    collection: str
    bucket: str
    prefix: str
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    skip_existing: bool = False
    max_concurrency: int = 8


@dataclass
class DownloadSummary:
    """What a download did, for the summary and the exit status."""

    pod_entries: int = 0
    host_entries: int = 0
    instances: int = 0
    downloaded: int = 0
    downloaded_bytes: int = 0
    unchanged: int = 0
    skipped_entries: int = 0
    unexpected: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def lines(self) -> list[str]:
        """Return the human summary."""
        lines = [
            f"entries: {self.pod_entries} containers, {self.host_entries} host processes, "
            f"{self.instances} process instances",
            f"files: {self.downloaded} downloaded ({self.downloaded_bytes} bytes), "
            f"{self.unchanged} unchanged; {self.skipped_entries} entries skipped",
            f"unexpected keys: {len(self.unexpected)}",
        ]
        lines.extend(f"  unexpected: {key!r}" for key in self.unexpected[:10])
        if len(self.unexpected) > 10:
            lines.append(f"  ... and {len(self.unexpected) - 10} more (all in the log file)")
        lines.append(f"failed: {len(self.failed)}")
        lines.extend(f"  failed: {key!r}: {reason}" for key, reason in self.failed)
        return lines


class ObjectStore:
    """A bucket, through boto3's standard credential chain (profile, env, SSO, roles...)."""

    def __init__(
        self, options: DownloadOptions, credentials: tuple[str, str] | None = None
    ) -> None:
        import boto3
        from botocore.config import Config

        key_id, secret = credentials or (None, None)
        session = boto3.Session(
            profile_name=options.profile,
            region_name=options.region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )
        config = Config(
            retries={"max_attempts": 8, "mode": "standard"},
            max_pool_connections=max(options.max_concurrency * 2, 10),
            connect_timeout=10,
            read_timeout=60,
        )
        self.bucket = options.bucket
        self.client = session.client("s3", endpoint_url=options.endpoint_url, config=config)

    def list(self, prefix: str) -> list[RemoteObject]:
        """Return every object under `prefix`."""
        objects = []
        try:
            pages = self.client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    objects.append(
                        RemoteObject(
                            item["Key"],
                            int(item["Size"]),
                            item.get("ETag", "").strip('"'),
                            item["LastModified"],
                        )
                    )
        except Exception as exc:  # noqa: BLE001 - botocore's many errors, named here once
            raise FetchError(
                f"Couldn't list s3://{self.bucket}/{prefix}: {_reason(exc)}", hint=_hint(exc)
            ) from None
        return objects

    def fetch(self, obj: RemoteObject) -> bytes:
        """Return the body of `obj`, retrying transient failures with backoff."""
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=obj.key)
                data: bytes = response["Body"].read()
                if len(data) != obj.size and response.get("ContentLength") != len(data):
                    raise OSError(f"short body: {len(data)} of {obj.size} bytes")
                return data
            except Exception as exc:  # noqa: BLE001 - retried, then reported by key
                if attempt == FETCH_ATTEMPTS or not _transient(exc):
                    raise FetchError(f"{_reason(exc)} (after {attempt} attempts)") from None
                time.sleep(min(0.2 * 2**attempt, 5.0) * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', '?')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def _hint(exc: Exception) -> str | None:
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return "set AWS credentials (AWS_ACCESS_KEY_ID/..., --profile, or an instance role)"
    if name == "EndpointConnectionError":
        return "check --endpoint-url / AWS_ENDPOINT_URL and the network"
    return None


def _transient(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or status in (408, 429)
    return True  # connection resets, timeouts, short bodies


def download(options: DownloadOptions, store: ObjectStore | None = None) -> DownloadSummary:
    """Bring `<collection>/coverage/` up to date with the bucket; return what happened.

    Raises FetchError when the bucket cannot be listed; per-object failures are
    reported in the summary and the other objects go on.
    """
    store = store or ObjectStore(options)
    prefix = normalise_prefix(options.prefix)
    log.info("listing s3://%s/%s", options.bucket, prefix)
    listing = classify(store.list(prefix), prefix)
    summary = DownloadSummary(unexpected=listing.unexpected)
    for key in listing.unexpected:
        log.debug("unexpected key %r", key)
    hint = depth_hint(listing, prefix)
    if hint:
        raise FetchError(f"Couldn't find coverage data in s3://{options.bucket}/{prefix}: {hint}")
    root = os.path.join(options.collection, COVERAGE_DIR)
    os.makedirs(root, exist_ok=True)
    plans = plan_entries(listing.located)
    names = assign_dir_names(options.collection, [p.entry for p in plans])
    jobs = []
    for plan in plans:
        summary.host_entries += plan.entry.host_process
        summary.pod_entries += not plan.entry.host_process
        summary.instances += len(plan.instances)
        job = _EntryJob(plan, os.path.join(root, names[plan.entry]))
        if options.skip_existing and job.complete():
            summary.skipped_entries += 1
            continue
        jobs.append(job)
    fetches = [(job, name, obj) for job in jobs for name, obj in job.pending()]
    summary.unchanged = sum(len(job.plan.files()) for job in jobs) - len(fetches)
    lock = threading.Lock()

    def fetch_one(item: tuple[_EntryJob, str, RemoteObject]) -> None:
        job, name, obj = item
        try:
            data = store.fetch(obj)
            job.write(name, data)
        except (FetchError, OSError) as exc:
            with lock:
                summary.failed.append((obj.key, str(exc)))
            log.error("couldn't fetch %r: %s", obj.key, exc)
            job.finish_one(name, obj, ok=False)
            reporter.advance()
            return
        with lock:
            summary.downloaded += 1
            summary.downloaded_bytes += len(data)
        job.finish_one(name, obj, ok=True)
        reporter.advance()

    with Reporter("downloading", len(fetches), log) as reporter:
        for job in jobs:
            if not job.expected:
                job.finalise()
        pool = ThreadPoolExecutor(max_workers=options.max_concurrency)
        try:
            list(pool.map(fetch_one, fetches))
        finally:  # on Ctrl-C, stop at once: finished files are kept, the rest waits for a rerun
            pool.shutdown(wait=True, cancel_futures=True)
    return summary


class _EntryJob:
    """One entry's local directory: which files to fetch, and its state once they are in."""

    def __init__(self, plan: EntryPlan, directory: str) -> None:
        self.plan = plan
        self.directory = directory
        self.wanted = plan.files()
        state, _ = read_json_object(os.path.join(directory, STATE_FILE))
        held = (state or {}).get("files", {})
        self.state: dict[str, Any] = held if isinstance(held, dict) else {}
        self.expected = 0
        self._lock = threading.Lock()

    def complete(self) -> bool:
        """Tell whether every wanted file and the metadata are already here."""
        names = [*self.wanted, "metadata.json"]
        return all(os.path.exists(os.path.join(self.directory, n)) for n in names)

    def pending(self) -> list[tuple[str, RemoteObject]]:
        """Return the wanted files that are missing or changed (by key, ETag and size).

        Temporary files an interrupted run left behind are removed first.
        """
        if os.path.isdir(self.directory):
            for name in os.listdir(self.directory):
                if name.startswith(TEMPORARY_PREFIX):
                    os.remove(os.path.join(self.directory, name))
        todo = [
            (name, obj)
            for name, obj in self.wanted.items()
            if self.state.get(name) != _fingerprint(obj)
            or not os.path.exists(os.path.join(self.directory, name))
        ]
        self.expected = len(todo)
        return todo

    def write(self, name: str, data: bytes) -> None:
        """Write `name` atomically inside the entry directory."""
        write_atomically(self.directory, name, data)

    def finish_one(self, name: str, obj: RemoteObject, ok: bool) -> None:
        """Record one fetch; after the last one, write state and metadata."""
        with self._lock:
            if ok:
                self.state[name] = _fingerprint(obj)
            self.expected -= 1
            last = self.expected == 0
        if last:
            self.finalise()

    def finalise(self) -> None:
        """Write the entry's state and its refreshed `metadata.json`.

        Files whose objects left the bucket (it expires old data) stay, and so do their
        instances in `metadata.json`: a collection only grows.
        """
        os.makedirs(self.directory, exist_ok=True)
        state = {"format": STATE_FORMAT, "files": self.state}
        write_if_changed(self.directory, STATE_FILE, _json_bytes(state))
        previous, _ = read_json_object(os.path.join(self.directory, "metadata.json"))
        kept = [
            instance
            for instance in (previous or {}).get("instances", [])
            if isinstance(instance, dict)
            and isinstance(instance.get("counter_file"), str)
            and instance["counter_file"] not in self.wanted
            and os.path.exists(os.path.join(self.directory, instance["counter_file"]))
        ]
        write_if_changed(self.directory, "metadata.json", _json_bytes(metadata(self.plan, kept)))


def _fingerprint(obj: RemoteObject) -> dict[str, Any]:
    return {"key": obj.key, "etag": obj.etag, "size": obj.size}


def _json_bytes(data: object) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=False) + "\n").encode("utf-8")


def metadata(plan: EntryPlan, kept: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Return `metadata.json` for `plan`: the prior tool's fields plus instances.

    `kept` are instances of earlier runs whose objects are no longer in the bucket.
    """
    entry = plan.entry
    kept = kept or []
    instances = kept + [
        {
            "discovery_time": i.discovery,
            "pid": i.pid,
            "last_modified": rfc3339(i.newest.last_modified),
            "counter_file": i.local_name,
            "s3_key": i.newest.key,
        }
        for i in plan.instances
    ]
    instances.sort(key=lambda i: (str(i.get("discovery_time")), str(i.get("counter_file"))))
    discoveries = plan.discoveries + [str(i.get("discovery_time", "")) for i in kept]
    times = [t for t in (parse_discovery(d) for d in discoveries) if t is not None]
    modified = [str(i.get("last_modified", "")) for i in instances if i.get("last_modified")]
    latest = plan.discoveries[-1] if plan.discoveries else ""
    latest_time = parse_discovery(latest)
    return {
        "pod_name": entry.pod,
        "namespace": entry.namespace,
        "container": {"name": entry.container, "image": plan.image},
        "binary_name": entry.binary,
        "collected_at": rfc3339(latest_time) if latest_time else latest,
        "hostname": entry.host,
        "host_process": entry.host_process,
        "instances": instances,
        "first_seen": rfc3339(min(times)) if times else "",
        "last_seen": max(modified) if modified else "",
    }


def write_if_changed(directory: str, name: str, data: bytes) -> None:
    """Write `directory/name` atomically unless it already holds exactly `data`."""
    try:
        with open(os.path.join(directory, name), "rb") as handle:
            if handle.read() == data:
                return
    except OSError:
        pass
    write_atomically(directory, name, data)


def write_atomically(directory: str, name: str, data: bytes) -> None:
    """Write `directory/name` through a temporary file and a rename."""
    target = os.path.join(directory, name)
    if os.path.dirname(os.path.realpath(target)) != os.path.realpath(directory):
        raise OSError(f"refusing to write {name!r} outside {directory}")
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def existing_entries(collection: str) -> dict[EntryId, str]:
    """Return the collection's entries, by identity, from their `metadata.json`."""
    found: dict[EntryId, str] = {}
    for entry in list_entries(collection):
        if entry.problems:
            continue  # unreadable metadata: its directory keeps its name, reused by nobody
        m = entry.metadata
        identity = EntryId(
            m.hostname, m.namespace, m.pod_name, m.container_name, m.binary_name, m.host_process
        )
        found.setdefault(identity, entry.name)
    return found


def assign_dir_names(collection: str, entries: list[EntryId]) -> dict[EntryId, str]:
    """Give every entry a safe, stable directory name in `root`.

    An entry keeps the directory it had; a new one gets the prior tool's dash-joined
    name when that is free and short, otherwise that name plus a hash of its identity.
    """
    known = existing_entries(collection)
    taken = set(os.listdir(os.path.join(collection, COVERAGE_DIR)))
    names: dict[EntryId, str] = {}
    for entry in sorted(entries):
        name = known.get(entry)
        if name is None:
            plain = plain_dir_name(entry)
            name = (
                plain if plain not in taken and len(plain) <= MAX_NAME else hashed_dir_name(entry)
            )
            taken.add(name)
        names[entry] = name
    return names
