"""Generate one collection of many reference-scale clusters (issue 16: collections that span
clusters), from the parts ``bench/cluster_gen.py`` builds.

Cluster ``k`` (``0 <= k < --clusters``) is a reference-scale cluster of its own (about 2,200
entries and 860 owners, drawn by ``cluster_gen.plan_cluster`` from its own random stream): its
own nodes (``ip-10-<k>-...``), controller names, ReplicaSet hashes, pod suffixes, restarts and
host processes. A few Deployments (``SHARED_DEPLOYMENTS``) run in every cluster, the way a
release's Deployment does: same namespace, name and pod template (so the same owners, of the
same binaries), a new ReplicaSet hash, new pod suffixes and new nodes per cluster. Host
processes (kubelet, crio, hyperkube) and static pods recur too, being named after their
binary and their node.

Every entry's ``metadata.json`` records its cluster, ``openshift-ci/coverage/cluster-<k>``,
the S3 prefix ``cluster download`` would have read it from; its directory name starts with
``cluster-<k>-``, so no two clusters' entries collide. A cluster's content depends only on
``--seed``, ``--scale`` and ``k``: the collection of N clusters is the one of N-1 plus cluster
N-1, which makes "compile one more cluster" a copy of its directories.

**Counter files.** Each process takes the next counter file of its binary's pool, as in
``cluster_gen``, but the pools hold what one reference cluster needs (they are not grown for N
clusters, which would mean thousands of Go runs): a cluster's processes wrap around its pool,
so clusters share counter bytes (never within a cluster as far as the pool allows). Compile
reads every file regardless of its content, so this does not flatter it.

Outside ``coverage/`` the script writes ``bench-manifest.json`` (parameters, binaries, summary
with one line per cluster) and ``bench-owners.json`` (each entry's owner by construction), as
``cluster_gen`` does.

Usage::

    python -m bench.scale_gen --output DIR --clusters N [--seed S] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench import cluster_gen
from bench.cluster_gen import ClusterShape, Controller, Entry, Node, Pool, Variant

FORMAT = 1
"""Bump when the layout of the collections changes (together with ``cluster_gen.FORMAT``)."""
CLUSTER_PREFIX = "openshift-ci/coverage/cluster-"
SHARED_DEPLOYMENTS = 12
"""Deployments that run in every cluster (about 50 owners of the 860 of a cluster)."""
SEEDS_PER_RUN = 1000
"""Cluster ``k`` of ``--seed S`` is ``cluster_gen``'s cluster of seed ``1000 * S + k``."""
WRITERS = 4
"""Entry directories written at once (copying is I/O: threads overlap it)."""


@dataclass(frozen=True)
class Cluster:
    """One cluster of the collection: its S3 prefix, its entry name prefix, its entries."""

    index: int
    entries: tuple[Entry, ...]

    @property
    def prefix(self) -> str:
        """The S3 prefix `metadata.json` records as the entry's cluster."""
        return f"{CLUSTER_PREFIX}{self.index}"

    @property
    def dir_prefix(self) -> str:
        """What every entry directory of the cluster starts with."""
        return f"cluster-{self.index}-"


def cluster_nodes(seed: int, index: int) -> tuple[Node, ...]:
    """The six nodes of cluster ``index`` (three masters, three workers), AWS-style names in
    the cluster's own ``10.<index>.0.0/16`` network."""
    rng = random.Random(f"scale-gen-nodes-{seed}-{index}")
    nodes = []
    for subnet in range(6):
        ip = f"10.{index % 256}.{subnet}.{rng.randrange(2, 255)}"
        nodes.append(Node(f"ip-{ip.replace('.', '-')}.ec2.internal", ip, subnet < 3))
    return tuple(nodes)


def shared_deployments(
    seed: int, variants: Sequence[Variant]
) -> tuple[tuple[Controller, ...], dict[str, int]]:
    """Draw the Deployments every cluster runs; return them with the controller names their
    draw used per namespace (which the clusters' own controllers must not take)."""
    planner = cluster_gen.Planner(random.Random(f"scale-gen-shared-{seed}"), variants)
    shared: list[Controller] = []
    while len(shared) < SHARED_DEPLOYMENTS:
        ctl = planner.controller()
        if ctl.kind == "Deployment":
            shared.append(ctl)
    return tuple(shared), dict(planner.names)


def plan_clusters(seed: int, clusters: int, scale: float) -> list[Cluster]:
    """The clusters of the collection, each with its entries named for the collection."""
    variants = cluster_gen.VARIANTS
    shared, taken = shared_deployments(seed, variants)
    planned = []
    for index in range(clusters):
        shape = ClusterShape(cluster_nodes(seed, index), shared, taken)
        entries = cluster_gen.plan_cluster(SEEDS_PER_RUN * seed + index, scale, variants, shape)
        cluster = Cluster(index, ())
        for e in entries:
            e.dir_name = cluster_gen.entry_dir_name(cluster.dir_prefix + e.dir_name)
        planned.append(dataclasses.replace(cluster, entries=tuple(entries)))
    return planned


