"""The shipped coverage server, injected by `inject` into a real tree and built with
`go build -cover`: ART's protocol (reference-tool §4.2), checked over real HTTP."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from coverage_collector.cli import main
from tests.helpers.gofixtures import cache_root, go_env
from tests.helpers.servedfixtures import (
    Binaries,
    Served,
    fetch,
    identity,
    write_snapshot,
)


def test_inject_finds_exactly_the_main_packages_of_a_real_tree(binaries: Binaries) -> None:
    # nested module, vendor/, node_modules/, testdata/, a library beside an ignored
    # generator: none of them gets the server; both commands do (and they built).
    injected = sorted(
        p.parent.relative_to(binaries.tree).as_posix()
        for p in binaries.tree.rglob("coverage_server.go")
    )
    assert injected == ["cmd/other", "cmd/server"]


def test_inject_command_is_idempotent_and_remove_restores_the_tree(
    binaries: Binaries, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "tree"
    subprocess.run(["cp", "-a", str(binaries.tree), str(tree)], check=True)
    assert main(["inject", str(tree)]) == 0
    assert main(["inject", "--remove", str(tree)]) == 0
    assert not list(tree.rglob("coverage_server.go"))
    assert main(["inject", str(tree), str(tree / "nested")]) == 0
    assert (tree / "nested" / "coverage_server.go").exists()
    assert main(["inject", str(tmp_path / "missing")]) == 1
    assert "missing: not a directory" in capsys.readouterr().err


def test_identity_headers_on_every_response_and_head(binaries: Binaries, servers: Served) -> None:
    env = {
        "SOURCE_GIT_COMMIT": "0123456789abcdef0123456789abcdef01234567",
        "SOURCE_GIT_URL": "https://github.com/example/served",
        "__doozer_group": "openshift-4.21",
        "__doozer_key": "served",
    }
    process = servers.start(binaries.server, env=env)
    assert process.port == servers.first_port
    expected = {
        "X-Art-Coverage-Server": "1",
        "X-Art-Coverage-Pid": str(process.pid),
        "X-Art-Coverage-Binary": "server",
        "X-Art-Coverage-Source-Commit": env["SOURCE_GIT_COMMIT"],
        "X-Art-Coverage-Source-Url": env["SOURCE_GIT_URL"],
        "X-Art-Coverage-Software-Group": "openshift-4.21",
        "X-Art-Coverage-Software-Key": "served",
    }
    for method, path in (("HEAD", "/anything"), ("GET", "/health"), ("GET", "/nope")):
        request = urllib.request.Request(process.url + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                headers, status = dict(response.headers), response.status
        except urllib.error.HTTPError as exc:
            headers, status = dict(exc.headers), exc.code
        assert status == (404 if path == "/nope" else 200)
        assert {k: headers.get(k) for k in expected} == expected, (method, path)
    # without the variables, their headers are left out rather than sent empty
    bare = servers.start(binaries.server)
    assert "X-Art-Coverage-Source-Url" not in identity(bare.port)


def test_ports_are_tried_upwards_from_the_first(binaries: Binaries, servers: Served) -> None:
    first = servers.start(binaries.server)
    second = servers.start(binaries.server)
    assert (first.port, second.port) == (servers.first_port, servers.first_port + 1)


def test_coverage_snapshots_are_what_go_tool_covdata_reads(
    binaries: Binaries, servers: Served, go_toolchain: Path, tmp_path: Path
) -> None:
    process = servers.start(binaries.server, "hello", "LOUD")
    full = fetch(process.url)
    meta_hash = full.meta_name.removeprefix("covmeta.")
    assert len(meta_hash) == 32 and full.meta[24:40].hex() == meta_hash
    assert full.counters_name.startswith(f"covcounters.{meta_hash}.{process.pid}.")
    later = fetch(process.url, nometa=True)
    assert (later.meta_name, later.meta) == ("", b"")
    assert later.counters_name.startswith(f"covcounters.{meta_hash}.{process.pid}.")
    covdir = tmp_path / "covdir"
    write_snapshot(covdir, full)
    out = subprocess.run(
        [str(go_toolchain), "tool", "covdata", "func", f"-i={covdir}"],
        capture_output=True,
        check=True,
        env=go_env(cache_root()),
        text=True,
    ).stdout
    classify = next(line for line in out.splitlines() if "\tClassify\t" in line)
    assert not classify.endswith("\t0.0%")


def test_a_binary_built_without_cover_answers_500(binaries: Binaries, servers: Served) -> None:
    process = servers.start(binaries.plain)
    for query in ("", "?nometa=1"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{process.url}/coverage{query}", timeout=5)
        assert caught.value.code == 500
        body = caught.value.read().decode()
        assert body.startswith(("Failed to collect metadata", "Failed to collect counters"))
        assert caught.value.headers["X-Art-Coverage-Server"] == "1"
    assert json.dumps(identity(process.port))  # HEAD still answers with its identity
