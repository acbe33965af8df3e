"""`coverage-collector demo`: the pipeline on the bundled sample collection, offline.

For now the pipeline is: decode every entry natively and print per-binary
coverage, each binary counted once however many pods run it.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coverage_collector import logs
from coverage_collector.collection import Entry, list_entries, read_json_object
from coverage_collector.covdata.accumulate import U32_MAX
from coverage_collector.covdata.model import MetaFile
from coverage_collector.covdata.pods import collect_pods
from coverage_collector.covdata.reader import ModeMerger, read_pod
from coverage_collector.exceptions import CollectorError, DataError
from coverage_collector.owners import Owner, node_names, owner_of
from coverage_collector.s3 import DownloadOptions, DownloadSummary, ObjectStore, download

SAMPLE = resources.files("coverage_collector") / "sample_collection" / "coverage"
INJECTED_FILES = ("coverage_server.go", "coverage_producer.go")
"""Files the build injects into every binary; they are not the application."""
log = logs.get_logger(__name__)


@dataclass
class BinarySummary:
    """Coverage of one binary (one covmeta hash) over every entry that runs it."""

    name: str
    meta: MetaFile
    totals: np.ndarray
    entries: list[str] = field(default_factory=list)
    instances: int = 0
    owners: set[tuple[str, Owner]] = field(default_factory=set)
    """(namespace, owner) of every owner running the binary."""

    @property
    def n_statements(self) -> int:
        return int(self.meta.stmts[self.application_units].sum())

    @property
    def n_covered(self) -> int:
        return int(self.meta.stmts[self.application_units & (self.totals != 0)].sum())

    @property
    def pc_covered(self) -> float:
        return 100.0 * self.n_covered / self.n_statements if self.n_statements else 0.0

    @cached_property
    def application_units(self) -> np.ndarray:
        """Units outside the injected files (computed once)."""
        injected = np.array(
            [os.path.basename(s) in INJECTED_FILES for s in self.meta.strings], dtype=bool
        )
        return ~injected[self.meta.func_file[self.meta.unit_func]]


def summarize(entries: list[Entry], problems: list[str]) -> list[BinarySummary]:
    """Decode every entry and sum its instances per binary; record problems, go on."""
    binaries: dict[bytes, BinarySummary] = {}
    nodes = node_names(e.metadata.hostname for e in entries)
    for entry in entries:
        meta = entry.metadata
        owner = owner_of(
            pod=meta.pod_name,
            binary=meta.binary_name,
            host_process=meta.host_process,
            nodes=nodes,
            explicit_kind=meta.owner_kind,
            explicit_name=meta.owner_name,
        )
        problems.extend(f"{entry.name}: {p}" for p in entry.problems)
        try:
            scan = collect_pods([entry.path])
            for pod in scan.pods:
                data = read_pod(pod, ModeMerger(relaxed=True), log.warning)
                summary = binaries.get(data.meta.file_hash)
                if summary is None:
                    name = entry.metadata.binary_name or data.meta.hash_hex[:12]
                    zeros = np.zeros(data.meta.n_units, dtype=np.uint64)
                    summary = binaries[data.meta.file_hash] = BinarySummary(name, data.meta, zeros)
                summary.totals += data.counters.counts
                summary.entries.append(entry.name)
                summary.instances += len(pod.counter_files)
                summary.owners.add((meta.namespace, owner))
            problems.extend(f"{entry.name}: orphaned counter file {o}" for o in scan.orphans)
        except CollectorError as exc:
            problems.append(f"{entry.name}: {exc.message}")
    for summary in binaries.values():
        np.minimum(summary.totals, U32_MAX, out=summary.totals)
    return sorted(binaries.values(), key=lambda s: s.name)


DEMO_MARKER = ".coverage-collector-demo"
"""Marks a collection made by the demo, which a later demo run may replace."""


def prepare_output(output: str) -> str:
    """Make `output` ready for the demo's coverage data; return its coverage directory.

    Refuses to replace coverage data that an earlier demo run did not write.
    """
    target = os.path.join(output, "coverage")
    marker = os.path.join(output, DEMO_MARKER)
    if os.path.lexists(target):
        if not os.path.exists(marker):
            raise DataError(
                f"Couldn't create the demo in {output}: it already holds coverage data",
                hint="choose another --output directory",
            )
        shutil.rmtree(target)
    os.makedirs(output, exist_ok=True)
    with open(marker, "w", encoding="utf-8") as handle:
        handle.write("written by `coverage-collector demo`\n")
    return target


def copy_sample(output: str) -> None:
    """Copy the bundled sample collection's coverage data into `output`."""
    target = prepare_output(output)
    with resources.as_file(SAMPLE) as path:
        shutil.copytree(path, target)


