"""deploy/: the DaemonSet runs a command line this version accepts, on every node, with
the node's network and process namespaces and a last snapshot's grace on SIGTERM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from coverage_collector import cli

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def daemonset() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "daemonset.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_the_daemonset_runs_collect_discover_host_with_the_nodes_namespaces() -> None:
    spec = daemonset()["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True and spec["hostPID"] is True
    assert spec["automountServiceAccountToken"] is False  # no API access is needed
    assert spec["tolerations"] == [{"operator": "Exists"}]
    [container] = spec["containers"]
    args = container["args"]
    command = cli.cli.get_command(click.Context(cli.cli), args[0])
    assert command is not None
    ctx = command.make_context(args[0], list(args[1:]))
    assert ctx.params["discover"] == "host" and ctx.params["upload"].startswith("s3://")
    assert ctx.params["host"] == "$(NODE_NAME)"  # Kubernetes expands it from the node's name
    names = {e["name"] for e in container["env"]}
    assert "NODE_NAME" in names
    assert spec["terminationGracePeriodSeconds"] >= 30
