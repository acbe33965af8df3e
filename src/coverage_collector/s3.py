"""`cluster download`: S3 to `<collection>/coverage/`, incremental, resumable, nothing lost.

The only module that imports boto3. Objects are listed once, sorted by `s3layout` into
entries and process instances (keys with untrusted components are refused by name),
and only what changed since the last run (by key, ETag and size, remembered per entry
in `.download-state.json`) is fetched, many objects at a time.

What a kill, a full disk or a failed write can leave behind, and how it is repaired:

- objects stream to disk in chunks, under a temporary name that is renamed into place,
  and never more than `max_object_bytes` of one object (a larger one is refused by key);
- a new entry is built in `coverage/.partial-<name>`, `metadata.json` is written last,
  and only then is the directory renamed to `<name>`: an entry directory exists complete
  or not at all. A known entry is updated in place, file by file, `metadata.json` last;
- a local write error (`ENOSPC`, `EACCES`...) stops the run with one `DataError` naming
  the file; its temporary files and partial directories are removed first;
- the next run sweeps what a kill left (`.partial-*` directories, `.tmp-*` files) and
  replaces an entry directory without `metadata.json` (left by older versions) instead of
  writing a second directory next to it.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import functools
import json
import os
import random
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from coverage_collector import logs, trust
from coverage_collector.collection import COVERAGE_DIR, list_entries, read_json_object
from coverage_collector.exceptions import CollectorError, DataError
from coverage_collector.progress import Reporter
from coverage_collector.s3layout import (
    EntryId,
    EntryPlan,
    Refused,
    RemoteObject,
    classify,
    depth_hint,
    hashed_dir_name,
    normalise_prefix,
    parse_discovery,
    plain_dir_name,
    plain_name_is_exact,
    plan_entries,
    rfc3339,
)

STATE_FILE = ".download-state.json"
METADATA_FILE = "metadata.json"
TEMPORARY_PREFIX = ".tmp-"
PARTIAL_PREFIX = ".partial-"
STATE_FORMAT = 1
FETCH_ATTEMPTS = 5
MAX_OBJECT_BYTES = 256 << 20
"""Bytes in one object: counter and meta files are kilobytes to a few megabytes."""
CHUNK_BYTES = 1 << 20
"""Bytes held in memory per concurrent download."""
log = logs.get_logger(__name__)


class FetchError(CollectorError):
    """S3 could not be listed or an object could not be fetched."""


class ObjectTooLargeError(FetchError):
    """An object is over the size cap: refused, not retried."""


class IncompleteBodyError(Exception):
    """The connection ended before the object's declared length: retried."""


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
    max_object_bytes: int = MAX_OBJECT_BYTES


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
    refused: list[Refused] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.refused

    def lines(self) -> list[str]:
        """Return the human summary; keys are shown escaped (`printable`)."""
        lines = [
            f"entries: {self.pod_entries} containers, {self.host_entries} host processes, "
            f"{self.instances} process instances",
            f"files: {self.downloaded} downloaded ({self.downloaded_bytes} bytes), "
            f"{self.unchanged} unchanged; {self.skipped_entries} entries skipped",
            f"unexpected keys: {len(self.unexpected)}",
        ]
        lines.extend(f"  unexpected: {printable(key)}" for key in self.unexpected[:10])
        if len(self.unexpected) > 10:
            lines.append(f"  ... and {len(self.unexpected) - 10} more (all in the log file)")
        lines.append(f"refused keys: {len(self.refused)}")
        lines.extend(f"  refused: {printable(r.key)}: {printable(r.reason)}" for r in self.refused)
        lines.append(f"failed: {len(self.failed)}")
        lines.extend(f"  failed: {printable(key)}: {reason}" for key, reason in self.failed)
        return lines


