"""Reports grouped into owners and binaries, with host/pod de-duplication.

An owner is (namespace, owner kind, owner name, binary name, covmeta hash): pods
of one Deployment running one build of one binary. The producer reports a
hostNetwork container twice, as a pod and as a host process; the host copy of
such a process (same binary, host and covmeta hash) is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from coverage_collector.compiler.filters import UpdateFilter
from coverage_collector.owners import Owner, OwnerKind, node_names, owner_of


def program_name(binary_name: str, container_name: str, meta_hash: str) -> str:
    """A binary's name as users know it: its name, else its container's, else its hash."""
    return binary_name or container_name or meta_hash[:12]


def source_key(image: str, is_host: bool, program: str) -> str:
    """The key of an entry's sources in `image_sources`: its image, or `host:<binary>`."""
    return image if image and not is_host else f"host:{program}"


@dataclass(frozen=True)
class ReportRow:
    """A compiled report as the grouping needs it (no counters)."""

    id: int
    dir_name: str
    binary_id: int
    meta_hash: str
    namespace: str
    pod_name: str
    container_name: str
    image: str
    binary_name: str
    hostname: str
    is_host: bool
    explicit_owner_kind: str
    explicit_owner_name: str
    first_seen: str
    last_seen: str
    instances: int
    input_hash: str
    metadata_hash: str
    source_key: str = ""
    """The key of the report's sources: its image, or `host:<binary>`."""
    sources: tuple[str, str, str, str] = ("", "", "", "")
    """source_url, source_commit, software_group, software_key from info.json."""

    @property
    def program(self) -> str:
        """The binary's name as users know it."""
        return program_name(self.binary_name, self.container_name, self.meta_hash)

    def owner(self, nodes: Iterable[str]) -> Owner:
        return owner_of(
            pod=self.pod_name,
            binary=self.program,
            host_process=self.is_host,
            nodes=nodes,
            explicit_kind=self.explicit_owner_kind,
            explicit_name=self.explicit_owner_name,
        )

    def view(self, owner: Owner) -> dict[str, str]:
        """The values `--update field=glob` filters match against."""
        return {
            "namespace": self.namespace,
            "node": self.hostname,
            "container": self.container_name,
            "image": self.image,
            "owner": owner.name,
            "binary": self.program,
        }


@dataclass
class Group:
    """Reports that share one result: an owner's, or a binary's."""

    key: str
    binary_id: int
    members: list[ReportRow] = field(default_factory=list)
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
    """Host report id -> the pod report id of the same process."""


def group_reports(rows: list[ReportRow], update: UpdateFilter) -> Grouping:
    """Group compiled reports into owners and binaries; mark the groups `update` forces."""
    nodes = node_names(r.hostname for r in rows)
    pods: dict[tuple[str, str, str], int] = {}
    for row in rows:
        if not row.is_host:
            pods.setdefault((row.program, row.hostname, row.meta_hash), row.id)
    duplicates = {}
    owners: dict[str, Group] = {}
    identities: dict[str, OwnerIdentity] = {}
    binaries: dict[int, Group] = {}
    for row in rows:
        if row.is_host:
            twin = pods.get((row.program, row.hostname, row.meta_hash))
            if twin is not None:
                duplicates[row.id] = twin
                continue
        owner = row.owner(nodes)
        namespace = "" if owner.kind == OwnerKind.HOST else row.namespace
        identity = OwnerIdentity(namespace, owner, row.program, row.meta_hash)
        forced = update.matches(row.view(owner))
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
