"""`cluster compile`: the collection's entries into `coverage.db`, incrementally.

1. Entries: every changed entry is decoded (in worker processes) and stored, one
   transaction each; unchanged entries (same file names, sizes, mtimes) are not read.
2. Sources: info.json values per image.
3. Owners: entries grouped by namespace, owner, binary; a group whose members did
   not change keeps its stored result.
4. Binaries: the same for each binary over all its owners.

A bad entry (metadata refused at the trust boundary, corrupt coverage files) is an error
row naming the entry, the file and the field; the others are compiled and the command
exits 1. A database write that fails (a full disk) ends compile with one line naming the
database; every write is part of a complete transaction, so the next run resumes.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import dataclasses
import json
import multiprocessing
import os
import time
from collections.abc import Generator, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import dataclass, field

from coverage_collector import database, logs, trust
from coverage_collector.analysis import DEFAULT_EXCLUDES
from coverage_collector.collection import COVERAGE_DIR, Collection
from coverage_collector.compile import store
from coverage_collector.compile.decode import DecodedEntry, DecodeTask, decode_entry
from coverage_collector.compile.filters import UpdateFilter
from coverage_collector.compile.grouping import Group, Grouping, group_entries
from coverage_collector.compile.scan import EntryFiles, Scan, scan_entries
from coverage_collector.database import Database, DatabaseError, binaries, entries, errors, owners
from coverage_collector.exceptions import DataError
from coverage_collector.owners import node_names, owner_of
from coverage_collector.progress import Reporter
from coverage_collector.results import CountsMerge, Numbers
from coverage_collector.stage import ExitFromOk
from coverage_collector.workers import exit_with_parent

COMPILE_VERSION = "2"
"""Bump when what compile stores would change for the same input (2: metadata checked at
the trust boundary, URLs stored without credentials, names that are not UTF-8 escaped)."""
INLINE_TASKS = 4
"""Up to this many entries are decoded in this process: a pool costs more to start."""
WORKER_DIED = "decoding it ended its worker process (out of memory, or killed); left out"
log = logs.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class Options:
    """What `cluster compile` was asked: the collection, what to recompute, which files
    are not the application."""

    collection: str
    update: UpdateFilter = field(default_factory=UpdateFilter)
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES
    max_concurrency: int = 8

    @property
    def signature(self) -> str:
        """What every stored result depends on besides its inputs."""
        return json.dumps({"version": COMPILE_VERSION, "excludes": sorted(self.excludes)})


@dataclass
class Summary(ExitFromOk):
    """What a compile did and what the database now holds."""

    entries: int = 0
    decoded: int = 0
    removed: int = 0
    owners: int = 0
    owners_updated: int = 0
    binaries: int = 0
    binaries_updated: int = 0
    host_duplicates: int = 0
    statements: int = 0
    covered: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    """(entry, problem) of every entry with a problem, this run or an earlier one."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        percent = Numbers(self.statements, self.covered).percent_text()
        lines = [
            f"compiled {self.entries} entries in {self.seconds:.1f} s: {self.decoded} decoded, "
            f"{self.entries - self.decoded} unchanged, {self.removed} removed",
            f"{self.owners} owners ({self.owners_updated} updated), {self.binaries} binaries "
            f"({self.binaries_updated} updated), {self.host_duplicates} host entries "
            "dropped as duplicates of pod entries",
            f"coverage {percent}: {self.covered}/{self.statements} statements "
            "(each binary counted once)",
        ]
        problems: dict[str, list[str]] = {}
        for item, message in self.errors:
            problems.setdefault(item, []).append(message)
        if problems:
            lines.append(f"{len(problems)} entries with problems (see `errors` in coverage.db):")
            lines.extend(
                f"  {trust.terminal(item)}: {trust.terminal('; '.join(messages))}"
                for item, messages in sorted(problems.items())
            )
        return lines


def run(options: Options) -> Summary:
    """Compile the collection of `options` into its database; return what happened."""
    started = time.monotonic()
    summary = Summary()
    coverage = Collection(options.collection).coverage
    if not os.path.isdir(coverage):
        raise DataError(
            f"No coverage data in {options.collection} ({COVERAGE_DIR}/ is missing)",
            hint="check --collection, or run `coverage-collector cluster download` first",
        )
    if not _has_entries(coverage):
        raise DataError(
            f"Nothing to compile: {coverage}/ holds no "
            "entries (run `coverage-collector cluster download` first, or check its --prefix)"
        )
    conn = database.open_database(options.collection)
    try:
        _compile(conn, options, summary)
    except DatabaseError as exc:
        raise DataError(
            f"Couldn't update {database.db_path(options.collection)}: {exc} "
            "(compile stopped; the next run resumes)"
        ) from None
    finally:
        conn.close()
    summary.seconds = time.monotonic() - started
    return summary


