"""`--namespace` / `--owner` globs: which owners a command works on.

The prior tool's rules, kept so that its users' scripts select the same owners: globs are
OR-ed within a flag and AND-ed between flags; no glob means everything. Host processes
have no namespace and match `--namespace host`; pods without an owner have an empty owner
name, which `*` matches.
"""

from __future__ import annotations

import fnmatch
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coverage_collector import blobs
from coverage_collector.compiler import stats
from coverage_collector.compiler.store import binary_counts
from coverage_collector.covdata.model import CounterMode
from coverage_collector.database import Database
from coverage_collector.owners import OwnerKind

HOST_NAMESPACE = "host"


@dataclass(frozen=True)
class OwnerSelection:
    namespaces: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()

    @classmethod
    def of(cls, namespaces: Sequence[str] = (), owners: Sequence[str] = ()) -> OwnerSelection:
        return cls(tuple(namespaces), tuple(owners))

    @property
    def everything(self) -> bool:
        return not self.namespaces and not self.owners

    def matches(self, namespace: str, owner_type: str, owner_name: str) -> bool:
        if owner_type == OwnerKind.HOST and not namespace:
            namespace = HOST_NAMESPACE
        return _any(namespace, self.namespaces) and _any(owner_name, self.owners)

    def describe(self) -> str:
        """The selection as the flags that make it, for summaries ('' for everything)."""
        flags = [f"--namespace {g}" for g in self.namespaces]
        flags += [f"--owner {g}" for g in self.owners]
        return " ".join(flags)


@dataclass
class OwnerRow:
    id: int
    namespace: str
    owner_type: str
    owner_name: str
    binary_name: str
    binary_id: int
    image: str
    images: list[str]
    pods: list[str]
    containers: list[str]
    hosts: list[str]
    reports: int
    instances: int
    statements: int
    covered: int
    first_seen: str
    last_seen: str


@dataclass
class BinarySource:
    source_url: str = ""
    commit: str = ""
    checkout: str = ""
    """The resolved checkout, relative to the collection ('' if none)."""
    software_group: str = ""
    software_key: str = ""


def select_owners(conn: Database, selection: OwnerSelection) -> list[OwnerRow]:
    rows = [
        OwnerRow(
            *row[:7],
            *(json.loads(v) for v in row[7:11]),
            *row[11:],
        )
        for row in conn.execute(
            "SELECT id, namespace, owner_type, owner_name, binary_name, binary_id, image, "
            "images_json, pods_json, containers_json, hosts_json, reports, instances, "
            "statements, covered, first_seen, last_seen FROM owners "
            "ORDER BY namespace, owner_type, owner_name, binary_name, id"
        )
    ]
    return [o for o in rows if selection.matches(o.namespace, o.owner_type, o.owner_name)]


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

    def counts(self, conn: Database, binary_id: int, mode: CounterMode) -> np.ndarray:
        """The binary's counters over its selected owners (summed, OR-ed in set mode): the
        binary's own merged counters when every owner is selected."""
        if binary_id in self.every_owner:
            return binary_counts(conn, binary_id)
        ids = [o.id for o in self.by_binary[binary_id]]
        vectors = [
            blobs.unpack_counts(blob)
            for (blob,) in conn.execute(
                f"SELECT counts_blob FROM owners WHERE id IN ({', '.join('?' * len(ids))})", ids
            )
        ]
        return stats.combine(vectors, mode)


def select(conn: Database, selection: OwnerSelection) -> Selected:
    owners = select_owners(conn, selection)
    by_binary: dict[int, list[OwnerRow]] = defaultdict(list)
    for owner in owners:
        by_binary[owner.binary_id].append(owner)
    totals = dict(conn.execute("SELECT binary_id, count(*) FROM owners GROUP BY binary_id"))
    hashes = dict(conn.execute("SELECT id, meta_hash FROM binaries"))
    return Selected(
        owners,
        dict(sorted(by_binary.items(), key=lambda item: hashes[item[0]])),
        binary_sources(conn, by_binary),
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


def _any(value: str, globs: tuple[str, ...]) -> bool:
    return not globs or any(fnmatch.fnmatchcase(value, glob) for glob in globs)
