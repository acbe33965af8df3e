"""`cluster diff`: two compiled collections, compared owner by owner and binary by binary.

Owners pair by namespace, kind, name and binary name (the same build first; otherwise the
single build each side has). Statement categories add up the owners (a binary two owners
run counts for each); the coverage totals, like `cluster summary`'s, count each binary once.
The binary roll-up pairs a head binary with the baseline build most of its owners paired
with, so it shows what the binary as a whole gained or lost.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from coverage_collector import analysis, database
from coverage_collector.compile.store import BinaryModel, BinaryModels, stored_excludes
from coverage_collector.database.owners import owner_counts
from coverage_collector.diff.compare import (
    Tally,
    UnitMatch,
    baseline_counts,
    match_units,
    tally,
    unit_categories,
)
from coverage_collector.exceptions import UsageError
from coverage_collector.selection import OwnerRow, OwnerSelection, Selected, select

Matcher = Callable[[int, int], UnitMatch]
"""(head binary id, baseline binary id) -> their unit matching, computed once."""


@dataclass(frozen=True)
class DiffOptions:
    collection: str
    baseline: str
    selection: OwnerSelection = field(default_factory=OwnerSelection)


@dataclass
class OwnerDiff:
    namespace: str
    owner_type: str
    owner_name: str
    binary_name: str
    head_hash: str
    base_hash: str
    tally: Tally

    @property
    def label(self) -> str:
        return f"{self.namespace or 'host'}/{self.owner_type}/{self.owner_name}"


@dataclass
class FileDiff:
    path: str
    tally: Tally


@dataclass
class BinaryDiff:
    name: str
    head_hash: str
    base_hash: str
    tally: Tally
    files: list[FileDiff] = field(default_factory=list)
    unit_codes: np.ndarray | None = None
    """Per unit of the head build: its category code (compare.NEWLY_COVERED, ...; -1 for
    new code and units outside the application); None for a removed binary."""
    unit_base_counts: np.ndarray | None = None
    """Per unit of the head build: the count of the baseline unit it matched (-1 for new
    code and units outside the application); None for a removed binary."""


@dataclass
class DiffResult:
    head: str
    baseline: str
    total: Tally
    owners: list[OwnerDiff]
    binaries: list[BinaryDiff]
    namespaces: dict[str, Tally]


class _Side:
    """One collection: its selected owners, decoded binaries and counters."""

    def __init__(self, collection: str, selection: OwnerSelection) -> None:
        self.conn = database.open_readonly(collection)
        self.selected: Selected = select(self.conn, selection)
        self.models = BinaryModels(self.conn, stored_excludes(self.conn), size=8)

    def model(self, binary_id: int) -> BinaryModel:
        return self.models.get(binary_id)

    def binary_counts(self, binary_id: int) -> np.ndarray:
        return self.selected.counts(self.conn, binary_id, self.model(binary_id).meta.mode)

    def owner_counts(self, owner: OwnerRow) -> np.ndarray:
        return owner_counts(self.conn, owner.id)


def _identity(owner: OwnerRow) -> tuple[str, str, str, str]:
    return (owner.namespace, owner.owner_type, owner.owner_name, owner.binary_name)


def pair_owners(head: Selected, base: Selected) -> list[tuple[OwnerRow | None, OwnerRow | None]]:
    """(head owner, baseline owner) pairs; None where an owner has no counterpart."""
    base_left: dict[tuple[str, ...], list[OwnerRow]] = defaultdict(list)
    for owner in base.owners:
        base_left[_identity(owner)].append(owner)
    pairs: list[tuple[OwnerRow | None, OwnerRow | None]] = []
    unpaired = []
    for owner in head.owners:
        same = [
            b
            for b in base_left[_identity(owner)]
            if base.hashes[b.binary_id] == head.hashes[owner.binary_id]
        ]
        if same:
            base_left[_identity(owner)].remove(same[0])
            pairs.append((owner, same[0]))
        else:
            unpaired.append(owner)
    head_left: dict[tuple[str, ...], list[OwnerRow]] = defaultdict(list)
    for owner in unpaired:
        head_left[_identity(owner)].append(owner)
    for identity, owners in head_left.items():
        candidates = base_left[identity]
        if len(owners) == 1 and len(candidates) == 1:  # one build each side: a rebuild
            pairs.append((owners[0], candidates.pop()))
        else:
            pairs.extend((o, None) for o in owners)
    pairs.extend((None, b) for owners in base_left.values() for b in owners)
    return pairs


def diff(options: DiffOptions) -> DiffResult:
    if os.path.abspath(options.collection) == os.path.abspath(options.baseline):
        raise UsageError("The baseline is the collection itself")
    head, base = (
        _Side(options.collection, options.selection),
        _Side(options.baseline, options.selection),
    )
    if not head.selected.owners and not base.selected.owners:
        raise UsageError(f"No owner matches {options.selection.describe() or 'either collection'}")
    pairs = pair_owners(head.selected, base.selected)
    matches: dict[tuple[int, int], UnitMatch] = {}

    def match(head_id: int, base_id: int) -> UnitMatch:
        key = (head_id, base_id)
        if key not in matches:
            same = head.selected.hashes[head_id] == base.selected.hashes[base_id]
            matches[key] = match_units(head.model(head_id), base.model(base_id), same)
        return matches[key]

    # binary by binary (owners, then the binary itself), so each build is decoded once
    chosen = _chosen_baselines(pairs)
    owners_of: dict[int | None, list[tuple[OwnerRow | None, OwnerRow | None]]] = defaultdict(list)
    for h, b in pairs:
        owners_of[h.binary_id if h is not None else None].append((h, b))
    owners: list[OwnerDiff] = []
    binaries: list[BinaryDiff] = []
    for head_id in sorted(head.selected.by_binary):
        owners += [_owner_diff(head, base, h, b, match) for h, b in owners_of[head_id]]
        binaries.append(_binary_diff(head, base, head_id, chosen.get(head_id), match))
    owners += [_owner_diff(head, base, h, b, match) for h, b in owners_of[None]]
    used = set(chosen.values())
    binaries += [
        _binary_diff(head, base, None, base_id, match)
        for base_id in sorted(base.selected.by_binary)
        if base_id not in used
    ]
    binaries.sort(key=lambda d: (d.name, d.head_hash, d.base_hash))
    owners.sort(key=lambda o: (o.namespace, o.owner_type, o.owner_name, o.binary_name))
    return DiffResult(
        options.collection,
        options.baseline,
        _total(owners, binaries),
        owners,
        binaries,
        _namespaces(owners),
    )


def _total(owners: list[OwnerDiff], binaries: list[BinaryDiff]) -> Tally:
    """Categories over the owners; coverage over the binaries, each build counted once."""
    total = Tally()
    for owner in owners:
        total.add(owner.tally)
    heads = {b.head_hash: b.tally for b in binaries if b.head_hash}
    bases = {b.base_hash: b.tally for b in binaries if b.base_hash}
    total.head_statements = sum(t.head_statements for t in heads.values())
    total.head_covered = sum(t.head_covered for t in heads.values())
    total.base_statements = sum(t.base_statements for t in bases.values())
    total.base_covered = sum(t.base_covered for t in bases.values())
    return total


def _namespaces(owners: list[OwnerDiff]) -> dict[str, Tally]:
    namespaces: dict[str, Tally] = defaultdict(Tally)
    for owner in owners:
        namespaces[owner.namespace or "host"].add(owner.tally)
    return dict(sorted(namespaces.items()))


def _chosen_baselines(pairs: list[tuple[OwnerRow | None, OwnerRow | None]]) -> dict[int, int]:
    """Per head binary: the baseline build most of its owners paired with."""
    votes: dict[int, Counter[int]] = defaultdict(Counter)
    for h, b in pairs:
        if h is not None and b is not None:
            votes[h.binary_id][b.binary_id] += 1
    return {head_id: max((n, bid) for bid, n in c.items())[1] for head_id, c in votes.items()}


def _owner_diff(
    head: _Side, base: _Side, h: OwnerRow | None, b: OwnerRow | None, match: Matcher
) -> OwnerDiff:
    known = h or b
    assert known is not None
    result = tally(
        head.model(h.binary_id) if h else None,
        base.model(b.binary_id) if b else None,
        head.owner_counts(h) if h else None,
        base.owner_counts(b) if b else None,
        match(h.binary_id, b.binary_id) if h and b else None,
    )
    return OwnerDiff(
        known.namespace,
        known.owner_type,
        known.owner_name,
        known.binary_name,
        head.selected.hashes[h.binary_id] if h else "",
        base.selected.hashes[b.binary_id] if b else "",
        result,
    )


def _binary_diff(
    head: _Side, base: _Side, head_id: int | None, base_id: int | None, match: Matcher
) -> BinaryDiff:
    head_model = head.model(head_id) if head_id is not None else None
    base_model = base.model(base_id) if base_id is not None else None
    head_counts = head.binary_counts(head_id) if head_id is not None else None
    base_counts = base.binary_counts(base_id) if base_id is not None else None
    unit_match = match(head_id, base_id) if head_id is not None and base_id is not None else None
    side = head if head_id is not None else base
    known_id = head_id if head_id is not None else base_id
    assert known_id is not None
    name = side.selected.by_binary[known_id][0].binary_name
    codes = bases = None
    if head_model is not None and head_counts is not None:
        paired = unit_match is not None and base_counts is not None
        codes = (
            unit_categories(unit_match, head_counts, base_counts)
            if paired
            else np.full(head_model.meta.n_units, -1, dtype=np.int64)
        )
        bases = (
            baseline_counts(unit_match, base_counts)
            if paired
            else np.full(head_model.meta.n_units, -1, dtype=np.int64)
        )
    diff = BinaryDiff(
        name,
        head.selected.hashes[head_id] if head_id is not None else "",
        base.selected.hashes[base_id] if base_id is not None else "",
        tally(head_model, base_model, head_counts, base_counts, unit_match, codes=codes),
        unit_codes=None if codes is None else codes.astype(np.int8),
        unit_base_counts=bases,
    )
    head_files = analysis.units_by_file(head_model.meta, head_model.app) if head_model else {}
    base_files = analysis.units_by_file(base_model.meta, base_model.app) if base_model else {}
    for path in sorted(set(head_files) | set(base_files)):
        file_tally = tally(
            head_model if path in head_files else None,
            base_model if path in base_files else None,
            head_counts if path in head_files else None,
            base_counts if path in base_files else None,
            unit_match,
            head_files.get(path),
            base_files.get(path),
            codes,
        )
        diff.files.append(FileDiff(path, file_tally))
    return diff
