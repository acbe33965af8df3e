"""Entries grouped into owners and binaries, with host/pod de-duplication.

An owner is (namespace, owner kind, owner name, binary name, covmeta hash): pods
of one Deployment running one build of one binary, in every cluster of the
collection. The producer reports a hostNetwork container twice, as a pod and as
a host process; the host copy of such a process (same cluster, binary, host and
covmeta hash) is dropped. Host names recur across clusters (`kind-control-plane`,
`master-0`): a host entry is never the twin of a pod of another cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from coverage_collector.compile.filters import UpdateFilter
from coverage_collector.database.entries import EntryRow
from coverage_collector.owners import Owner, OwnerKind, node_names, owner_of


def entry_owner(row: EntryRow, nodes: Iterable[str]) -> Owner:
    """The owner of an entry: the explicit one its producer recorded, else inferred."""
    return owner_of(
        pod=row.pod_name,
        binary=row.program,
        host_process=row.is_host,
        nodes=nodes,
        explicit_kind=row.explicit_owner_kind,
        explicit_name=row.explicit_owner_name,
    )


def entry_view(row: EntryRow, owner: Owner) -> dict[str, str]:
    """The values `--update field=glob` filters match against."""
    return {
        "namespace": row.namespace,
        "node": row.hostname,
        "container": row.container_name,
        "image": row.image,
        "owner": owner.name,
        "binary": row.program,
    }


@dataclass
class Group:
    """Entries that share one result: an owner's, or a binary's."""

    key: str
    binary_id: int
    members: list[EntryRow] = field(default_factory=list)
    forced: bool = False

    def input_hash(self, signature: str) -> str:
        """Digest of everything the group's result depends on."""
        digest = hashlib.blake2b(signature.encode(), digest_size=16)
        digest.update(self.key.encode(errors="surrogateescape"))
        for row in sorted(self.members, key=lambda r: r.dir_name):
            digest.update(
                f"\0{row.dir_name}\0{row.input_hash}\0{row.metadata_hash}".encode(
                    errors="surrogateescape"
                )
            )
        return digest.hexdigest()


@dataclass(frozen=True)
class OwnerIdentity:
    namespace: str
    owner: Owner
    program: str
    meta_hash: str

    @property
    def key(self) -> str:
        parts = (self.namespace, self.owner.kind, self.owner.name, self.program, self.meta_hash)
        return "/".join(p.replace("%", "%25").replace("/", "%2F") for p in parts)


@dataclass
class Grouping:
    """The result of grouping: owners, binaries and the host duplicates left out."""

    owners: dict[str, Group]
    identities: dict[str, OwnerIdentity]
    binaries: dict[int, Group]
    duplicates: dict[int, int]
    """Host entry id -> the pod entry id of the same process."""


def group_entries(rows: list[EntryRow], update: UpdateFilter) -> Grouping:
    """Group compiled entries into owners and binaries; mark the groups `update` forces."""
    nodes = node_names(r.hostname for r in rows)
    pods: dict[tuple[str, str, str, str], int] = {}
    for row in rows:
        if not row.is_host:
            pods.setdefault((row.cluster, row.program, row.hostname, row.meta_hash), row.id)
    duplicates = {}
    owners: dict[str, Group] = {}
    identities: dict[str, OwnerIdentity] = {}
    binaries: dict[int, Group] = {}
    for row in rows:
        if row.is_host:
            twin = pods.get((row.cluster, row.program, row.hostname, row.meta_hash))
            if twin is not None:
                duplicates[row.id] = twin
                continue
        owner = entry_owner(row, nodes)
        namespace = "" if owner.kind == OwnerKind.HOST else row.namespace
        identity = OwnerIdentity(namespace, owner, row.program, row.meta_hash)
        forced = update.matches(entry_view(row, owner))
        group = owners.get(identity.key)
        if group is None:
            group = owners[identity.key] = Group(identity.key, row.binary_id)
            identities[identity.key] = identity
        binary = binaries.get(row.binary_id)
        if binary is None:
            binary = binaries[row.binary_id] = Group(row.meta_hash, row.binary_id)
        for target in (group, binary):
            target.members.append(row)
            target.forced |= forced
    return Grouping(owners, identities, binaries, duplicates)