def _has_entries(root: str) -> bool:
    """Tell whether `root` holds an entry directory (hidden ones are download's work in
    progress), so an empty collection is one clear error, not an empty database."""
    with os.scandir(root) as found:
        return any(e.is_dir(follow_symlinks=False) and not e.name.startswith(".") for e in found)


def _compile(conn: Database, options: Options, summary: Summary) -> None:
    """The steps of compile; a failing write raises (every step's writes are transactions)."""
    resign = database.get_setting(conn, "signature") != options.signature
    if resign:  # owners and binaries merged from now on are merged under other options
        with conn.transaction():
            database.set_setting(conn, _MergedState.SETTING, "")
    _compile_entries(conn, options, resign, summary)
    if resign:
        with conn.transaction():
            database.set_setting(conn, "signature", options.signature)
    merged = _MergedState(options.signature, entries.entries_state(conn))
    previous = _MergedState.stored(conn)
    if merged == previous and not options.update.active and not binaries.any_unmerged(conn):
        _count_unchanged(conn, summary)  # nothing to group: no entry row is even read
    else:
        _group_and_merge(conn, options, summary, incremental=merged.signature == previous.signature)
        with conn.transaction():
            database.set_setting(conn, _MergedState.SETTING, merged.as_json())
    binaries.delete_unused_binaries(conn)
    totals = binaries.collection_totals(conn)
    summary.statements, summary.covered = totals.statements, totals.covered
    summary.errors = [(e.item, e.message) for e in errors.stage_errors(conn, entries.COMPILE_STAGE)]


@dataclass(frozen=True)
class _MergedState:
    """What the stored owners and binaries were last merged from, as a whole: the options'
    signature and the digest of the entries. When both are unchanged nothing needs
    grouping, so a no-op compile of a collection of many clusters holds no entry rows; when
    the signature is unchanged, owners and binaries may add new entries to their stored
    counters (`store.plan_owner`). Written only when a merge completes and cleared when the
    options change, so its signature is that of every owner and binary stored since."""

    SETTING = "merged"
    signature: str
    entries: str

    @classmethod
    def stored(cls, conn: Database) -> _MergedState:
        try:
            value = json.loads(database.get_setting(conn, cls.SETTING) or "{}")
            return cls(str(value["signature"]), str(value["entries"]))
        except (ValueError, KeyError, TypeError):
            return cls("", "")

    def as_json(self) -> str:
        return json.dumps({"signature": self.signature, "entries": self.entries})


def _count_unchanged(conn: Database, summary: Summary) -> None:
    summary.owners = owners.owner_count(conn)
    summary.binaries = binaries.collection_totals(conn).binaries
    summary.host_duplicates = entries.duplicate_count(conn)


def _group_and_merge(
    conn: Database, options: Options, summary: Summary, *, incremental: bool
) -> None:
    """Group the entries into owners and binaries and merge those that changed."""
    rows = entries.compiled_entries(conn)
    store.update_image_sources(conn, rows)
    grouping = group_entries(rows, options.update)
    del rows
    entries.mark_duplicates(conn, grouping.duplicates)
    summary.host_duplicates = len(grouping.duplicates)
    owners.delete_owners(conn, set(owners.owner_input_hashes(conn)) - set(grouping.owners))
    _merge_groups(conn, grouping, options, summary, incremental)


def _changed(stored: dict, groups: dict, signature: str) -> list[Group]:
    """Return the groups whose stored result (`stored`: key -> input hash) is missing,
    outdated or forced."""
    return [g for k, g in groups.items() if g.forced or stored.get(k) != g.input_hash(signature)]


