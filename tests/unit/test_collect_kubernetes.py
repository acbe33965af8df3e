"""Pods as `--discover kubernetes` reads them: container, image and owner of a port."""

from __future__ import annotations

import pytest

from coverage_collector.collect.kubernetes import PodTarget, _target
from coverage_collector.entrydirs import EntryId

client = pytest.importorskip("kubernetes.client")


def pod(**overrides: object) -> object:
    metadata = client.V1ObjectMeta(
        name="api-7d9f8c6b5d-x2k4p",
        namespace="shop",
        owner_references=[
            client.V1OwnerReference(
                api_version="v1", kind="Node", name="n", uid="1", controller=False
            ),
            client.V1OwnerReference(
                api_version="apps/v1", kind="ReplicaSet", name="api-7d9f8c6b5d", uid="2",
                controller=True,
            ),
        ],
    )  # fmt: skip
    containers = [
        client.V1Container(name="proxy", image="envoy:1"),
        client.V1Container(
            name="server", image="api:1", ports=[client.V1ContainerPort(container_port=53701)]
        ),
    ]
    status = client.V1PodStatus(
        phase="Running",
        container_statuses=[
            client.V1ContainerStatus(
                name="server", image="quay.io/api@sha256:1", image_id="", ready=True,
                restart_count=0,
            )
        ],
    )  # fmt: skip
    spec = client.V1PodSpec(node_name="node-1", containers=containers)
    values = {"metadata": metadata, "spec": spec, "status": status, **overrides}
    return client.V1Pod(**values)


def test_a_pod_gives_its_node_owner_and_containers() -> None:
    target = _target(pod())
    assert (target.namespace, target.pod, target.node) == ("shop", "api-7d9f8c6b5d-x2k4p", "node-1")
    assert (target.owner_kind, target.owner_name) == ("ReplicaSet", "api-7d9f8c6b5d")
    # the container declaring the port, with the image it runs; else the first container
    assert target.container_for(53701) == ("server", "quay.io/api@sha256:1")
    assert target.container_for(53700) == ("proxy", "envoy:1")
    assert target.entry(53701, "api") == EntryId(
        "node-1", "shop", "api-7d9f8c6b5d-x2k4p", "server", "api", False
    )


def test_a_name_no_entry_can_carry_is_refused() -> None:
    from coverage_collector import trust

    with pytest.raises(trust.UntrustedValueError):
        _target(pod(metadata=client.V1ObjectMeta(name="..", namespace="shop")))
    assert PodTarget("ns", "p", "", ()).entry(1, "b").host == "unknown-host"
