"""A collection that spans clusters: downloaded from moto's S3 with `--prefix` given once per
cluster and with `--clusters GLOB`, then compiled, summarised, exported and ingested.

Three clusters are made from the bundled sample (no Go needed), as CI makes them: each its
own short-lived cluster under the producer's `s3BasePath/<cluster>/`. The Deployment
`inventory-api` recurs in every cluster with a new ReplicaSet hash and new pods; the
DaemonSet gets new pod suffixes; clusters a and b have nodes of the same names (so the host
process `host-monitor` runs on `ip-10-0-1-23.ec2.internal` in two clusters), cluster c has
nodes of its own, and runs the StatefulSet as `kv-cache` (an owner only c has). Every
cluster holds the sample's own counter files, so each cluster's
numbers are the sample's, which a single-cluster compile of the sample gives.
"""

from __future__ import annotations

import itertools
import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from coverage_collector import compile, database, summary
from coverage_collector.collection import list_entries
from coverage_collector.database import entries, owners
from coverage_collector.demo import producer_keys
from tests.helpers.browser import rows
from tests.helpers.clirunner import run_cli
from tests.helpers.gofixtures import cache_root, covdata, go_env
from tests.helpers.s3fixtures import MotoServer, S3Env
from tests.helpers.sourcefixtures import compile_and_resolve_sample

SAMPLE = resources.files("coverage_collector") / "sample_collection" / "coverage"
PARENT = "openshift-ci/coverage"
CLUSTERS = ("ci-op-a", "ci-op-b", "ci-op-c")
_buckets = itertools.count(1)
NO_SOURCE = "no source"
"""The badge an owner's cell carries while its binary's source is not resolved."""


REPLICA_SET_HASHES = ("7d9f8c6b5d", "6b5d7d9f8c", "8c6b5d7d9f", "9f8c6b5d7d")
"""The Deployment's ReplicaSet hash per cluster (Kubernetes' alphabet: no vowels, 0, 1, 3)."""


def _renamed(key: str, cluster: str) -> str:
    """The sample's key as `cluster` has it: new pod names, and for c new node names."""
    index = CLUSTERS.index(cluster) if cluster in CLUSTERS else len(CLUSTERS)
    key = key.replace(
        f"inventory-api-{REPLICA_SET_HASHES[0]}-", f"inventory-api-{REPLICA_SET_HASHES[index]}-"
    )
    for suffix in ("4xkzr", "9tq2m", "hd7wl"):
        key = key.replace(f"node-agent-{suffix}", f"node-agent-{suffix[:4]}{'rcdf'[index]}")
    if index >= 2:
        key = key.replace("ip-10-0-", f"ip-10-{index}-")
    if index == 2:
        key = key.replace("/kv-store-0/", "/kv-cache-0/").replace("/kv-store-1/", "/kv-cache-1/")
    return key


def upload_cluster(client: Any, bucket: str, cluster: str) -> int:
    """Upload the sample as cluster `cluster` under PARENT; return the number of objects."""
    with resources.as_file(SAMPLE) as sample:
        keys = producer_keys(str(sample), f"{PARENT}/{cluster}/")
        for key, path in keys.items():
            body = Path(path).read_bytes()
            client.put_object(Bucket=bucket, Key=_renamed(key, cluster), Body=body)
    return len(keys)


@pytest.fixture
def bucket(s3: Any, s3_env: S3Env) -> str:
    name = f"clusters-{next(_buckets)}"
    s3.create_bucket(Bucket=name)
    for cluster in CLUSTERS:
        upload_cluster(s3, name, cluster)
    # A sibling the glob leaves out, and an object beside the clusters.
    s3.put_object(Bucket=name, Key=f"{PARENT}/other-x/README", Body=b"not a cluster\n")
    return name


def download(collection: Path, bucket: str, moto: MotoServer, *args: str) -> Any:
    return run_cli(
        "cluster",
        "download",
        "--collection",
        str(collection),
        "--bucket",
        bucket,
        "--endpoint-url",
        moto.endpoint,
        *args,
    )


def _identities(collection: Path) -> dict[str, tuple[str, ...]]:
    """Every entry directory and what its metadata says (cluster included)."""
    return {
        e.name: (
            e.metadata.cluster,
            e.metadata.hostname,
            e.metadata.namespace,
            e.metadata.pod_name,
            e.metadata.binary_name,
            *sorted(i.counter_file for i in e.metadata.instances),
        )
        for e in list_entries(str(collection))
    }


