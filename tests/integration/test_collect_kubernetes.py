"""`collect --discover kubernetes`: pods listed through the Kubernetes API and their servers
reached through the API server's port-forward.

No real API server can run here: a local stand-in (tests/helpers/kubefixtures.py) serves
the two endpoints used (list pods; port-forward over a WebSocket, the real protocol the
official client speaks), forwarding each pod's port to a real `-cover` server on loopback.
The numbers compile stores equal `go tool covdata` on snapshots fetched independently."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from coverage_collector import download
from coverage_collector.cli import main
from tests.helpers.kubefixtures import TOKEN, FakePod, StandIn, stand_in
from tests.helpers.s3fixtures import MotoServer, S3Env
from tests.helpers.servedfixtures import (
    Binaries,
    Served,
    compiled_binaries,
    oracle,
)

pytest.importorskip("kubernetes")
POD_PORT = 53700


def test_pods_are_found_through_the_api_and_scraped_through_port_forward(
    binaries: Binaries,
    servers: Served,
    go_toolchain: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api = servers.start(binaries.server, "hello")
    agent = servers.start(binaries.other)
    sidecar = servers.start(binaries.server, "LOUD")
    image = "quay.io/shop/api@sha256:" + "a" * 64
    pods = [
        # the API's pod serves on 53700; the agent's on 53702 (53700-53701 closed)
        FakePod("shop", "api-7d9f8c6b5d-x2k4p", "node-1", "server", image,
                {POD_PORT: api.port}, {"app": "api"}, ("ReplicaSet", "api-7d9f8c6b5d")),
        FakePod("kube-system", "agent-q8vzn", "node-2", "agent", "quay.io/agent:1",
                {POD_PORT + 2: agent.port}, {"app": "agent"}, ("DaemonSet", "agent")),
        # outside the namespaces asked for, and a pod not running: neither is scraped
        FakePod("other", "side-0", "node-1", "c", "i", {POD_PORT: sidecar.port}),
        FakePod("shop", "pending-0", "node-1", "c", "i", {POD_PORT: sidecar.port},
                phase="Pending"),
    ]  # fmt: skip
    server_gen = stand_in(pods)
    standin: StandIn = next(server_gen)
    try:
        kubeconfig = standin.kubeconfig(tmp_path / "kubeconfig")
        collection = tmp_path / "c"
        argv = ["collect", "--discover", "kubernetes", "--kubeconfig", str(kubeconfig)]
        argv += ["--namespace", "shop", "--namespace", "kube-*", "--once"]
        argv += ["--collection", str(collection), "--port-range", "53700-53799"]
        assert main(argv) == 0, capsys.readouterr().err
    finally:
        next(server_gen, None)
    entries = {p.name: json.loads((p / "metadata.json").read_text())
               for p in (collection / "coverage").iterdir()}  # fmt: skip
    assert sorted(entries) == [
        "node-1-shop-api-7d9f8c6b5d-x2k4p-server-server",
        "node-2-kube-system-agent-q8vzn-agent-other",
    ]
    api_entry = entries["node-1-shop-api-7d9f8c6b5d-x2k4p-server-server"]
    assert api_entry["container"] == {"name": "server", "image": image}
    assert (api_entry["owner_kind"], api_entry["owner_name"]) == ("ReplicaSet", "api-7d9f8c6b5d")
    assert api_entry["host_process"] is False
    expected = oracle(go_toolchain, [api, agent], tmp_path / "oracle")
    assert compiled_binaries(collection) == expected
    # the token went to the API server, never through the tunnel to a pod
    assert set(standin.authorizations) == {f"Bearer {TOKEN}"}
    assert standin.tunnelled and TOKEN.encode() not in bytes(standin.tunnelled)
    assert b"Authorization" not in bytes(standin.tunnelled)


def test_an_unreachable_api_server_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-kubeconfig"
    argv = ["collect", "--discover", "kubernetes", "--kubeconfig", str(missing), "--once"]
    assert main([*argv, "--collection", str(tmp_path / "c")]) == 1
    assert "Kubernetes configuration" in capsys.readouterr().err


def test_pods_uploaded_to_s3_are_what_download_reads_back(
    binaries: Binaries,
    servers: Served,
    go_toolchain: Path,
    tmp_path: Path,
    moto_s3: MotoServer,
    s3: Any,
    s3_env: S3Env,
) -> None:
    api = servers.start(binaries.server, "lengthy")
    image = "quay.io/shop/api:v2"
    pods = [FakePod("shop", "api-0", "node-1", "server", image, {POD_PORT: api.port},
                    owner=("StatefulSet", "api"))]  # fmt: skip
    bucket = f"kube-{int(time.time() * 1000)}"
    s3.create_bucket(Bucket=bucket)
    server_gen = stand_in(pods)
    standin: StandIn = next(server_gen)
    try:
        kubeconfig = standin.kubeconfig(tmp_path / "kubeconfig")
        argv = ["collect", "--discover", "kubernetes", "--kubeconfig", str(kubeconfig), "--once"]
        argv += ["--upload", f"s3://{bucket}/ci/c1", "--endpoint-url", moto_s3.endpoint]
        assert main(argv) == 0
    finally:
        next(server_gen, None)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert {"/".join(k.split("/")[2:6]) for k in keys} == {"node-1/shop/api-0/server"}
    assert {k.split("/")[7] for k in keys} == {"quay.io-shop-api-v2"}
    options = download.Options(
        collection=str(tmp_path / "d"),
        bucket=bucket,
        prefixes=("ci/c1",),
        endpoint_url=moto_s3.endpoint,
        region="us-east-1",
    )
    fetched = download.run(options)
    assert fetched.ok and (fetched.pod_entries, fetched.instances) == (1, 1)
    expected = oracle(go_toolchain, [api], tmp_path / "oracle")
    assert compiled_binaries(tmp_path / "d") == expected