def printable(text: str) -> str:
    """`text` (a key from the cluster) safe to print and log: credentials scrubbed, control
    characters and invalid Unicode shown as escapes, on one line."""
    valid = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return trust.terminal(trust.scrub(valid))


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

    def children(self, prefix: str) -> list[str]:
        """Return the prefixes one level below `prefix` (its "directories"), at most 1000."""
        try:
            page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, Delimiter="/")
        except Exception as exc:  # noqa: BLE001 - botocore's many errors, named here once
            raise FetchError(f"Couldn't list s3://{self.bucket}/{prefix}: {_reason(exc)}") from None
        return [item["Prefix"] for item in page.get("CommonPrefixes", [])]

    def fetch(
        self, obj: RemoteObject, sink: Callable[[Iterator[bytes]], int], max_bytes: int
    ) -> int:
        """Stream the body of `obj` into `sink` (which writes it); return its size.

        At most `max_bytes` are read (ObjectTooLargeError, not retried); transient failures are
        retried with backoff, each time from the start into a fresh `sink` call. A
        DataError from `sink` (a local write failed) goes up at once.
        """
        if obj.size > max_bytes:
            raise ObjectTooLargeError(_too_large(obj.size, max_bytes))
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=obj.key)
                body = response["Body"]
                try:
                    length = int(response.get("ContentLength", obj.size))
                    if length > max_bytes:
                        raise ObjectTooLargeError(_too_large(length, max_bytes))
                    return sink(_chunks(body, length, max_bytes))
                finally:
                    body.close()
            except (DataError, ObjectTooLargeError):
                raise
            except Exception as exc:  # noqa: BLE001 - retried, then reported by key
                if attempt == FETCH_ATTEMPTS or not _transient(exc):
                    raise FetchError(f"{_reason(exc)} (after {attempt} attempts)") from None
                time.sleep(min(0.2 * 2**attempt, 5.0) * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")


def _chunks(body: Any, length: int, max_bytes: int) -> Iterator[bytes]:
    """The body in chunks of at most CHUNK_BYTES; exactly `length` bytes or an error."""
    total = 0
    while chunk := body.read(CHUNK_BYTES):
        total += len(chunk)
        if total > max_bytes:
            raise ObjectTooLargeError(_too_large(total, max_bytes))
        yield chunk
    if total != length:
        raise IncompleteBodyError(f"short body: {total} of {length} bytes")


def _too_large(size: int, max_bytes: int) -> str:
    return f"larger than the {_mib(max_bytes)} limit ({size} bytes)"


def _mib(size: int) -> str:
    return f"{size / (1 << 20):g} MiB" if size >= 1 << 20 else f"{size} bytes"


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

    Raises FetchError when the bucket cannot be listed and DataError (naming the file)
    when a local file cannot be written; per-object failures and refused keys are
    reported in the summary and the other objects go on.
    """
    store = store or ObjectStore(options)
    prefix = normalise_prefix(options.prefix)
    log.info("listing s3://%s/%s", options.bucket, prefix)
    objects = store.list(prefix)
    if not objects:
        raise FetchError(
            f"Couldn't find any object under s3://{options.bucket}/{prefix}",
            hint=_empty_prefix_hint(store, prefix),
        )
    listing = classify(objects, prefix)
    summary = DownloadSummary(unexpected=listing.unexpected, refused=listing.refused)
    for key in listing.unexpected:
        log.debug("unexpected key %s", printable(key))
    hint = depth_hint(listing, prefix)
    if hint:
        raise FetchError(f"Couldn't find coverage data in s3://{options.bucket}/{prefix}: {hint}")
    root = os.path.join(options.collection, COVERAGE_DIR)
    _make_directory(root)
    sweep_partials(root)
    plans = plan_entries(listing.located)
    names = assign_dir_names(options.collection, [p.entry for p in plans])
    jobs = []
    for plan in plans:
        summary.host_entries += plan.entry.host_process
        summary.pod_entries += not plan.entry.host_process
        summary.instances += len(plan.instances)
        job = _EntryJob(plan, root, names[plan.entry])
        if options.skip_existing and job.complete():
            summary.skipped_entries += 1
            continue
        jobs.append(job)
    try:
        _fetch_all(options, store, jobs, summary)
    finally:  # an error or Ctrl-C: no partial entry stays behind
        for job in jobs:
            job.discard()
    return summary


def _empty_prefix_hint(store: ObjectStore, prefix: str) -> str:
    """What to check when `prefix` holds nothing: the closest prefix beside it, if any."""
    parent = prefix.rstrip("/").rpartition("/")[0]
    parent = f"{parent}/" if parent else ""
    try:
        siblings = store.children(parent)
    except FetchError:
        siblings = []
    names = [sibling[len(parent) :] for sibling in siblings]
    close = difflib.get_close_matches(prefix[len(parent) :], names, n=1, cutoff=0.6)
    if close:
        return f"did you mean --prefix {printable(parent + close[0])}?"
    return (
        "check --bucket and --prefix (the producer writes under its base path and the "
        "cluster's name, e.g. openshift-ci/coverage/<cluster>/) and --endpoint-url"
    )


def _fetch_all(
    options: DownloadOptions, store: ObjectStore, jobs: list[_EntryJob], summary: DownloadSummary
) -> None:
    """Fetch every pending file of `jobs`, many at a time; finalise each job after its last.

    The first DataError (a local write failed) stops the run: fetches not yet started
    are skipped, and the error is raised once the running ones are done.
    """
    fetches = [(job, name, obj) for job in jobs for name, obj in job.pending()]
    summary.unchanged = sum(len(job.plan.files()) for job in jobs) - len(fetches)
    lock = threading.Lock()
    stopped: list[DataError] = []

    def fetch_one(item: tuple[_EntryJob, str, RemoteObject]) -> None:
        job, name, obj = item
        if stopped:
            return
        try:
            size = store.fetch(obj, functools.partial(job.write, name), options.max_object_bytes)
        except FetchError as exc:
            with lock:
                summary.failed.append((obj.key, str(exc)))
            log.error("couldn't fetch %s: %s", printable(obj.key), exc)
            size = None
        except DataError as exc:
            with lock:
                stopped.append(exc)
            return
        if size is not None:
            with lock:
                summary.downloaded += 1
                summary.downloaded_bytes += size
        try:
            job.finish_one(name, obj, ok=size is not None)
        except DataError as exc:
            with lock:
                stopped.append(exc)
            return
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
    if stopped:
        raise stopped[0]


def sweep_partials(root: str) -> None:
    """Remove the partial entry directories an interrupted run left in `root`."""
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if name.startswith(PARTIAL_PREFIX) and _is_directory(path):
            log.info("removing %s, left by an interrupted download", printable(path))
            shutil.rmtree(path, ignore_errors=True)


def _is_directory(path: str) -> bool:
    """A real directory, not a symlink to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_orphan(path: str) -> bool:
    """An entry directory without `metadata.json`: an older version was interrupted."""
    name = os.path.basename(path)
    return (
        not name.startswith(".")
        and _is_directory(path)
        and not os.path.lexists(os.path.join(path, METADATA_FILE))
    )


class _EntryJob:
    """One entry's local directory: which files to fetch, and its state once they are in.

    A new entry is written into `.partial-<name>` and renamed to `<name>` when complete;
    a known one is updated in place. `directory` is where files go now; `final` is the
    name every message uses.
    """

    def __init__(self, plan: EntryPlan, root: str, name: str) -> None:
        self.plan = plan
        self.final = os.path.join(root, name)
        if _is_orphan(self.final):
            log.info("replacing %s: it has no %s", printable(self.final), METADATA_FILE)
            shutil.rmtree(self.final, ignore_errors=True)
        fresh = not os.path.lexists(self.final)
        self.partial = os.path.join(root, PARTIAL_PREFIX + name) if fresh else None
        self.directory = self.partial or self.final
        self.wanted = plan.files()
        state, _ = read_json_object(os.path.join(self.final, STATE_FILE))
        held = (state or {}).get("files", {})
        self.state: dict[str, Any] = held if isinstance(held, dict) and not fresh else {}
        self.expected = 0
        self._lock = threading.Lock()

    def complete(self) -> bool:
        """Tell whether every wanted file and the metadata are already here."""
        names = [*self.wanted, METADATA_FILE]
        return all(os.path.exists(os.path.join(self.final, n)) for n in names)

    def pending(self) -> list[tuple[str, RemoteObject]]:
        """Return the wanted files that are missing or changed (by key, ETag and size).

        Temporary files an interrupted run left behind are removed first.
        """
        if self.partial is None:
            for name in os.listdir(self.final):
                if name.startswith(TEMPORARY_PREFIX):
                    with contextlib.suppress(OSError):
                        os.remove(os.path.join(self.final, name))
        todo = [
            (name, obj)
            for name, obj in self.wanted.items()
            if self.state.get(name) != _fingerprint(obj)
            or not os.path.exists(os.path.join(self.directory, name))
        ]
        self.expected = len(todo)
        return todo

    def write(self, name: str, chunks: Iterable[bytes]) -> int:
        """Write `name` from `chunks` atomically inside the entry's directory."""
        _make_directory(self.directory, shown=self.final)
        return write_chunks(self.directory, name, chunks, shown=os.path.join(self.final, name))

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
        """Write the entry's state and its refreshed `metadata.json`, then (for a new entry)
        rename the partial directory into place.

        `metadata.json` lists the instances whose counter files are here. Files whose
        objects left the bucket (it expires old data) stay, and so do their instances in
        `metadata.json`: a collection only grows.
        """
        directory = self.directory
        _make_directory(directory, shown=self.final)
        state = {"format": STATE_FORMAT, "files": dict(sorted(self.state.items()))}
        write_if_changed(directory, STATE_FILE, _json_bytes(state), shown=self.final)
        previous, _ = read_json_object(os.path.join(directory, METADATA_FILE))
        kept = [
            instance
            for instance in (previous or {}).get("instances", [])
            if isinstance(instance, dict)
            and isinstance(instance.get("counter_file"), str)
            and instance["counter_file"] not in self.wanted
            and os.path.exists(os.path.join(directory, instance["counter_file"]))
        ]
        present = {name for name in self.wanted if os.path.exists(os.path.join(directory, name))}
        data = _json_bytes(metadata(self.plan, kept, present))
        write_if_changed(directory, METADATA_FILE, data, shown=self.final)
        if self.partial is not None:
            try:
                os.rename(self.partial, self.final)
            except OSError as exc:
                raise _write_error(self.final, exc) from None
            self.directory, self.partial = self.final, None

    def discard(self) -> None:
        """Remove the partial directory of an entry that was not finalised."""
        if self.partial is not None:
            shutil.rmtree(self.partial, ignore_errors=True)


def _fingerprint(obj: RemoteObject) -> dict[str, Any]:
    return {"key": obj.key, "etag": obj.etag, "size": obj.size}


def _json_bytes(data: object) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=False) + "\n").encode("utf-8")