def _sample_numbers(tmp_path: Path) -> summary.Overview:
    single = tmp_path / "single"
    with resources.as_file(SAMPLE) as sample:
        shutil.copytree(sample, single / "coverage")
    compile.run(compile.Options(collection=str(single), max_concurrency=1))
    return summary.overview(str(single), "owner")


def test_prefixes_and_a_cluster_glob_download_the_same_collection(
    bucket: str, moto_s3: MotoServer, tmp_path: Path
) -> None:
    by_prefix = tmp_path / "by-prefix"
    args = [arg for c in CLUSTERS for arg in ("--prefix", f"{PARENT}/{c}")]
    first = download(by_prefix, bucket, moto_s3, *args)
    assert first.status == 0, first.err
    by_glob = tmp_path / "by-glob"
    second = download(by_glob, bucket, moto_s3, "--prefix", PARENT, "--clusters", "ci-op-*")
    assert second.status == 0, second.err
    assert "clusters: 3 (openshift-ci/coverage/ci-op-a, " in second.err

    found = _identities(by_prefix)
    assert found == _identities(by_glob)
    assert len(found) == 30  # the sample's 10 entries, in each of 3 clusters
    clusters = sorted({identity[0] for identity in found.values()})
    assert clusters == [f"{PARENT}/{c}" for c in CLUSTERS]
    # The host process on the node both a and b have: two entries, one per cluster.
    monitors = sorted(i[:2] for i in found.values() if i[4] == "host-monitor")
    assert monitors == [
        (f"{PARENT}/ci-op-a", "ip-10-0-1-23.ec2.internal"),
        (f"{PARENT}/ci-op-b", "ip-10-0-1-23.ec2.internal"),
        (f"{PARENT}/ci-op-c", "ip-10-2-1-23.ec2.internal"),
    ]


def test_a_parent_prefix_without_clusters_suggests_the_glob(
    bucket: str, moto_s3: MotoServer, tmp_path: Path
) -> None:
    result = download(tmp_path / "c", bucket, moto_s3, "--prefix", PARENT)
    assert result.status != 0
    assert f"--prefix {PARENT}/ --clusters '*'" in result.err
    unmatched = download(tmp_path / "d", bucket, moto_s3, "--prefix", PARENT, "--clusters", "x*")
    assert unmatched.status != 0
    assert "No cluster under s3://" in unmatched.err and "ci-op-a/" in unmatched.err


def test_a_cluster_name_from_the_bucket_passes_the_trust_boundary(
    bucket: str, s3: Any, moto_s3: MotoServer, tmp_path: Path
) -> None:
    long_name = "ci-op-" + "x" * 300  # over the 253 characters of a key component
    upload_cluster(s3, bucket, long_name)
    collection = tmp_path / "c"
    result = download(collection, bucket, moto_s3, "--prefix", PARENT, "--clusters", "ci-op-*")
    assert result.status == 1
    assert f"refused: {PARENT}/{long_name}/: cluster: " in result.err
    assert "clusters: 3 (" in result.err
    assert len(_identities(collection)) == 30  # the good clusters, all of them
    assert not any(long_name in str(p) for p in collection.rglob("*"))


def test_reruns_fetch_only_a_new_clusters_objects(
    bucket: str, s3: Any, moto_s3: MotoServer, tmp_path: Path
) -> None:
    collection = tmp_path / "c"
    glob = ("--prefix", PARENT, "--clusters", "ci-op-*")
    first = download(collection, bucket, moto_s3, *glob)
    assert first.status == 0
    fetched = int(first.err.split("files: ")[1].split()[0])
    per_cluster = fetched // len(CLUSTERS)  # the clusters hold the same files
    compile.run(compile.Options(collection=str(collection), max_concurrency=1))

    again = download(collection, bucket, moto_s3, *glob)
    assert f"files: 0 downloaded (0 bytes), {fetched} unchanged" in again.err
    upload_cluster(s3, bucket, "ci-op-d")
    grown = download(collection, bucket, moto_s3, *glob)
    assert grown.status == 0, grown.err
    assert f"files: {per_cluster} downloaded" in grown.err
    assert f", {fetched} unchanged" in grown.err
    compiled = compile.run(compile.Options(collection=str(collection), max_concurrency=1))
    assert (compiled.entries, compiled.decoded) == (40, 10)


