"""Who owns a pod: Deployment, DaemonSet, StatefulSet, CronJob, Job, static pod, or nobody.

The producer records pod names, not owner references, so owners are inferred from
Kubernetes' real naming rules. Controllers append suffixes drawn from the alphabet
`bcdfghjklmnpqrstvwxz2456789` (no vowels, no 0/1/3): a ReplicaSet's pod-template hash
plus 5 characters for Deployments, 5 characters for DaemonSets (and Jobs), the scheduled
minute plus 5 characters for CronJob runs, an ordinal for StatefulSets. The kubelet
names static pods `<name>-<node>`, and OpenShift's static-pod operators name their
`installer-<revision>-<node>` and `revision-pruner-<revision>-<node>` pods the same way,
so the node names of the collection are needed to tell those apart.

An explicit owner recorded by a producer (`owner_kind` / `owner_name`) always wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_S = f"[{SUFFIX_ALPHABET}]"
_CRONJOB = re.compile(rf"(.+)-([0-9]{{6,}})-{_S}{{5}}\Z")
_DEPLOYMENT = re.compile(rf"(.+)-{_S}{{6,10}}-{_S}{{5}}\Z")
_STATEFULSET = re.compile(r"(.+)-(0|[1-9][0-9]*)\Z")
_DAEMONSET = re.compile(rf"(.+)-{_S}{{5}}\Z")
_NODE_JOB = re.compile(r"(.*(?:installer|pruner))-[0-9]+(?:-retry-[0-9]+)?\Z")


class OwnerKind(StrEnum):
    """The kinds of owner, spelled as the reports show them."""

    DEPLOYMENT = "Deployment"
    DAEMONSET = "DaemonSet"
    STATEFULSET = "StatefulSet"
    CRONJOB = "CronJob"
    JOB = "Job"
    STATIC_POD = "Static Pod"
    POD = "Pod (No Owner)"
    HOST = "Host"


@dataclass(frozen=True, order=True)
class Owner:
    """An owner: its kind and its name (a workload name, or the binary for host processes)."""

    kind: OwnerKind
    name: str


def node_names(hostnames: Iterable[str]) -> set[str]:
    """Return the names a node may appear under in pod names: its host name and short name."""
    names = set()
    for host in hostnames:
        if host:
            names.add(host)
            names.add(host.split(".", 1)[0])
    return names


def infer_owner(pod: str, nodes: Iterable[str] = ()) -> Owner:
    """Return the owner of the pod named `pod`, given the collection's node names."""
    for node in sorted(nodes, key=len, reverse=True):
        if node and pod.endswith(f"-{node}") and len(pod) > len(node) + 1:
            prefix = pod[: -len(node) - 1]
            job = _NODE_JOB.match(prefix)
            if job:
                return Owner(OwnerKind.JOB, job.group(1))
            return Owner(OwnerKind.STATIC_POD, prefix)
    for pattern, kind in (
        (_CRONJOB, OwnerKind.CRONJOB),
        (_DEPLOYMENT, OwnerKind.DEPLOYMENT),
        (_STATEFULSET, OwnerKind.STATEFULSET),
        (_DAEMONSET, OwnerKind.DAEMONSET),
    ):
        match = pattern.match(pod)
        if match:
            return Owner(kind, match.group(1))
    return Owner(OwnerKind.POD, pod)


_EXPLICIT_KINDS = {
    "deployment": OwnerKind.DEPLOYMENT,
    "replicaset": OwnerKind.DEPLOYMENT,
    "daemonset": OwnerKind.DAEMONSET,
    "statefulset": OwnerKind.STATEFULSET,
    "cronjob": OwnerKind.CRONJOB,
    "job": OwnerKind.JOB,
    "node": OwnerKind.STATIC_POD,  # Kubernetes' owner reference of a static pod's mirror
    "staticpod": OwnerKind.STATIC_POD,
    "host": OwnerKind.HOST,
}
_REPLICASET_HASH = re.compile(rf"-{_S}{{6,10}}\Z")


def owner_of(
    *,
    pod: str,
    binary: str,
    host_process: bool,
    nodes: Iterable[str] = (),
    explicit_kind: str = "",
    explicit_name: str = "",
) -> Owner:
    """Return an entry's owner: the producer's explicit owner, Host for host processes,
    otherwise inferred from the pod name."""
    if explicit_kind and explicit_name:
        key = re.sub(r"[^a-z]", "", explicit_kind.lower())
        name = _REPLICASET_HASH.sub("", explicit_name) if key == "replicaset" else explicit_name
        return Owner(_EXPLICIT_KINDS.get(key, OwnerKind.POD), name)
    if host_process:
        return Owner(OwnerKind.HOST, binary or pod)
    return infer_owner(pod, nodes)


def program_name(binary_name: str, container_name: str, meta_hash: str) -> str:
    """A binary's name as users know it: its name, else its container's, else its hash."""
    return binary_name or container_name or meta_hash[:12]


def source_key(image: str, is_host: bool, program: str) -> str:
    """The key of an entry's sources in `image_sources`: its image, or `host:<binary>`."""
    return image if image and not is_host else f"host:{program}"