def _merge_groups(
    conn: Database, grouping: Grouping, options: Options, summary: Summary, incremental: bool
) -> None:
    """Recompute changed owners and binaries, binary by binary (each is decoded once).

    A binary's counters are the merge of its owners' (every entry it counts belongs to one
    owner): the owners recomputed now and those stored by an earlier run. So no binary ever
    reads its entries' counters, and memory holds one binary's units and a few of its
    counter vectors, however many clusters the collection spans. When every changed owner
    of a binary only gained entries (a cluster added), the binary's stored counters plus
    those entries' are its new counters, and only its rows that changed are written.
    """
    signature = options.signature
    changed_owners = {
        g.key for g in _changed(owners.owner_input_hashes(conn), grouping.owners, signature)
    }
    changed_binaries = {
        g.binary_id: g
        for g in _changed(binaries.binary_input_hashes(conn), grouping.binaries, signature)
    }
    owners_of: dict[int, list[Group]] = {}
    for group in sorted(grouping.owners.values(), key=lambda g: g.key):
        owners_of.setdefault(group.binary_id, []).append(group)
    todo = {grouping.owners[key].binary_id for key in changed_owners}
    models = store.BinaryModels(conn, options.excludes, size=1)
    merge = _OwnerMerge(conn, grouping, signature, database.images_with_repository(conn))
    total = len(changed_owners) + len(changed_binaries)
    with Reporter("merging owners and binaries", total, log, unit="items") as progress:
        for binary_id in sorted(todo | set(changed_binaries)):
            model = models.get(binary_id)
            binary = changed_binaries.get(binary_id)
            groups = owners_of.get(binary_id, [])
            plans = {
                g.key: store.plan_owner(conn, g, incremental)
                for g in groups
                if g.key in changed_owners
            }
            with conn.transaction():
                stored = _stored_binary(conn, binary, incremental)
                base = stored if stored and all(p.additive for p in plans.values()) else None
                merged = CountsMerge(model.meta.mode)
                if base is not None:
                    merged.add(base.counts)
                for group in groups:
                    plan = plans.get(group.key)
                    if plan is not None:
                        counts = merge.write(model, group, plan)
                        progress.advance()
                        vector = counts.result.counts if base is None else counts.added
                    elif binary is not None and base is None:
                        vector = store.stored_owner_counts(conn, group)
                    else:
                        continue
                    if binary is not None and len(vector):
                        merged.add(vector)
                if binary is not None:
                    result = store.counts_result(model, merged.total)
                    previous = stored.counts if stored else None
                    hashed = binary.input_hash(signature)
                    store.write_binary(conn, model, binary, result, hashed, previous)
                    progress.advance()
    summary.owners, summary.owners_updated = len(grouping.owners), len(changed_owners)
    summary.binaries, summary.binaries_updated = len(grouping.binaries), len(changed_binaries)


def _stored_binary(
    conn: Database, binary: Group | None, incremental: bool
) -> binaries.StoredBinary | None:
    """The stored counters of a changed binary that a merge may build on: merged under the
    same options, from exactly the entries its stored owners still hold."""
    if binary is None or not incremental:
        return None
    stored = binaries.stored_binary(conn, binary.binary_id)
    if stored is None or not owners.binary_owners_complete(conn, binary.binary_id, stored.entries):
        return None
    return stored


@dataclass(frozen=True)
class _OwnerMerge:
    """Recomputes and stores owners (inside the caller's transaction, with their binary's)."""

    conn: Database
    grouping: Grouping
    signature: str
    resolved: set[str]
    """Images whose repository is resolved: an owner's image is one of those if it can be."""

    def write(
        self, model: store.BinaryModel, group: Group, plan: store.OwnerPlan
    ) -> store.OwnerCounts:
        """Merge and store the owner `group` as `plan` says; return its counters."""
        conn, signature = self.conn, self.signature
        counts = store.owner_counts(conn, model, group, plan)
        images = sorted({r.source_key for r in group.members})
        image = next((i for i in images if i in self.resolved), images[0])
        identity = self.grouping.identities[group.key]
        store.write_owner(conn, identity, group, counts.result, image, group.input_hash(signature))
        return counts


def _compile_entries(conn: Database, options: Options, resign: bool, summary: Summary) -> None:
    """Decode and store every entry that changed (or that the options force)."""
    scan = scan_entries(options.collection)
    store.record_refused_entries(conn, scan.refused)
    nodes = entries.stored_hostnames(conn) if options.update.active else set()
    todo, gone = _changed_entries(scan, entries.stored_entries(conn), resign, options, nodes)
    entries.delete_entries(conn, gone)
    todo.sort(key=lambda e: (e.meta_name, e.name))
    summary.entries, summary.removed, summary.decoded = len(scan.names), len(gone), len(todo)
    known = KnownBinaries(set(binaries.known_binaries(conn)))
    tasks = [DecodeTask(e.name, e.path, e.stat_sig, options.excludes, frozenset()) for e in todo]
    with (
        Reporter("decoding entries", len(tasks), log, unit="entries") as progress,
        closing(_decode_all(tasks, options.max_concurrency, known)) as decoded_entries,
    ):
        for decoded in decoded_entries:
            for problem in decoded.problems:  # the summary names each entry once
                log.debug("%s: %s", trust.terminal(decoded.name), trust.terminal(problem))
            store.write_entry(conn, decoded)
            if decoded.binary is not None and not decoded.failed:
                known.add(decoded.binary.meta_hash)
            progress.advance()


