"""What compile stores: decoded entries, owners and binaries turned into database records.

Writes that belong together are one transaction: an entry, its instances, its errors and
its binary (if new) (`database.entries.write_entry`); one binary's merged numbers together
with every owner of it that changed (the caller's `Database.transaction()`). A compile
killed or failing at any moment (a full disk) leaves a database that every stage can read
and that the next compile completes.
Every string stored is valid text: names that were not UTF-8 are escaped (`names`).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from coverage_collector import analysis, blobs, database
from coverage_collector.analysis import DEFAULT_EXCLUDES
from coverage_collector.collection import RecordedInstance, instant_text
from coverage_collector.compile.decode import DecodedEntry
from coverage_collector.compile.grouping import EntryRow, Group, OwnerIdentity
from coverage_collector.compile.names import decode_safe_meta, storable
from coverage_collector.compile.scan import RefusedEntry
from coverage_collector.covdata.model import BoolArray, MetaFile
from coverage_collector.database import Database, binaries, entries, owners
from coverage_collector.owners import program_name, source_key
from coverage_collector.results import CountsMerge, Numbers, merge_counts


def record_refused_entries(db: Database, refused: Iterable[RefusedEntry]) -> None:
    """Record the entry directories that cannot be entries, replacing earlier runs' ones."""
    entries.record_refused_entries(db, [entries.RefusedItem(r.item, r.defect) for r in refused])


def write_entry(db: Database, entry: DecodedEntry) -> None:
    """Store one decoded entry (and its binary, if new) in one transaction."""
    meta = entry.metadata
    is_host = meta.host_process or not meta.namespace
    sources = entry.sources
    record = entries.EntryRecord(
        dir_name=entry.name,
        namespace=meta.namespace,
        pod_name=meta.pod_name,
        container_name=meta.container_name,
        image=meta.image,
        binary_name=meta.binary_name,
        hostname=meta.hostname,
        is_host=is_host,
        explicit_owner_kind=meta.owner_kind,
        explicit_owner_name=meta.owner_name,
        collected_at=meta.collected_at,
        first_seen=meta.first_seen or meta.collected_at,
        last_seen=meta.last_seen or meta.collected_at,
        source_key=source_key(
            meta.image,
            is_host,
            program_name(
                meta.binary_name,
                meta.container_name,
                entry.binary.meta_hash if entry.binary else "",
            ),
        ),
        source_url=sources.source_url,
        source_commit=sources.source_commit,
        software_group=sources.software_group,
        software_key=sources.software_key,
        instances=len(entry.instances),
        counts_blob=None if entry.failed else entry.counts_blob,
        statements=entry.statements,
        covered=entry.covered,
        status=entry.status,
        error_msg=storable("; ".join(entry.problems)),
        stat_sig=entry.stat_sig,
        input_hash="" if entry.failed else entry.input_hash,
        metadata_hash=entry.metadata_hash,
        cluster=meta.cluster,
    )
    recorded = {i.counter_file: i for i in meta.instances}
    entries.write_entry(
        db,
        record,
        None if entry.failed else entry.binary,
        [
            entries.InstanceRow(
                storable(i.counter_file),
                i.pid,
                i.discovered_ns,
                i.size,
                *_seen(recorded.get(i.counter_file), i.discovered_ns),
            )
            for i in entry.instances
        ],
        [storable(problem) for problem in entry.problems],
    )


def _seen(recorded: RecordedInstance | None, discovered_ns: int) -> tuple[str, str]:
    """When an instance was first and last seen: download's record of it, else the
    discovery time in its counter file's name (and no last sighting)."""
    if recorded is not None and recorded.discovery_time:
        return recorded.first_seen, recorded.last_modified
    return (instant_text(discovered_ns) if discovered_ns else "", "")


@dataclass(frozen=True)
class BinaryModel:
    """A binary's decoded units and the parts of it that are the application."""

    meta: MetaFile
    app: BoolArray
    files: analysis.FileTable


def stored_excludes(db: Database) -> tuple[str, ...]:
    """The `--exclude-file` globs the database was compiled with."""
    stored = database.get_setting(db, "signature")
    return (
        tuple(json.loads(stored).get("excludes", DEFAULT_EXCLUDES)) if stored else DEFAULT_EXCLUDES
    )


class BinaryModels:
    """Decoded binaries, loaded from the database on demand (a few at a time)."""

    def __init__(self, db: Database, excludes: tuple[str, ...], size: int = 8):
        self.db = db
        self.excludes = excludes
        self.size = size
        self._cache: OrderedDict[int, BinaryModel] = OrderedDict()

    def get(self, binary_id: int) -> BinaryModel:
        model = self._cache.get(binary_id)
        if model is None:
            raw = binaries.binary_meta(self.db, binary_id)
            meta = decode_safe_meta(raw, f"<binary {binary_id}>").meta
            app = analysis.application_units(meta, self.excludes)
            model = BinaryModel(meta, app, analysis.file_table(meta, app))
            self._cache[binary_id] = model
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(binary_id)
        return model