def test_clusters_survive_compile_summary_export_and_ingest(
    bucket: str, moto_s3: MotoServer, tmp_path: Path, bigquery_emulator: Any
) -> None:
    collection = tmp_path / "c"
    # `*` takes other-x too, which holds no coverage: named, exit 1, the clusters still come.
    everything = download(collection, bucket, moto_s3, "--prefix", PARENT, "--clusters", "*")
    assert everything.status == 1
    failure = f"failed: Couldn't find coverage data in s3://{bucket}/{PARENT}/other-x/: "
    assert failure in everything.err  # the prefix named once
    result = compile.run(compile.Options(collection=str(collection), max_concurrency=1))
    assert result.ok and result.entries == 30
    sample = _sample_numbers(tmp_path)
    names = [f"{PARENT}/{c}" for c in CLUSTERS]

    # Owners recur across clusters: the sample's owners in all three clusters, but for the
    # StatefulSet that c names otherwise.
    with database.open_readonly(str(collection)) as db:
        rows = owners.owner_rows(db)
        assert len(rows) == len(sample.rows) + 1
        assert {o.owner_name: list(o.clusters) for o in rows} == {
            **{r.labels[2]: names for r in sample.rows},
            "kv-store": names[:2],
            "kv-cache": names[2:],
        }
        assert sum(o.entries for o in rows) == 30
        spans = entries.cluster_rows(db)
    assert [(c.name, c.entries, c.instances) for c in spans] == [(n, 10, 11) for n in names]
    assert all(c.first_seen and c.last_seen and c.first_seen < c.last_seen for c in spans)
    # No host entry is a twin of another cluster's pod.
    assert result.host_duplicates == 0

    # Each cluster's numbers are the sample's; the collection's too (same binaries).
    by_cluster = summary.overview(str(collection), "cluster")
    assert [(r.labels[0], r.labels[1]) for r in by_cluster.rows] == [(n, "4") for n in names]
    for row in by_cluster.rows:
        assert (row.entries, row.statements, row.covered) == (10, sample.statements, sample.covered)
    assert (by_cluster.statements, by_cluster.covered) == (sample.statements, sample.covered)
    printed = run_cli("cluster", "summary", "--collection", str(collection), "--by", "cluster")
    assert printed.status == 0 and f"{PARENT}/ci-op-b" in printed.out

    exported = run_cli(
        "cluster", "export", "--collection", str(collection), "--by", "owner", "--format", "json"
    )
    assert exported.status == 0, exported.err
    index = json.loads((collection / "exports" / "json" / "index.json").read_text())
    clusters_of = {o.owner_name: list(o.clusters) for o in rows}
    assert len(index["groups"]) == len(rows)
    for group in index["groups"]:
        assert group["clusters"] == clusters_of[group["owners"][0].split("/")[2]]

    dataset = "clusters_1"
    ingested = run_cli(
        "bigquery",
        "--project",
        "test-project",
        "--dataset",
        dataset,
        "--api-endpoint",
        bigquery_emulator.endpoint,
        "ingest",
        "--collection",
        str(collection),
    )
    assert ingested.status == 0, ingested.err
    client = bigquery_emulator.client("test-project")
    table = f"`test-project.{dataset}.coverage_owners`"
    owner_rows = list(client.query(f"SELECT owner_name, clusters, processes FROM {table}").result())
    assert len(owner_rows) == len(rows)
    for row in owner_rows:
        assert list(row["clusters"]) == clusters_of[row["owner_name"]]
        assert sorted({p["cluster"] for p in row["processes"]}) == list(row["clusters"])
        assert all(p["last_seen"] is not None for p in row["processes"])
    (collection_row,) = client.query(
        f"SELECT clusters FROM `test-project.{dataset}.coverage_collections`"
    ).result()
    assert list(collection_row["clusters"]) == names


