"""Owner inference from pod names, with Kubernetes' real naming rules."""

from __future__ import annotations

import time

import pytest

from coverage_collector.owners import Owner, OwnerKind, infer_owner, node_names, owner_of

NODES = node_names(["master-0", "master-1", "ip-10-0-1-2.ec2.internal"])


@pytest.mark.parametrize(
    ("pod", "kind", "owner"),
    [
        ("apiserver-7d9f8c6b5d-x2k4p", OwnerKind.DEPLOYMENT, "apiserver"),
        ("dns-operator-5b9f6c7d8-xq2zr", OwnerKind.DEPLOYMENT, "dns-operator"),
        ("node-resolver-7xk2p", OwnerKind.DAEMONSET, "node-resolver"),
        ("node-exporter-8zt5w", OwnerKind.DAEMONSET, "node-exporter"),
        ("prometheus-k8s-1", OwnerKind.STATEFULSET, "prometheus-k8s"),
        ("collect-profiles-29012345-bx7ck", OwnerKind.CRONJOB, "collect-profiles"),
        ("installer-7-master-0", OwnerKind.JOB, "installer"),
        ("revision-pruner-7-ip-10-0-1-2.ec2.internal", OwnerKind.JOB, "revision-pruner"),
        ("kube-apiserver-master-0", OwnerKind.STATIC_POD, "kube-apiserver"),
        ("etcd-ip-10-0-1-2.ec2.internal", OwnerKind.STATIC_POD, "etcd"),
        ("my-debug-pod", OwnerKind.POD, "my-debug-pod"),
        # more real-world names
        ("alertmanager-main-0", OwnerKind.STATEFULSET, "alertmanager-main"),
        ("etcd-guard-master-1", OwnerKind.STATIC_POD, "etcd-guard"),
        ("kube-controller-manager-ip-10-0-1-2", OwnerKind.STATIC_POD, "kube-controller-manager"),
        ("installer-12-retry-1-master-1", OwnerKind.JOB, "installer"),
        ("image-pruner-29012400-5vx2m", OwnerKind.CRONJOB, "image-pruner"),
        (
            "openshift-apiserver-operator-5f8d7c9b6-2lgkz",
            OwnerKind.DEPLOYMENT,
            "openshift-apiserver-operator",
        ),
        ("ovnkube-node-b4x9q", OwnerKind.DAEMONSET, "ovnkube-node"),
        ("machine-config-daemon-hz6wr", OwnerKind.DAEMONSET, "machine-config-daemon"),
        ("router-default-86b5fd9c4f-kcz8n", OwnerKind.DEPLOYMENT, "router-default"),
        ("network-check-source-7ddd4c8b9f-wq5zx", OwnerKind.DEPLOYMENT, "network-check-source"),
        ("health-check", OwnerKind.POD, "health-check"),  # 'check' has vowels: no suffix
        ("debug", OwnerKind.POD, "debug"),
    ],
)
def test_owner_inference(pod: str, kind: OwnerKind, owner: str) -> None:
    assert infer_owner(pod, NODES) == Owner(kind, owner)


def test_without_node_names_static_pods_look_like_other_kinds() -> None:
    # The node set matters: without it, a static pod on master-0 reads as a StatefulSet.
    assert infer_owner("kube-apiserver-master-0") == Owner(
        OwnerKind.STATEFULSET, "kube-apiserver-master"
    )


def test_explicit_owner_and_hosts() -> None:
    assert owner_of(
        pod="x-1", binary="b", host_process=False, explicit_kind="Deployment", explicit_name="api"
    ) == Owner(OwnerKind.DEPLOYMENT, "api")
    assert owner_of(
        pod="x",
        binary="b",
        host_process=False,
        explicit_kind="ReplicaSet",
        explicit_name="api-7d9f8c6b5d",
    ) == Owner(OwnerKind.DEPLOYMENT, "api")
    assert owner_of(
        pod="kube-apiserver-master-0",
        binary="b",
        host_process=False,
        explicit_kind="Node",
        explicit_name="kube-apiserver",
    ) == Owner(OwnerKind.STATIC_POD, "kube-apiserver")
    assert owner_of(pod="master-0", binary="kubelet", host_process=True, nodes=NODES) == Owner(
        OwnerKind.HOST, "kubelet"
    )
    assert owner_of(
        pod="api-7d9f8c6b5d-x2k4p", binary="api", host_process=False, nodes=NODES
    ) == Owner(OwnerKind.DEPLOYMENT, "api")


def test_hostile_names_are_data() -> None:
    # Names that leave a directory or carry markup are owners like any other (the stages
    # that write files or print them make them safe); an unknown explicit kind is no kind.
    assert infer_owner("../../etc/passwd-0") == Owner(OwnerKind.STATEFULSET, "../../etc/passwd")
    assert infer_owner("<b>x</b>|y") == Owner(OwnerKind.POD, "<b>x</b>|y")
    assert owner_of(
        pod="p", binary="b", host_process=False, explicit_kind="<Evil>", explicit_name="/etc"
    ) == Owner(OwnerKind.POD, "/etc")
    assert owner_of(pod="", binary="", host_process=True) == Owner(OwnerKind.HOST, "")


def test_a_long_name_is_inferred_quickly() -> None:
    # Names are capped at 1024 characters where they enter; the patterns stay linear-ish.
    started = time.monotonic()
    for pod in ("1-" * 512, "a" * 1000 + "-" + "1" * 20, "-bcdfg" * 170):
        infer_owner(pod, NODES)
    assert time.monotonic() - started < 1.0