@dataclass(frozen=True)
class GroupResult:
    counts: np.ndarray
    totals: Numbers
    files: analysis.FileStats
    functions: analysis.FunctionStats


@dataclass(frozen=True)
class OwnerPlan:
    """How an owner's counters are brought up to date: its stored counters plus the
    counters of the entries new to it, or (`from_stored` False) the merge of all of them."""

    added: list[EntryRow]
    from_stored: bool
    additive: bool
    """Its new counters are its old ones (none, for a new owner) plus those of `added`: so
    are its binary's, if all its changed owners are additive."""


def plan_owner(db: Database, group: Group, incremental: bool) -> OwnerPlan:
    """Plan the update of a changed owner: from its stored counters when every entry they
    merge is still its member with the same counters (a cluster added to the collection),
    else from all its entries (an entry gone or changed, or `incremental` off: the stored
    numbers were merged under other options, or `--update` forces a recomputation)."""
    full = OwnerPlan(group.members, from_stored=False, additive=False)
    if not incremental or group.forced:
        return full
    stored = owners.stored_members(db, group.key)
    if stored is None:
        return OwnerPlan(group.members, from_stored=False, additive=True)
    current = {r.id: r.input_hash for r in group.members}
    if not stored.complete or any(not h or current.get(i) != h for i, h in stored.members.items()):
        return full
    added = [r for r in group.members if r.id not in stored.members]
    return OwnerPlan(added, from_stored=True, additive=True)


@dataclass(frozen=True)
class OwnerCounts:
    result: GroupResult
    added: np.ndarray
    """The merge of the counters the plan added (empty when none)."""


def owner_counts(db: Database, model: BinaryModel, group: Group, plan: OwnerPlan) -> OwnerCounts:
    """Merge the owner's counters as `plan` says (entries read one at a time)."""
    vectors = (
        blobs.unpack_counts(blob)
        for blob in entries.entry_counts(db, [row.id for row in plan.added])
    )
    added = merge_counts(vectors, model.meta.mode)
    if not plan.from_stored:
        return OwnerCounts(counts_result(model, added), added)
    total = CountsMerge(model.meta.mode)
    total.add(stored_owner_counts(db, group))
    if len(added):
        total.add(added)
    return OwnerCounts(counts_result(model, total.total), added)


def stored_owner_counts(db: Database, group: Group) -> np.ndarray:
    """The merged counters compile stored for the owner `group` (its result is current)."""
    return owners.owner_counts_by_key(db, group.key)


def counts_result(model: BinaryModel, counts: np.ndarray) -> GroupResult:
    """The numbers of merged `counts` of the binary of `model`."""
    return GroupResult(
        counts,
        analysis.totals(model.meta, counts, model.app),
        analysis.file_stats(model.meta, counts, model.files, model.app),
        analysis.function_stats(model.meta, counts, model.app),
    )


def _sorted_json(values: Iterable[str]) -> str:
    return json.dumps(sorted({v for v in values if v}))


def write_owner(
    db: Database,
    identity: OwnerIdentity,
    group: Group,
    result: GroupResult,
    image: str,
    input_hash: str,
) -> None:
    """Store one owner, its membership and its file and function numbers.

    Runs inside the caller's transaction (with its binary's): never half an owner.
    """
    members = group.members
    pods = {r.pod_name or r.hostname for r in members}
    record = owners.OwnerRecord(
        group_key=identity.key,
        namespace=identity.namespace,
        owner_type=str(identity.owner.kind),
        owner_name=identity.owner.name,
        binary_name=identity.program,
        binary_id=group.binary_id,
        image=image,
        images_json=_sorted_json(r.source_key for r in members),
        pods_json=_sorted_json(pods),
        pod_count=len(pods - {""}),
        containers_json=_sorted_json(r.container_name or r.program for r in members),
        hosts_json=_sorted_json(r.hostname for r in members),
        entries=len(members),
        instances=sum(r.instances for r in members),
        statements=result.totals.statements,
        covered=result.totals.covered,
        coverage_pct=result.totals.percent,
        counts_blob=blobs.pack_counts(result.counts),
        first_seen=min((r.first_seen for r in members if r.first_seen), default=""),
        last_seen=max((r.last_seen for r in members if r.last_seen), default=""),
        input_hash=input_hash,
        clusters_json=_sorted_json(r.cluster for r in members),
    )
    fn = result.functions
    executed = fn.covered > 0
    owners.write_owner(
        db,
        record,
        [owners.OwnerMember(r.id, r.input_hash) for r in members],
        _nonzero(result.files.covered),
        map(
            owners.OwnerFunction,
            fn.func_ids[executed].tolist(),
            fn.covered[executed].tolist(),
            fn.executions[executed].tolist(),
        ),
    )