def test_the_index_filters_owners_by_cluster(
    bucket: str, moto_s3: MotoServer, tmp_path: Path, page: Any
) -> None:
    collection = tmp_path / "c"
    glob = ("--prefix", PARENT, "--clusters", "ci-op-*")
    assert download(collection, bucket, moto_s3, *glob).status == 0
    assert compile.run(compile.Options(collection=str(collection), max_concurrency=1)).ok
    rendered = run_cli("cluster", "render", "--collection", str(collection))
    assert rendered.status == 0, rendered.err
    page.goto((collection / "html" / "index.html").as_uri() + "#tests=shown")
    page.wait_for_selector("#owners tbody tr.row")
    assert "3 clusters · 30 entries" in page.inner_text("header .meta")

    def shown() -> list[tuple[str, str]]:
        """(owner, clusters column) of every row shown."""
        return sorted((r[2].removesuffix(NO_SOURCE), r[-1]) for r in rows(page))

    everyone = shown()
    assert ("kv-store", "2") in everyone and ("kv-cache", "1") in everyone
    assert len(everyone) == 6 and sum(c == "3" for _, c in everyone) == 4
    c = f"{PARENT}/ci-op-c"
    page.evaluate("c => document.querySelector(`#filter-cluster input[value='${c}']`).click()", c)
    page.wait_for_function("() => document.querySelectorAll('#owners tbody tr.row').length == 5")
    assert [owner for owner, _ in shown()] == sorted(
        owner for owner, _ in everyone if owner != "kv-store"
    )
    # A deep link carries the filter.
    assert "cluster=" in page.evaluate("location.hash")


WHO = """line => {
  document.querySelector(`#L${line} td.code`).click();
  const rows = [...document.querySelectorAll("#who-ran tbody tr")];
  return rows.map((r) => [...r.cells].map((c) => c.textContent));
}"""


def test_who_ran_a_line_counts_the_clusters_of_the_entries_that_ran_it(
    bucket: str, moto_s3: MotoServer, go_toolchain: Path, tmp_path: Path, page: Any
) -> None:
    # inventory-api in three clusters: for each line of main.go, an owner's entries, process
    # instances and clusters that ran it, per `go tool covdata textfmt` of each entry
    collection = tmp_path / "c"
    assert (
        download(collection, bucket, moto_s3, "--prefix", PARENT, "--clusters", "ci-op-*").status
        == 0
    )
    compile_and_resolve_sample(collection)
    assert run_cli("cluster", "render", "--collection", str(collection)).status == 0
    # namespace -> per entry: (cluster, instances, (path, line) executed)
    ran: dict[str, list[tuple[str, int, set[tuple[str, int]]]]] = {}
    for entry in sorted((collection / "coverage").iterdir()):
        meta = json.loads((entry / "metadata.json").read_text())
        if meta["binary_name"] != "inventory-api":
            continue
        out = tmp_path / f"{entry.name}.txt"
        result = covdata(
            go_toolchain, ["textfmt", f"-i={entry}", f"-o={out}"], go_env(cache_root())
        )
        assert result.returncode == 0, result.stderr
        lines = set()
        for text in out.read_text().splitlines()[1:]:
            where, _, count = text.rsplit(" ", 2)
            path, _, span = where.rpartition(":")
            first, last = (int(p.split(".")[0]) for p in span.split(","))
            if int(count) and not path.endswith("/coverage_server.go"):  # not the application
                lines.update((path, n) for n in range(first, last + 1))
        instances = len(list(entry.glob("covcounters.*")))
        ran.setdefault(meta["namespace"], []).append((meta["cluster"], instances, lines))
    assert sorted(len(v) for v in ran.values()) == [3, 9]
    executed = sorted(set().union(*(lines for v in ran.values() for _, _, lines in v)))
    # lines some entries ran and others did not (else the counts would tell nothing)
    assert any(key not in lines for v in ran.values() for _, _, lines in v for key in executed)
    page_url = (collection / "html" / "binaries" / "a37943a73234300660ce220a18304548.html").as_uri()
    for path in sorted({path for path, _ in executed}):
        page.goto("about:blank")
        page.goto(f"{page_url}#file={path}")
        page.click("table.source tr.hit td.code >> nth=0")  # its data loads once
        page.wait_for_selector("#who-ran")
        for line in sorted(n for p, n in executed if p == path):
            shown = {row[0].split("/")[0]: row[2:] for row in page.evaluate(WHO, line)}
            for namespace, owned in ran.items():
                them = [(cluster, n) for cluster, n, lines in owned if (path, line) in lines]
                clusters = {cluster for cluster, _, _ in owned}
                assert shown[namespace] == [
                    f"{len(them)} of {len(owned)}",
                    f"{sum(n for _, n in them)} of {sum(n for _, n, _ in owned)}",
                    f"{len({c for c, _ in them})} of {len(clusters)}",
                ], (path, line, namespace)
