"""`cluster download`: S3 to `<collection>/coverage/`, incremental, resumable, nothing lost.

Objects are listed once (`store`), sorted by the producer's layout (`layout`) into
entries and process instances (keys with untrusted components are refused by name),
and only what changed since the last run (by key, ETag and size, remembered per entry
in `.download-state.json`) is fetched, many objects at a time.

What a kill, a full disk or a failed write can leave behind, and how it is repaired:

- objects stream to disk in chunks, under a temporary name that is renamed into place
  (`files`), and never more than `max_object_bytes` of one object (a larger one is
  refused by key);
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
import fnmatch
import functools
import os
import shutil
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from coverage_collector import logs, trust
from coverage_collector.collection import (
    METADATA_FILE,
    Collection,
    EntryFileError,
    EntryMetadata,
    RecordedInstance,
    json_bytes,
    parse_discovery,
    read_json_object,
    read_metadata,
    rfc3339,
)
from coverage_collector.download.files import (
    TEMPORARY_PREFIX,
    make_directory,
    write_chunks,
    write_error,
    write_if_changed,
)
from coverage_collector.download.layout import (
    EntryPlan,
    Listing,
    Refused,
    RemoteObject,
    checked_cluster,
    classify,
    depth_hint,
    normalise_prefix,
    plan_entries,
    printable,
)
from coverage_collector.download.store import FetchError, ObjectStore
from coverage_collector.entrydirs import assign_dir_names, is_directory, is_orphan
from coverage_collector.exceptions import DataError
from coverage_collector.progress import Reporter
from coverage_collector.stage import ExitFromOk

STATE_FILE = ".download-state.json"
PARTIAL_PREFIX = ".partial-"
STATE_FORMAT = 1
MAX_OBJECT_BYTES = 256 << 20
"""Bytes in one object: counter and meta files are kilobytes to a few megabytes."""
log = logs.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class Options:
    """What `cluster download` was asked to do (by name: eight settings, several strings)."""

    collection: str
    bucket: str
    prefixes: tuple[str, ...]
    """Cluster prefixes; with `clusters`, parents whose children are cluster prefixes."""
    clusters: str | None = None
    """A glob over the names of the children of each prefix (the producer's
    `s3BasePath/<cluster>` layout): each match is a cluster of the collection."""
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    skip_existing: bool = False
    max_concurrency: int = 8
    max_object_bytes: int = MAX_OBJECT_BYTES


@dataclass
class Summary(ExitFromOk):
    """What a download did, for the summary and the exit status (1 unless `ok`).

    Mutable: the fetch workers add to it as objects arrive (under a lock).
    """

    pod_entries: int = 0
    host_entries: int = 0
    instances: int = 0
    downloaded: int = 0
    downloaded_bytes: int = 0
    unchanged: int = 0
    skipped_entries: int = 0
    clusters: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(key or prefix, reason) of every object or cluster prefix that could not be read."""

    @property
    def ok(self) -> bool:
        """Every object arrived and no key was refused (a refused key is data lost)."""
        return not self.failed and not self.refused

    def lines(self) -> list[str]:
        """Return the human summary; keys are shown escaped (`printable`)."""
        shown = ", ".join(printable(c) for c in self.clusters[:5])
        more = f", ... ({len(self.clusters) - 5} more)" if len(self.clusters) > 5 else ""
        lines = [
            f"clusters: {len(self.clusters)} ({shown}{more})",
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
        lines.extend(f"  failed: {_failure(key, reason)}" for key, reason in self.failed)
        return lines


def _failure(key: str, reason: str) -> str:
    """A failure as one line naming its key once (a cluster's reason already names it)."""
    return printable(reason if key in reason else f"{key}: {reason}")


def run(options: Options, *, store: ObjectStore | None = None) -> Summary:
    """Bring `<collection>/coverage/` up to date with the bucket; return what happened.

    Raises FetchError when the bucket cannot be listed (or the only cluster prefix holds
    no coverage) and DataError (naming the file) when a local file cannot be written;
    per-object failures, refused keys and (of several) an empty cluster prefix are
    reported in the summary and the other objects go on.
    """
    store = store or ObjectStore(options)
    prefixes = cluster_prefixes(store, options)
    summary = Summary()
    located = []
    for prefix in prefixes:
        try:
            cluster = checked_cluster(prefix, options.bucket)
        except trust.UntrustedValueError as exc:
            summary.refused.append(Refused(prefix, str(exc)))
            continue
        try:
            listing = _list_cluster(store, options.bucket, prefix, cluster)
        except FetchError as exc:
            if len(prefixes) == 1:
                raise
            summary.failed.append((f"s3://{options.bucket}/{prefix}", str(exc)))
            log.error("%s", printable(str(exc)))
            continue
        summary.clusters.append(cluster)
        summary.unexpected.extend(listing.unexpected)
        summary.refused.extend(listing.refused)
        located.extend(listing.located)
    root = Collection(options.collection).coverage
    make_directory(root)
    sweep_partials(root)
    plans = plan_entries(located)
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


def cluster_prefixes(store: ObjectStore, options: Options) -> list[str]:
    """The normalised prefixes of the clusters to download, each once, in order.

    With `options.clusters`, the children of every prefix whose name matches the glob;
    a parent with no matching child is a FetchError naming what it holds.
    """
    found: list[str] = []
    for prefix in map(normalise_prefix, options.prefixes):
        if options.clusters is None:
            candidates = [prefix]
        else:
            children = store.children(prefix)
            candidates = [
                child
                for child in children
                if fnmatch.fnmatchcase(child[len(prefix) :].rstrip("/"), options.clusters)
            ]
            if not candidates:
                names = ", ".join(printable(c[len(prefix) :]) for c in children[:10]) or "nothing"
                raise FetchError(
                    f"No cluster under s3://{options.bucket}/{prefix} matches "
                    f"--clusters {printable(options.clusters)} (it holds: {names})"
                )
        found.extend(c for c in candidates if c not in found)
    return found


def _list_cluster(store: ObjectStore, bucket: str, prefix: str, cluster: str) -> Listing:
    """List and sort one cluster's objects; FetchError when it holds no coverage at all."""
    log.info("listing s3://%s/%s", bucket, printable(prefix))
    objects = store.list(prefix)
    if not objects:
        raise FetchError(
            f"Couldn't find any object under s3://{bucket}/{prefix}",
            hint=_empty_prefix_hint(store, prefix),
        )
    listing = classify(objects, prefix, cluster)
    for key in listing.unexpected:
        log.debug("unexpected key %s", printable(key))
    hint = depth_hint(listing, prefix)
    if hint:
        raise FetchError(f"Couldn't find coverage data in s3://{bucket}/{prefix}: {hint}")
    return listing


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
    options: Options, store: ObjectStore, jobs: list[_EntryJob], summary: Summary
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
        if name.startswith(PARTIAL_PREFIX) and is_directory(path):
            log.info("removing %s, left by an interrupted download", printable(path))
            shutil.rmtree(path, ignore_errors=True)


class _EntryJob:
    """One entry's local directory: which files to fetch, and its state once they are in.

    A new entry is written into `.partial-<name>` and renamed to `<name>` when complete;
    a known one is updated in place. `directory` is where files go now; `final` is the
    name every message uses.
    """

    def __init__(self, plan: EntryPlan, root: str, name: str) -> None:
        self.plan = plan
        self.final = os.path.join(root, name)
        if is_orphan(self.final):
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
        make_directory(self.directory, shown=self.final)
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
        make_directory(directory, shown=self.final)
        state = {"format": STATE_FORMAT, "files": dict(sorted(self.state.items()))}
        write_if_changed(directory, STATE_FILE, json_bytes(state), shown=self.final)
        kept = [
            instance
            for instance in _previous_instances(directory)
            if instance.counter_file not in self.wanted
            and os.path.exists(os.path.join(directory, instance.counter_file))
        ]
        present = {name for name in self.wanted if os.path.exists(os.path.join(directory, name))}
        data = metadata(self.plan, kept, present).to_json()
        write_if_changed(directory, METADATA_FILE, data, shown=self.final)
        if self.partial is not None:
            try:
                os.rename(self.partial, self.final)
            except OSError as exc:
                raise write_error(self.final, exc) from None
            self.directory, self.partial = self.final, None

    def discard(self) -> None:
        """Remove the partial directory of an entry that was not finalised."""
        if self.partial is not None:
            shutil.rmtree(self.partial, ignore_errors=True)


def _fingerprint(obj: RemoteObject) -> dict[str, Any]:
    return {"key": obj.key, "etag": obj.etag, "size": obj.size}


def _previous_instances(directory: str) -> tuple[RecordedInstance, ...]:
    """The instances the entry's `metadata.json` lists now; none when it is missing or
    refused (the next `metadata.json` then lists what this run sees)."""
    try:
        return read_metadata(directory).instances
    except EntryFileError:
        return ()


def metadata(
    plan: EntryPlan,
    kept: list[RecordedInstance] | None = None,
    present: set[str] | None = None,
) -> EntryMetadata:
    """Return `metadata.json` for `plan`: the prior tool's fields plus instances.

    `kept` are instances of earlier runs whose objects are no longer in the bucket;
    `present`, when given, the local file names that are here (an instance whose counter
    file could not be fetched is not listed: the next run fetches it).
    """
    entry = plan.entry
    kept = kept or []
    instances = kept + [
        RecordedInstance(
            discovery_time=i.discovery,
            pid=i.pid,
            last_modified=rfc3339(i.newest.last_modified),
            counter_file=i.local_name,
            s3_key=i.newest.key,
        )
        for i in plan.instances
        if present is None or i.local_name in present
    ]
    instances.sort(key=lambda i: (i.discovery_time, i.counter_file))
    discoveries = plan.discoveries + [i.discovery_time for i in kept]
    times = [t for t in (parse_discovery(d) for d in discoveries) if t is not None]
    modified = [i.last_modified for i in instances if i.last_modified]
    latest = plan.discoveries[-1] if plan.discoveries else ""
    latest_time = parse_discovery(latest)
    return EntryMetadata(
        pod_name=entry.pod,
        namespace=entry.namespace,
        container_name=entry.container,
        image=plan.image,
        binary_name=entry.binary,
        collected_at=rfc3339(latest_time) if latest_time else latest,
        hostname=entry.host,
        host_process=entry.host_process,
        cluster=entry.cluster,
        instances=tuple(instances),
        first_seen=rfc3339(min(times)) if times else "",
        last_seen=max(modified) if modified else "",
    )