def _nonzero(values: np.ndarray) -> list[tuple[int, int]]:
    """(index, value) of the non-zero `values`."""
    indexes = np.flatnonzero(values)
    return list(zip(indexes.tolist(), values[indexes].tolist(), strict=True))


def write_binary(
    db: Database,
    model: BinaryModel,
    group: Group,
    result: GroupResult,
    input_hash: str,
    previous: np.ndarray | None = None,
) -> None:
    """Store a binary's merged counters and its per-file and per-function numbers; with
    the `previous` counters its rows hold (same covmeta file, same excludes), only the
    rows whose numbers changed are written.

    Runs inside the caller's transaction, with its owners' writes.
    """
    names = [r.program for r in group.members]
    numbers = binaries.BinaryNumbers(
        name=max(sorted(set(names)), key=names.count),
        counts_blob=blobs.pack_counts(result.counts),
        statements=result.totals.statements,
        covered=result.totals.covered,
        entries=len(group.members),
        instances=sum(r.instances for r in group.members),
        input_hash=input_hash,
    )
    if previous is not None and len(previous) == len(result.counts):
        _update_binary(db, model, group.binary_id, numbers, result, counts_result(model, previous))
        return
    files = [
        binaries.FileStats(file_id, path, total, covered)
        for file_id, (path, total, covered) in enumerate(
            zip(
                model.files.paths,
                result.files.statements.tolist(),
                result.files.covered.tolist(),
                strict=True,
            )
        )
    ]
    binaries.write_binary(
        db, group.binary_id, numbers, files, function_rows(model, result.functions)
    )


def _update_binary(
    db: Database,
    model: BinaryModel,
    binary_id: int,
    numbers: binaries.BinaryNumbers,
    result: GroupResult,
    old: GroupResult,
) -> None:
    """Write the binary's numbers and only its file and function rows that changed."""
    files = np.flatnonzero(result.files.covered != old.files.covered)
    new_fn, old_fn = result.functions, old.functions
    changed = (new_fn.covered != old_fn.covered) | (new_fn.executions != old_fn.executions)
    binaries.update_binary(
        db,
        binary_id,
        numbers,
        zip(files.tolist(), result.files.covered[files].tolist(), strict=True),
        map(
            binaries.FunctionCounts,
            new_fn.func_ids[changed].tolist(),
            new_fn.covered[changed].tolist(),
            new_fn.executions[changed].tolist(),
        ),
    )


def function_rows(model: BinaryModel, fn: analysis.FunctionStats) -> list[binaries.FunctionStats]:
    """The numbers of the functions of `fn`, with their names, files and start lines.

    Column by column (a binary of `-coverpkg=all` has 200,000 functions): every value is
    gathered with one array operation, then the rows are zipped."""
    meta = model.meta
    ids = fn.func_ids
    packages = [p.path for p in meta.packages]
    units = np.diff(meta.func_units)[ids]
    start_lines = np.zeros(len(ids), dtype=np.int64)
    has_units = units > 0
    start_lines[has_units] = meta.start_line[meta.func_units[:-1][ids][has_units]]
    return list(
        map(
            binaries.FunctionStats,
            ids.tolist(),
            model.files.string_to_file[meta.func_file[ids]].tolist(),
            [packages[p] for p in meta.func_pkg[ids].tolist()],
            [meta.strings[n] for n in meta.func_name[ids].tolist()],
            meta.func_lit[ids].tolist(),
            start_lines.tolist(),
            units.tolist(),
            fn.statements.tolist(),
            fn.covered.tolist(),
            fn.executions.tolist(),
        )
    )


def update_image_sources(conn: Database, rows: list[EntryRow]) -> int:
    """Record info.json's source values per image (or `host:<binary>`); return rows changed.

    The newest entry's non-empty value wins; an empty value never replaces one.
    """
    found: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: (r.last_seen, r.dir_name), reverse=True):
        values = found.setdefault(row.source_key, ["", "", "", ""])
        for i, value in enumerate(row.sources):
            values[i] = values[i] or value
    stored = database.image_sources(conn)
    changed = 0
    for image, values in sorted(found.items()):
        old = list(stored.get(image, database.ImageSourceRow(image)).values)
        new = [v or o for v, o in zip(values, old, strict=True)]
        if not any(new) or (new == old and image in stored):
            continue
        changed += 1
        database.record_info_json_sources(conn, database.ImageSourceRow(image, *new))
    return changed