def producer_keys(sample: str, prefix: str) -> dict[str, str]:
    """Return S3 keys, as the producer writes them, for the files of the sample collection.

    Each instance's snapshot goes up as `covcounters.<hash>.<pid>.1`.
    """
    keys: dict[str, str] = {}
    for entry in list_entries(os.path.dirname(sample)):
        info, _ = read_json_object(os.path.join(entry.path, "metadata.json"))
        meta = entry.metadata
        for instance in (info or {}).get("instances", []):
            discovery = instance["discovery_time"]
            if meta.host_process:
                base = f"{prefix}{meta.hostname}/_host_/{discovery}/{meta.binary_name}"
            else:
                base = (
                    f"{prefix}{meta.hostname}/{meta.namespace}/{meta.pod_name}/"
                    f"{meta.container_name}/{discovery}/{meta.image}/{meta.binary_name}"
                )
            counter = instance["counter_file"]
            meta_hash = counter.split(".")[1]
            for name in (f"covmeta.{meta_hash}", "info.json"):
                keys[f"{base}/{name}"] = os.path.join(entry.path, name)
            snapshot = f"covcounters.{meta_hash}.{instance['pid']}.1"
            keys[f"{base}/{snapshot}"] = os.path.join(entry.path, counter)
    return keys


def download_sample(output: str) -> DownloadSummary:
    """Serve the sample from a local S3 server (moto's, on loopback) and download it for real.

    Raises ImportError when moto is not installed.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        options = DownloadOptions(
            output,
            "demo-coverage",
            "demo/cluster-1",
            region="us-east-1",
            endpoint_url=f"http://{host}:{port}",
        )
        store = ObjectStore(options, credentials=("demo", "demo"))
        store.client.create_bucket(Bucket=options.bucket)
        with resources.as_file(SAMPLE) as sample:
            for key, path in producer_keys(str(sample), "demo/cluster-1/").items():
                with open(path, "rb") as handle:
                    store.client.put_object(Bucket=options.bucket, Key=key, Body=handle.read())
        prepare_output(output)
        log.info(
            "serving the sample collection from s3://%s/%s at http://%s:%d",
            options.bucket,
            options.prefix,
            host,
            port,
        )
        return download(options, store)
    finally:
        server.stop()


def run_demo(output: str, console: Console | None = None) -> int:
    """Print the per-binary coverage of the demo collection in `output`.

    Returns the number of problems found (0 for the pristine sample).
    """
    console = console or Console(width=max(Console().width, 110))
    entries = list_entries(output)
    problems: list[str] = []
    summaries = summarize(entries, problems)
    table = Table(title=f"Coverage per binary in {output} ({len(entries)} entries)")
    columns = ("binary", "owners", "entries", "instances", "statements", "covered", "coverage")
    for column in columns:
        table.add_column(column, justify="left" if column in ("binary", "owners") else "right")
    for s in summaries:
        table.add_row(
            f"{escape(s.name)}\n{s.meta.hash_hex[:12]}",
            escape(
                "\n".join(
                    f"{o.kind} {ns + '/' if ns else ''}{o.name}" for ns, o in sorted(s.owners)
                )
            ),
            str(len(s.entries)),
            str(s.instances),
            str(s.n_statements),
            str(s.n_covered),
            f"{s.pc_covered:.1f}%",
        )
    console.print(table)
    total = sum(s.n_statements for s in summaries)
    covered = sum(s.n_covered for s in summaries)
    overall = 100.0 * covered / total if total else 0.0
    console.print(
        f"{len(summaries)} binaries, {covered}/{total} statements covered ({overall:.1f}%), "
        f"each binary counted once; injected {', '.join(INJECTED_FILES)} excluded."
    )
    for problem in problems:
        console.print(f"[red]problem:[/red] {escape(problem)}", highlight=False)
    return len(problems)