def _changed_entries(
    scan: Scan,
    stored: Iterator[entries.StoredEntry],
    resign: bool,
    options: Options,
    nodes: set[str],
) -> tuple[list[EntryFiles], list[str]]:
    """Walk the scan and the stored entries side by side (both sorted by name); return
    the entries to decode (new, changed or forced) and the names of those gone.

    Only those are held: a collection of ten clusters compiles again with its entries'
    names in memory, not their rows (node names are collected only for `--update`)."""
    nodes = node_names(nodes)
    todo: list[EntryFiles] = []
    gone: list[str] = []
    old = next(stored, None)
    for name in scan.names:
        while old is not None and old.name < name:
            gone.append(old.name)
            old = next(stored, None)
        entry = scan.fingerprint(name)
        if old is None or old.name != name:
            todo.append(entry)
            continue
        if old.stat_sig != entry.stat_sig or resign or _forced(old, options, nodes):
            todo.append(entry)
        old = next(stored, None)
    while old is not None:
        gone.append(old.name)
        old = next(stored, None)
    return todo, gone


def _forced(old: entries.StoredEntry, options: Options, nodes: set[str]) -> bool:
    if not options.update.active:
        return False
    owner = owner_of(
        pod=old.pod,
        binary=old.binary,
        host_process=old.is_host,
        nodes=nodes,
        explicit_kind=old.explicit_kind,
        explicit_name=old.explicit_name,
    )
    view = {
        "namespace": old.namespace,
        "node": old.node,
        "container": old.container,
        "image": old.image,
        "owner": owner.name,
        "binary": old.binary,
    }
    return options.update.matches(view)


class KnownBinaries:
    """The covmeta hashes the database holds, as compile stores entries: a task started
    after its binary was stored says so, and its worker sends no units back. Without it,
    a cold compile sends every entry's compressed covmeta file (megabytes for the largest
    binaries) from its worker, to be dropped: gigabytes through the pipes at ten clusters."""

    def __init__(self, stored: set[str]) -> None:
        self._hashes = stored
        self._snapshot = frozenset(stored)

    def add(self, meta_hash: str) -> None:
        if meta_hash not in self._hashes:
            self._hashes.add(meta_hash)
            self._snapshot = frozenset(self._hashes)

    def stamp(self, task: DecodeTask) -> DecodeTask:
        """`task` with the binaries stored so far (a frozen copy: a task is pickled later,
        in the pool's feeder thread)."""
        return dataclasses.replace(task, known_binaries=self._snapshot)


def _decode_all(
    tasks: list[DecodeTask], max_concurrency: int, known: KnownBinaries
) -> Iterator[DecodedEntry]:
    """Decode `tasks` in worker processes, a bounded number in flight; yield as they finish.

    A worker that dies (the kernel's OOM killer, a crash in a native library) takes the
    pool with it, and with it every entry in flight: those entries are decoded again, each
    alone, so that only the one that kills its worker is lost (as an error of that entry);
    the rest go on in a new pool.
    """
    workers = min(max_concurrency, len(os.sched_getaffinity(0)), len(tasks))
    if len(tasks) <= INLINE_TASKS or workers <= 1:
        yield from (decode_entry(known.stamp(task)) for task in tasks)
        return
    pending = collections.deque(tasks)
    while pending:
        lost = yield from _decode_in_pool(pending, workers, known)
        for task in lost:
            if (yield from _decode_in_pool(collections.deque([task]), 1, known)):
                yield DecodedEntry(task.name, task.stat_sig).fail(WORKER_DIED)


def _decode_in_pool(
    pending: collections.deque[DecodeTask], workers: int, known: KnownBinaries
) -> Generator[DecodedEntry, None, list[DecodeTask]]:
    """Decode the tasks of `pending` (taking them off it) in a new pool; yield the results.

    Return [] when all are done, or, when a worker died, the tasks that were in flight
    (their results are lost); the tasks not started yet stay in `pending`.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["coverage_collector.compile.decode"])
    with cf.ProcessPoolExecutor(
        workers, mp_context=context, initializer=exit_with_parent()
    ) as pool:
        running: dict[cf.Future[DecodedEntry], DecodeTask] = {}
        try:
            while pending or running:
                while pending and len(running) < 2 * workers:
                    task = known.stamp(pending.popleft())
                    try:
                        running[pool.submit(decode_entry, task)] = task
                    except BrokenProcessPool:  # a worker died since the last wait
                        return [*running.values(), task]
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    if isinstance(future.exception(), BrokenProcessPool):
                        return list(running.values())
                    del running[future]
                    yield future.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return []
