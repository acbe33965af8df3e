"""The owners a command works on (`--namespace` / `--owner`), by binary, with their sources.

The glob rules are `database.owners.OwnerSelection`'s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coverage_collector import database
from coverage_collector.covdata.model import CounterMode
from coverage_collector.database import Database, binaries, owners
from coverage_collector.database.owners import OwnerRow, OwnerSelection
from coverage_collector.results import merge_counts


@dataclass
class BinarySource:
    source_url: str = ""
    commit: str = ""
    checkout: str = ""
    """The resolved checkout, relative to the collection ('' if none)."""
    software_group: str = ""
    software_key: str = ""


def binary_sources(conn: Database, owners: dict[int, list[OwnerRow]]) -> dict[int, BinarySource]:
    """Per binary: its repository and commit (as resolved, else as recorded for its images)
    and its software group and key (the first recorded for its images)."""
    images = database.image_sources(conn)
    resolved = {bid: s for bid, s in database.binary_sources(conn).items() if s.source_url}
    result = {}
    for bid, members in owners.items():
        keys = sorted({key for o in members for key in o.images})
        known = [images[k] for k in keys if k in images]
        source = BinarySource()
        if bid in resolved:
            found = resolved[bid]
            source.source_url, source.commit = found.source_url, found.commit_id
            source.checkout = found.checkout
        else:
            source.source_url, source.commit = next(
                ((i.source_repo, i.commit_id) for i in known if i.source_repo), ("", "")
            )
        source.software_group = next((i.software_group for i in known if i.software_group), "")
        source.software_key = next((i.software_key for i in known if i.software_key), "")
        result[bid] = source
    return result


@dataclass
class Selected:
    """The selected owners, by binary, with each binary's source."""

    owners: list[OwnerRow]
    by_binary: dict[int, list[OwnerRow]]
    sources: dict[int, BinarySource]
    hashes: dict[int, str]
    every_owner: set[int]
    """Binaries all of whose owners are selected."""

    def counts(self, db: Database, binary_id: int, mode: CounterMode) -> np.ndarray:
        """The binary's counters over its selected owners (summed, OR-ed in set mode): the
        binary's own merged counters when every owner is selected."""
        if binary_id in self.every_owner:
            return binaries.binary_counts(db, binary_id)
        vectors = owners.owners_counts(db, [o.id for o in self.by_binary[binary_id]])
        return merge_counts(vectors, mode)


def select(db: Database, selection: OwnerSelection) -> Selected:
    """The owners `selection` picks, by binary (binaries by hash), with their sources."""
    selected = owners.owner_rows(db, selection)
    by_binary: dict[int, list[OwnerRow]] = defaultdict(list)
    for owner in selected:
        by_binary[owner.binary_id].append(owner)
    totals = owners.owners_per_binary(db)
    hashes = binaries.meta_hashes(db)
    return Selected(
        selected,
        dict(sorted(by_binary.items(), key=lambda item: hashes[item[0]])),
        binary_sources(db, by_binary),
        {bid: hashes[bid] for bid in by_binary},
        {bid for bid, members in by_binary.items() if len(members) == totals[bid]},
    )


def checkout_paths(conn: Database) -> list[str]:
    """Every checkout clone-sources made (relative to the collection), longest first."""
    return sorted(database.clone_paths(conn), key=len, reverse=True)


def checkout_relative(source_path: str, checkouts: Sequence[str]) -> str | None:
    """The path inside its repository of a resolved source file (None if in no checkout)."""
    for checkout in checkouts:
        if source_path.startswith(checkout + "/"):
            return source_path[len(checkout) + 1 :]
    return None