def wrap_slots(entries: Sequence[Entry], pools: Mapping[str, Pool]) -> None:
    """Point every instance at a counter file its binary's pool has (wrapping around it)."""
    for e in entries:
        size = len(pools[e.variant.key].counters)
        e.instances = [dataclasses.replace(i, slot=i.slot % size) for i in e.instances]


def reference_pools(scale: float) -> dict[str, Pool]:
    """The cached pools, at least as large as the reference cluster (``cluster_gen``'s seed 1)
    needs: built and run only when the cache is cold."""
    need = cluster_gen.pool_need(cluster_gen.plan_cluster(1, scale))
    need = {v: max(need.get(v, 0), 1) for v in cluster_gen.VARIANTS}
    return cluster_gen.ensure_pools(need, os.cpu_count() or 2)


def write_clusters(out: Path, clusters: Sequence[Cluster], pools: Mapping[str, Pool]) -> int:
    """Write ``out/coverage`` (via a temporary directory, renamed at the end); return bytes."""
    partial = out / ".coverage-partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with ThreadPoolExecutor(WRITERS) as writers:
        sizes = [
            writers.submit(cluster_gen.write_entry, partial, e, pools[e.variant.key], c.prefix)
            for c in clusters
            for e in c.entries
        ]
        total = sum(f.result() for f in sizes)
    shutil.rmtree(out / "coverage", ignore_errors=True)
    partial.rename(out / "coverage")
    return total


def params_of(seed: int, clusters: int, scale: float) -> dict[str, object]:
    """What identifies a generated collection."""
    return {
        "format": FORMAT,
        "cluster_gen_format": cluster_gen.FORMAT,
        "seed": seed,
        "clusters": clusters,
        "scale": scale,
    }


def is_current(out: Path, params: Mapping[str, object]) -> bool:
    """True when ``out`` already holds the collection of ``params``."""
    try:
        manifest = json.loads((out / cluster_gen.MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same = all(manifest.get(k) == v for k, v in params.items())
    return same and (out / "coverage").is_dir()


def generate(
    out: Path, clusters: int, seed: int = 1, scale: float = 1.0, force: bool = False
) -> dict[str, object]:
    """Generate the collection of ``clusters`` clusters into ``out``; return the summary."""
    if (out / "coverage").exists() and not (out / cluster_gen.MANIFEST).exists() and not force:
        raise SystemExit(f"error: {out}/coverage exists and was not generated here (--force)")
    t0 = time.monotonic()
    planned = plan_clusters(seed, clusters, scale)
    pools = reference_pools(scale)
    entries = [e for c in planned for e in c.entries]
    wrap_slots(entries, pools)
    (out / cluster_gen.MANIFEST).unlink(missing_ok=True)
    total = write_clusters(out, planned, pools)
    summary = cluster_gen.summarize(entries, pools, total)
    summary["clusters"] = [cluster_gen.summarize(c.entries, pools, 0) for c in planned]
    summary["seconds"] = round(time.monotonic() - t0, 1)
    params = params_of(seed, clusters, scale)
    cluster_gen.write_side_files(out, params, entries, pools, summary)
    return summary


def print_summary(out: Path, s: Mapping[str, object]) -> None:
    """Print the generator's summary: the collection's totals, then one line per cluster."""
    per_cluster = s["clusters"]
    assert isinstance(per_cluster, list)
    print(f"collection: {out}/coverage ({len(per_cluster)} clusters)")
    print(
        f"  entries {s['entries']}, owners (by construction) {s['owners']}, binaries "
        f"{s['binaries']}, counter files {s['counter_files']}, "
        f"{int(s['total_bytes']) / 1e6:,.1f} MB; took {s['seconds']} s"  # type: ignore[call-overload]
    )
    for index, c in enumerate(per_cluster):
        print(
            f"  {CLUSTER_PREFIX}{index}: entries {c['entries']}, owners {c['owners']}, "
            f"pods {c['pods']}, restarted {c['restarted_entries']}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, required=True, help="collection directory")
    parser.add_argument("--clusters", type=int, required=True, help="how many clusters")
    parser.add_argument("--seed", type=int, default=1, help="seed of the clusters (1)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="size of each cluster: 1.0 = 2,200 entries"
    )
    parser.add_argument("--force", action="store_true", help="replace a foreign coverage/ dir")
    opts = parser.parse_args(argv)
    if opts.clusters < 1 or opts.scale <= 0:
        parser.error("--clusters must be at least 1 and --scale positive")
    out = opts.output.expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    if is_current(out, params_of(opts.seed, opts.clusters, opts.scale)) and not opts.force:
        print(f"{out}/coverage is current (--force to write it again)")
        return 0
    print_summary(out, generate(out, opts.clusters, opts.seed, opts.scale, opts.force))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
