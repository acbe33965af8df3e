"""The owners a command works on (`--namespace` / `--owner`), by binary, with their sources.

The glob rules are `database.owners.OwnerSelection`'s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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
    images = {
        key: (url, commit, group, software_key)
        for key, url, commit, group, software_key in conn.execute(
            "SELECT image, source_repo, commit_id, software_group, software_key FROM image_sources"
        )
    }
    resolved = {
        bid: (url, commit, checkout)
        for bid, url, commit, checkout in conn.execute(
            "SELECT binary_id, source_url, commit_id, checkout FROM binary_sources "
            "WHERE source_url != ''"
        )
    }
    result = {}
    for bid, members in owners.items():
        keys = sorted({key for o in members for key in o.images})
        known = [images[k] for k in keys if k in images]
        source = BinarySource()
        source.source_url, source.commit, source.checkout = resolved.get(bid) or next(
            ((url, commit, "") for url, commit, _, _ in known if url), ("", "", "")
        )
        source.software_group = next((g for _, _, g, _ in known if g), "")
        source.software_key = next((k for _, _, _, k in known if k), "")
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
    paths = (p for (p,) in conn.execute("SELECT path FROM clones WHERE path != ''"))
    return sorted(paths, key=len, reverse=True)


def checkout_relative(source_path: str, checkouts: Sequence[str]) -> str | None:
    """The path inside its repository of a resolved source file (None if in no checkout)."""
    for checkout in checkouts:
        if source_path.startswith(checkout + "/"):
            return source_path[len(checkout) + 1 :]
    return None
