"""`coverage-collector demo`: the pipeline on the bundled sample collection, offline.

The pipeline so far: download (from a local S3 server), compile, clone-sources (from
git bundles shipped with the sample), summary, render.
"""

from __future__ import annotations

import logging
import os
import shutil
from importlib import resources

from rich.console import Console

from coverage_collector import compile, download, logs, sources
from coverage_collector import report as report_stage
from coverage_collector.collection import INFO_FILE, Collection, list_entries
from coverage_collector.exceptions import DataError
from coverage_collector.summary import overview, render

SAMPLE = resources.files("coverage_collector") / "sample_collection" / "coverage"
SOURCES = resources.files("coverage_collector") / "sample_collection" / "sources"
SAMPLE_ORIGIN = "https://github.com/example-org"
"""The sample services' repositories, served from the bundles in SOURCES."""
log = logs.get_logger(__name__)


DEMO_MARKER = ".coverage-collector-demo"
"""Marks a collection made by the demo, which a later demo run may replace."""


def prepare_output(output: str) -> str:
    """Make `output` ready for the demo's coverage data; return its coverage directory.

    Refuses to replace coverage data that an earlier demo run did not write.
    """
    target = Collection(output).coverage
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
        meta = entry.metadata
        for instance in meta.instances:
            discovery = instance.discovery_time
            if meta.host_process:
                base = f"{prefix}{meta.hostname}/_host_/{discovery}/{meta.binary_name}"
            else:
                base = (
                    f"{prefix}{meta.hostname}/{meta.namespace}/{meta.pod_name}/"
                    f"{meta.container_name}/{discovery}/{meta.image}/{meta.binary_name}"
                )
            counter = instance.counter_file
            meta_hash = counter.split(".")[1]
            for name in (f"covmeta.{meta_hash}", INFO_FILE):
                keys[f"{base}/{name}"] = os.path.join(entry.path, name)
            snapshot = f"covcounters.{meta_hash}.{instance.pid}.1"
            keys[f"{base}/{snapshot}"] = os.path.join(entry.path, counter)
    return keys


def download_sample(output: str) -> download.Summary:
    """Serve the sample from a local S3 server (moto's, on loopback) and download it for real.

    Raises ImportError when moto is not installed.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        options = download.Options(
            collection=output,
            bucket="demo-coverage",
            prefixes=("demo/cluster-1",),
            region="us-east-1",
            endpoint_url=f"http://{host}:{port}",
        )
        store = download.ObjectStore(options, credentials=("demo", "demo"))
        store.client.create_bucket(Bucket=options.bucket)
        with resources.as_file(SAMPLE) as sample:
            for key, path in producer_keys(str(sample), "demo/cluster-1/").items():
                with open(path, "rb") as handle:
                    store.client.put_object(Bucket=options.bucket, Key=key, Body=handle.read())
        prepare_output(output)
        log.info(
            "serving the sample collection from s3://%s/%s at http://%s:%d",
            options.bucket,
            options.prefixes[0],
            host,
            port,
        )
        return download.run(options, store=store)
    finally:
        server.stop()


def run_demo(output: str, console: Console | None = None) -> int:
    """Compile the demo collection in `output` and print its summary per owner and binary.

    Returns the number of entries with problems (0 for the pristine sample).
    """
    console = console or Console(width=max(Console().width, 110))
    compiled = compile.run(compile.Options(collection=output))
    for line in compiled.lines():
        log.info("%s", line)
    with resources.as_file(SOURCES) as bundles:
        options = sources.Options(
            collection=output, inspect_images=False, git_mirrors={SAMPLE_ORIGIN: str(bundles)}
        )
        fetched = sources.run(options)
    for line in fetched.lines():
        log.info("%s", line)
    for by in ("owner", "binary"):
        render(overview(output, by), "table", console)
    report = report_stage.run(report_stage.Options(collection=output))
    console.print(f"report: {report.index}", highlight=False, soft_wrap=True)
    return len({item for item, _ in compiled.errors}) + len(fetched.cloned.failed)
