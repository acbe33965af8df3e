"""`cluster import`'s identities: `--layout` templates, paths and flags."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from coverage_collector import trust
from coverage_collector.entrydirs import EntryId
from coverage_collector.exceptions import UsageError
from coverage_collector.gocoverdir.layout import Identity, Layout


def test_layout_reads_fields_and_literals_from_paths(tmp_path: Path) -> None:
    for leaf in ("shop/api-0/cov/server", "shop/api-1/cov/server", "shop/api-2/logs/server"):
        (tmp_path / leaf).mkdir(parents=True)
    (tmp_path / "shop" / ".hidden" / "cov" / "x").mkdir(parents=True)
    layout = Layout.parse("/{namespace}/{pod}/cov/{container}/")
    leaves = layout.leaves(str(tmp_path))
    assert [(Path(p).relative_to(tmp_path).as_posix(), v) for p, v in leaves] == [
        ("shop/api-0/cov/server", {"namespace": "shop", "pod": "api-0", "container": "server"}),
        ("shop/api-1/cov/server", {"namespace": "shop", "pod": "api-1", "container": "server"}),
    ]


@pytest.mark.parametrize("text", ["{namespace}/{podname}", "{namespace}//x", "ns-{pod}"])
def test_bad_layouts_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        Layout.parse(text)


def test_identity_is_a_pod_container_or_a_host_process() -> None:
    pod = Identity(namespace="shop", pod="api-0", container="c").merged({"host": "n1", "pod": ""})
    assert pod.entry("api") == EntryId("n1", "shop", "api-0", "c", "api", False)
    assert Identity(pod="p").entry("b").host == "unknown-host"
    host = socket.gethostname()
    assert Identity().entry("kubelet") == EntryId(host, "", host, "", "kubelet", True)


def test_identity_values_are_checked_like_key_components() -> None:
    with pytest.raises(trust.UntrustedValueError, match="pod"):
        Identity(pod="..").checked()
    with pytest.raises(trust.UntrustedValueError, match="namespace"):
        Identity(namespace="a\x1bb").checked()
