"""`--discover kubernetes`: coverage servers in pods, reached through the API server.

Pods come from the Kubernetes API (the official `kubernetes` client; kubeconfig from
`--kubeconfig`, `$KUBECONFIG` or `~/.kube/config`, else the in-cluster service account),
filtered by namespace globs and a label selector, running ones only. Each pod's ports of
the range are tried through the API server's port-forward, as the tool's collector did
before the producer existed (reference-tool §4.3): a port whose `HEAD /health` answers as a
coverage server is polled, and the scan of a pod stops after `MISSES` ports in a row that
do not. The entry records the pod's node, namespace, name and container (the one declaring
the port, else the first), its image, and its owner from `ownerReferences` (an explicit
owner, which compile prefers to inferring one from the pod's name).

The API server's credentials go to the API server only: the tunnel carries the coverage
requests as `client` makes them, with no header of the kubeconfig's.
"""

from __future__ import annotations

import fnmatch
import socket
from dataclasses import dataclass
from typing import Any

from coverage_collector import trust
from coverage_collector.collect.client import Endpoint
from coverage_collector.entrydirs import EntryId, component
from coverage_collector.exceptions import CollectorError

MISSES = 5
"""Ports in a row without a coverage server after which a pod's scan stops."""


class KubernetesError(CollectorError):
    """The API server could not be reached or refused a request."""


@dataclass(frozen=True)
class PodTarget:
    """A running pod's identity, as the entries of its servers record it."""

    namespace: str
    pod: str
    node: str
    containers: tuple[tuple[str, str, tuple[int, ...]], ...]
    """(name, image, declared container ports) of each container, in the pod's order."""
    owner_kind: str = ""
    owner_name: str = ""

    def container_for(self, port: int) -> tuple[str, str]:
        """(name, image) of the container that declares `port`, else of the first one."""
        for name, image, ports in self.containers:
            if port in ports:
                return name, image
        return (self.containers[0][0], self.containers[0][1]) if self.containers else ("", "")

    def entry(self, port: int, binary: str) -> EntryId:
        container, _ = self.container_for(port)
        return EntryId(
            self.node or "unknown-host", self.namespace, self.pod, container, binary, False
        )


class Cluster:
    """The API server of one kubeconfig (or of the pod this runs in)."""

    def __init__(self, kubeconfig: str | None = None) -> None:
        try:
            from kubernetes import client, config
        except ImportError:
            raise KubernetesError(
                "--discover kubernetes needs the Kubernetes client",
                hint="pip install 'coverage-collector[kubernetes]'",
            ) from None

        try:
            try:
                api_client = config.new_client_from_config(
                    config_file=kubeconfig, persist_config=False
                )
            except config.ConfigException:
                if kubeconfig:
                    raise
                configuration = client.Configuration()
                config.load_incluster_config(client_configuration=configuration)
                api_client = client.ApiClient(configuration)
        except (config.ConfigException, OSError) as exc:
            raise KubernetesError(f"Couldn't load the Kubernetes configuration: {exc}") from None
        self.api = client.CoreV1Api(api_client)

    def pods(self, namespaces: tuple[str, ...], selector: str | None) -> list[PodTarget]:
        """The running pods whose namespace matches one of `namespaces` (all when empty)."""
        try:
            listed = self.api.list_pod_for_all_namespaces(
                label_selector=selector or "", _request_timeout=60
            )
        except Exception as exc:  # noqa: BLE001 - the client's many errors, named here once
            raise KubernetesError(f"Couldn't list pods: {_reason(exc)}") from None
        found = []
        for item in listed.items or []:
            namespace = item.metadata.namespace or ""
            if namespaces and not any(fnmatch.fnmatchcase(namespace, g) for g in namespaces):
                continue
            if (item.status.phase if item.status else "") != "Running":
                continue
            try:
                found.append(_target(item))
            except trust.UntrustedValueError:
                continue  # a name no entry can carry: not a pod of ours
        return sorted(found, key=lambda t: (t.namespace, t.pod))

    def open(self, target: PodTarget, port: int, timeout: float) -> Any:
        """A connected socket to `port` of the pod, through the API server's port-forward."""
        from kubernetes.stream import portforward

        try:
            forward = portforward(
                self.api.connect_get_namespaced_pod_portforward,
                target.pod,
                target.namespace,
                ports=str(port),
                _request_timeout=timeout,
            )
        except Exception as exc:  # noqa: BLE001
            raise OSError(
                f"port-forward to {target.namespace}/{target.pod}: {_reason(exc)}"
            ) from None
        sock = forward.socket(port)
        sock.settimeout(timeout)
        return sock


def _target(item: Any) -> PodTarget:
    """A listed pod as a PodTarget; UntrustedValueError for a name no entry can carry."""
    meta, spec = item.metadata, item.spec
    owners = [o for o in (meta.owner_references or []) if o.controller] or list(
        meta.owner_references or []
    )
    statuses = {s.name: s.image for s in (item.status.container_statuses or [])}
    containers = tuple(
        (
            component(c.name, "container"),
            trust.text(statuses.get(c.name) or c.image or "", "image"),
            tuple(p.container_port for p in (c.ports or [])),
        )
        for c in spec.containers or []
    )
    return PodTarget(
        namespace=component(meta.namespace or "", "namespace"),
        pod=component(meta.name or "", "pod"),
        node=component(spec.node_name or "", "node"),
        containers=containers,
        owner_kind=trust.text(owners[0].kind, "owner kind") if owners else "",
        owner_name=trust.text(owners[0].name, "owner name") if owners else "",
    )


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return trust.scrub(str(reason).splitlines()[0] if str(reason) else type(exc).__name__)


def pod_endpoint(cluster: Cluster, target: PodTarget, port: int) -> Endpoint:
    """The endpoint of `port` of the pod `target`, reached through `cluster`."""
    return Endpoint(f"{target.namespace}/{target.pod}", port, tunnel=Tunnel(cluster, target))


@dataclass(frozen=True, eq=False)
class Tunnel:
    """A pod's ports, through the API server's port-forward."""

    cluster: Cluster
    target: PodTarget

    def connect(self, port: int, timeout: float) -> socket.socket:
        sock: socket.socket = self.cluster.open(self.target, port, timeout)
        return sock
