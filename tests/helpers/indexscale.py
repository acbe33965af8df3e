"""A collection of many owners for the index's scale test and benchmark, written through the
database layer: no Go and no compile, a few seconds for 10,000 owners.

Every binary stores the covmeta of the demo sample's host-monitor (the namespaces' roll-up
decodes it) under a hash of its own; owners get deterministic names, numbers, containers and
clusters from a seeded random generator. The expected answers of the tests are computed from
these rows (`ScaleCollection`), never read back from the page.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coverage_collector import blobs
from coverage_collector.covdata.meta import decode_meta
from coverage_collector.database import binaries, entries, open_database, owners, sources
from coverage_collector.demo import SAMPLE
from coverage_collector.report.model import HIDDEN_BINARIES, HIDDEN_NAMESPACE_PREFIXES
from coverage_collector.results import Numbers

CLUSTERS = ("prod-east", "prod-west", "stage", "dev-1", "dev-2", "perf-lab")
TYPES = ("Deployment", "StatefulSet", "DaemonSet", "Job")
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")
TEST_BINARY = HIDDEN_BINARIES[0]


@dataclass(frozen=True)
class ScaleBinary:
    name: str
    meta_hash: str
    statements: int
    covered: int
    source: str
    """Its repository ('' when not resolved)."""


@dataclass(frozen=True)
class ScaleOwner:
    namespace: str
    owner_type: str
    owner_name: str
    binary: int
    """Its binary's index in `ScaleCollection.binaries`."""
    binary_name: str
    containers: tuple[str, ...]
    pods: tuple[str, ...]
    hosts: tuple[str, ...]
    statements: int
    covered: int
    clusters: tuple[str, ...]

    @property
    def test_namespace(self) -> bool:
        return self.namespace.startswith(HIDDEN_NAMESPACE_PREFIXES)

    @property
    def test_binary(self) -> bool:
        return self.binary_name in HIDDEN_BINARIES

    @property
    def percent(self) -> float:
        return Numbers(self.statements, self.covered).percent_rounded(1)

    @property
    def search_text(self) -> str:
        """What the index's search box looks in."""
        return "\n".join([self.namespace, self.owner_name, self.binary_name, *self.containers])


@dataclass(frozen=True)
class ScaleCollection:
    binaries: tuple[ScaleBinary, ...]
    owners: tuple[ScaleOwner, ...]
    """In the index's order (namespace, owner name, binary name)."""


def generate(owner_count: int = 10_000, binary_count: int = 400, seed: int = 16) -> ScaleCollection:
    """Owners in 300 namespaces (a few of them e2e-*, some host processes), running one of
    `binary_count` binaries (one is openshift-tests), each in one to three clusters."""
    rng = random.Random(seed)
    made = []
    for b in range(binary_count):
        name = TEST_BINARY if b == 7 else f"svc-{WORDS[b % len(WORDS)]}-{b:03d}"
        statements = rng.randint(50, 20_000)
        source = f"https://github.com/example-org/repo-{b % 25:02d}" if b % 3 else ""
        made.append(
            ScaleBinary(
                name=name,
                meta_hash=hashlib.md5(f"binary {b}".encode()).hexdigest(),
                statements=statements,
                covered=rng.randint(0, statements),
                source=source,
            )
        )
    rows = []
    for i in range(owner_count):
        b = rng.randrange(binary_count)
        binary = made[b]
        roll = rng.random()
        if roll < 0.03:
            namespace, kind = "", "Host"
        elif roll < 0.07:
            namespace, kind = f"e2e-suite-{rng.randrange(20):02d}", rng.choice(TYPES)
        else:
            namespace, kind = f"team-{rng.randrange(300):03d}", rng.choice(TYPES)
        name = f"{WORDS[i % len(WORDS)]}-{rng.choice(WORDS)}-{i:05d}"
        pods_count = 12 if kind == "DaemonSet" else rng.randint(1, 3)
        pods = tuple(f"{name}-{k:x}{rng.randrange(1 << 20):05x}" for k in range(pods_count))
        hosts = tuple(f"ip-10-0-{k % 16}-{k}.ec2.internal" for k in range(pods_count))
        containers = (f"{name}-main",) if rng.random() < 0.8 else (f"{name}-main", "sidecar")
        rows.append(
            ScaleOwner(
                namespace=namespace,
                owner_type=kind,
                owner_name=name,
                binary=b,
                binary_name=binary.name,
                containers=containers,
                pods=pods,
                hosts=hosts,
                statements=binary.statements,
                covered=rng.randint(0, binary.statements),
                clusters=tuple(sorted(rng.sample(CLUSTERS, rng.randint(1, 3)))),
            )
        )
    rows.sort(key=lambda o: (o.namespace, o.owner_name, o.binary_name))
    return ScaleCollection(tuple(made), tuple(rows))