def metadata(
    plan: EntryPlan, kept: list[dict[str, Any]] | None = None, present: set[str] | None = None
) -> dict[str, Any]:
    """Return `metadata.json` for `plan`: the prior tool's fields plus instances.

    `kept` are instances of earlier runs whose objects are no longer in the bucket;
    `present`, when given, the local file names that are here (an instance whose counter
    file could not be fetched is not listed: the next run fetches it).
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
        if present is None or i.local_name in present
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


def write_if_changed(directory: str, name: str, data: bytes, *, shown: str | None = None) -> None:
    """Write `directory/name` atomically unless it already holds exactly `data`.

    `shown` is the directory that messages name (the final one for a partial entry).
    """
    if _holds(os.path.join(directory, name), data):
        return
    write_atomically(directory, name, data, shown=shown)


def _holds(path: str, data: bytes) -> bool:
    """Tell whether the regular file at `path` holds exactly `data` (never blocks on a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(len(data) + 1) == data
    except OSError:
        return False
    finally:
        os.close(fd)


def write_atomically(directory: str, name: str, data: bytes, *, shown: str | None = None) -> None:
    """Write `directory/name` through a temporary file and a rename."""
    write_chunks(directory, name, [data], shown=os.path.join(shown or directory, name))


def write_chunks(
    directory: str, name: str, chunks: Iterable[bytes], *, shown: str | None = None
) -> int:
    """Write `directory/name` from `chunks` through a temporary file and a rename.

    Returns the bytes written. A failed write (disk full, permissions...) removes the
    temporary file and raises DataError naming `shown` (default: the target); an error
    raised by `chunks` itself (the network) removes it too and goes up unchanged.
    """
    target = os.path.join(directory, name)
    shown = shown or target
    if os.path.dirname(os.path.realpath(target)) != os.path.realpath(directory):
        raise DataError(f"Couldn't write {printable(shown)}: outside {printable(directory)}")
    try:
        handle, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=directory)
    except OSError as exc:
        raise _write_error(shown, exc) from None
    try:
        written = _drain(handle, chunks, shown)
        try:
            os.replace(temporary, target)
        except OSError as exc:
            raise _write_error(shown, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    return written


def _drain(handle: int, chunks: Iterable[bytes], shown: str) -> int:
    """Write every chunk to the open file `handle` and close it; return the bytes written."""
    written = 0
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                try:
                    count = os.write(handle, view)
                except OSError as exc:
                    raise _write_error(shown, exc) from None
                view = view[count:]
                written += count
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(handle)
        raise
    try:
        os.close(handle)
    except OSError as exc:
        raise _write_error(shown, exc) from None
    return written


def _make_directory(path: str, *, shown: str | None = None) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise _write_error(shown or path, exc) from None


def _write_error(path: str, exc: OSError) -> DataError:
    """The one-line error for a local file that could not be written."""
    reason = exc.strerror or str(exc)
    hint = "free some space and run the command again" if exc.errno in _FULL else None
    return DataError(f"Couldn't write {printable(path)}: {reason}", hint=hint)


_FULL = (errno.ENOSPC, errno.EDQUOT)


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
    """Give every entry a safe, stable directory name in `<collection>/coverage`.

    An entry keeps the directory it had; a new one gets the prior tool's dash-joined
    name when that keeps every component exactly and is free, otherwise that name
    (sanitised, shortened) plus a hash of its full identity. A directory without
    `metadata.json` (an interrupted older run) is not taken: the entry whose name it is
    replaces it, so a rerun never writes a second directory next to it.
    """
    known = existing_entries(collection)
    root = os.path.join(collection, COVERAGE_DIR)
    taken = {n for n in os.listdir(root) if not _is_orphan(os.path.join(root, n))}
    names: dict[EntryId, str] = {}
    for entry in sorted(entries):
        name = known.get(entry)
        if name is None:
            plain = plain_dir_name(entry)
            exact = plain_name_is_exact(entry) and plain not in taken
            name = plain if exact else hashed_dir_name(entry)
            taken.add(name)
        names[entry] = name
    return names