def _sample_meta() -> bytes:
    """The covmeta of the demo sample's host-monitor (a small real one)."""
    entry = next(p for p in SAMPLE.iterdir() if p.name.endswith("host-monitor"))
    return next(p for p in entry.iterdir() if p.name.startswith("covmeta.")).read_bytes()


def _entry(name: str, binary: ScaleBinary) -> entries.EntryRecord:
    return entries.EntryRecord(
        dir_name=name,
        namespace="",
        pod_name="",
        container_name=binary.name,
        image="",
        binary_name=binary.name,
        hostname="node",
        is_host=True,
        explicit_owner_kind="",
        explicit_owner_name="",
        collected_at="2026-01-01T00:00:00Z",
        first_seen="2026-01-01T00:00:00Z",
        last_seen="2026-01-02T00:00:00Z",
        source_key=f"host:{binary.name}",
        source_url="",
        source_commit="",
        software_group="",
        software_key="",
        instances=1,
        counts_blob=None,
        statements=binary.statements,
        covered=binary.covered,
        status="ok",
        error_msg="",
        stat_sig="",
        input_hash="",
        metadata_hash="",
    )


def write_database(collection: Path, scale: ScaleCollection) -> None:
    """Write `scale` as `collection`'s coverage.db (binaries, one entry each, owners, the
    binaries' sources) through coverage_collector.database's writers."""
    raw = _sample_meta()
    meta = decode_meta(raw)
    zeros = blobs.pack_counts(np.zeros(meta.n_units, dtype=np.uint64))
    db = open_database(str(collection))
    try:
        for b, binary in enumerate(scale.binaries):
            entries.write_entry(
                db,
                _entry(f"entry-{b:04d}", binary),
                entries.NewBinary(
                    meta_hash=binary.meta_hash,
                    name=binary.name,
                    mode=str(meta.mode),
                    granularity=str(meta.granularity),
                    n_units=meta.n_units,
                    n_funcs=meta.n_funcs,
                    meta_blob=blobs.pack_bytes(raw),
                ),
                [],
                [],
            )
        binary_ids = {h: i for i, h in binaries.meta_hashes(db).items()}
        entry_ids = entries.entry_ids(db)
        ids = [  # each binary's id and its entry's
            (binary_ids[binary.meta_hash], entry_ids[f"entry-{b:04d}"])
            for b, binary in enumerate(scale.binaries)
        ]
        with db.transaction():
            for (binary_id, _), binary in zip(ids, scale.binaries, strict=True):
                numbers = binaries.BinaryNumbers(
                    binary.name, zeros, binary.statements, binary.covered, 1, 1, "x"
                )
                binaries.write_binary(db, binary_id, numbers, [], [])
            for i, o in enumerate(scale.owners):
                binary_id, entry_id = ids[o.binary]
                owners.write_owner(
                    db, _owner(o, binary_id, zeros, i), [owners.OwnerMember(entry_id, "x")], [], []
                )
        for (binary_id, _), binary in zip(ids, scale.binaries, strict=True):
            if binary.source:
                row = sources.BinarySourceRow(
                    binary_id, "go.mod", "exact", "", "0" * 40, binary.source, 1
                )
                sources.store_binary_sources(db, row, [])
    finally:
        db.close()


def _owner(o: ScaleOwner, binary_id: int, counts: bytes, number: int) -> owners.OwnerRecord:
    return owners.OwnerRecord(
        group_key=f"{o.namespace}/{o.owner_type}/{o.owner_name}/{o.binary_name}/{number}",
        namespace=o.namespace,
        owner_type=o.owner_type,
        owner_name=o.owner_name,
        binary_name=o.binary_name,
        binary_id=binary_id,
        image=f"registry.example/{o.binary_name}:v1",
        images_json=json.dumps([f"registry.example/{o.binary_name}:v1"]),
        pods_json=json.dumps(list(o.pods)),
        pod_count=len(o.pods),
        containers_json=json.dumps(list(o.containers)),
        hosts_json=json.dumps(list(o.hosts)),
        entries=len(o.pods),
        instances=len(o.pods),
        statements=o.statements,
        covered=o.covered,
        coverage_pct=o.percent,
        counts_blob=counts,
        first_seen="2026-01-01T00:00:00Z",
        last_seen="2026-01-02T00:00:00Z",
        input_hash="x",
        clusters_json=json.dumps(sorted(o.clusters)),
    )
