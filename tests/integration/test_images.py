"""Image inspection with the real skopeo, reading OCI image layouts the tests write."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
from pathlib import Path

import pytest

from coverage_collector import sources
from coverage_collector.sources.clone import clone_sources
from coverage_collector.sources.images import (
    ImageFacts,
    InspectError,
    Inspector,
    facts_from_config,
    transport_reference,
    unsanitize,
)
from tests.helpers.clusterfixtures import ClusterCollection, compile_cluster
from tests.helpers.gofixtures import skip_or_fail
from tests.helpers.sourcefixtures import commit

DIGEST_A = "a" * 64
DIGEST_B = "b" * 64
SANITISED_A = f"quay.io-openshift-release-dev-ocp-v4.0-art-dev-sha256-{DIGEST_A}"
SANITISED_B = f"quay.io-openshift-release-dev-ocp-v4.0-art-dev-sha256-{DIGEST_B}"


def write_oci_layout(root: Path, images: dict[str, dict[str, object]]) -> None:
    """An OCI image layout with one image per reference name, each with `config` as its
    image config's `config` section (Labels, Env)."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    empty = io.BytesIO()
    tarfile.open(fileobj=empty, mode="w").close()
    layer = blob(empty.getvalue())
    manifests = []
    for name, config in images.items():
        image_config = {
            "architecture": "amd64",
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                **blob(json.dumps(image_config).encode()),
            },
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}],
        }
        manifests.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **blob(json.dumps(manifest).encode()),
                "annotations": {"org.opencontainers.image.ref.name": name},
            }
        )
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))


def set_image(cluster: ClusterCollection, binary: str, image: str, info: dict[str, str]) -> None:
    for entry in cluster.entries.values():
        if entry.binary == binary:
            directory = cluster.entry_dir(entry.name)
            metadata = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
            metadata["container"]["image"] = image
            (directory / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
            (directory / "info.json").write_text(json.dumps(info), encoding="utf-8")


def test_labels_fill_sources_and_errors_hide_nothing(
    cluster: ClusterCollection, tmp_path: Path
) -> None:
    if shutil.which("skopeo") is None:
        skip_or_fail("skopeo is not installed (apt-get install skopeo)")
    repo = tmp_path / "upstream" / "openshift" / "kv"
    sha = commit(repo, {"go.mod": "module example.com/kv\n"}, "kv")
    info_repo = tmp_path / "upstream" / "openshift" / "inventory"
    info_sha = commit(info_repo, {"go.mod": "module example.com/inventory\n"}, "inventory")
    layout = tmp_path / "layout"
    write_oci_layout(
        layout,
        {
            f"ocp-v4.0-art-dev@sha256:{DIGEST_A}": {
                "Labels": {
                    "io.openshift.build.source-location": str(repo),
                    "io.openshift.build.commit.id": sha,
                },
                "Env": ["PATH=/usr/bin", "__doozer_group=openshift-4.19", "__doozer_key=kv-store"],
            },
        },
    )
    set_image(cluster, "kv-store", SANITISED_A, {})  # labels only
    # info.json names the source; the image is not in the layout: inspection fails
    set_image(
        cluster,
        "inventory-api",
        SANITISED_B,
        {"source_url": str(info_repo), "source_commit": info_sha},
    )
    compile_cluster(cluster)
    empty = tmp_path / "empty-layout"
    write_oci_layout(empty, {})
    options = sources.Options(
        collection=str(cluster.root),
        allow_local_urls=True,
        max_concurrency=2,
        image_mirrors={
            "quay.io/openshift-release-dev": f"oci:{layout}:",
            "quay.io/example": f"oci:{empty}:",
        },
    )
    summary = clone_sources(options)
    assert summary.inspection is not None and summary.inspection.tool == "skopeo"
    conn = sqlite3.connect(cluster.root / "coverage.db")
    rows = {
        image: rest
        for image, *rest in conn.execute(
            "SELECT image, source_repo, commit_id, software_group, software_key, inspect_error "
            "FROM image_sources"
        )
    }
    assert rows[SANITISED_A] == [str(repo), sha, "openshift-4.19", "kv-store", ""]
    source_repo, source_commit, *_, error = rows[SANITISED_B]
    assert (source_repo, source_commit) == (str(info_repo), info_sha)  # kept
    assert error.startswith("skopeo:")
    clones = dict(conn.execute("SELECT source_url, status FROM clones"))
    assert clones[str(repo)] == "cloned" and clones[str(info_repo)] == "cloned"
    # an image inspected successfully is not inspected again; a failed one is retried
    again = clone_sources(options).inspection
    assert again is not None
    failed = {image for image, _ in again.errors}
    assert SANITISED_A not in failed and SANITISED_B in failed
    assert again.skipped >= 1


@pytest.mark.parametrize(
    ("image", "reference"),
    [
        (SANITISED_A, f"quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:{DIGEST_A}"),
        (
            f"registry.ci.openshift.org-ocp-4.19-sha256-{DIGEST_B}",
            f"registry.ci.openshift.org/ocp/4.19@sha256:{DIGEST_B}",
        ),
        ("quay.io/example/api:v1", "quay.io/example/api:v1"),
    ],
)
def test_unsanitize(image: str, reference: str) -> None:
    assert unsanitize(image) == reference


@pytest.mark.parametrize(
    "image",
    ["docker.io-library-nginx-sha256-" + DIGEST_A, "nginx", "quay.io/x/../y:v1", "-oProxy/x:y"],
)
def test_unsanitize_refuses_unknown_or_hostile(image: str) -> None:
    with pytest.raises(InspectError):
        unsanitize(image)


def test_mirrors_and_oci_labels() -> None:
    mirrors = {"quay.io/openshift-release-dev": "docker://mirror.local/ocp/"}
    assert transport_reference("quay.io/openshift-release-dev/x@sha256:1", mirrors) == (
        "docker://mirror.local/ocp/x@sha256:1"
    )
    assert transport_reference("quay.io/other/x:v1", mirrors) == "docker://quay.io/other/x:v1"
    facts = facts_from_config(
        {
            "config": {
                "Labels": {
                    "org.opencontainers.image.source": "https://github.com/o/r",
                    "org.opencontainers.image.revision": "c" * 40,
                }
            }
        }
    )
    assert facts.values() == ("https://github.com/o/r", "c" * 40, "", "")


# --------------------------------------------------------------------------------------------
# Hostile image configs: labels are cluster data

TOKEN = "ghp_Pl4nt3dImag3T0k3n"


def test_hostile_labels_are_cleaned_or_left_out(cluster: ClusterCollection, tmp_path: Path) -> None:
    if shutil.which("skopeo") is None:
        skip_or_fail("skopeo is not installed (apt-get install skopeo)")
    layout = tmp_path / "layout"
    write_oci_layout(
        layout,
        {
            f"ocp-v4.0-art-dev@sha256:{DIGEST_A}": {
                "Labels": {
                    "io.openshift.build.source-location": (
                        f"https://x-access-token:{TOKEN}@github.com/openshift/kv?t={TOKEN}"
                    ),
                    "io.openshift.build.commit.id": "\x1b[2J" + "c" * 40,
                },
                "Env": ["__doozer_group=openshift-4.19", "__doozer_key=kv\u202estore"],
            },
        },
    )
    set_image(cluster, "kv-store", SANITISED_A, {})
    compile_cluster(cluster)
    options = sources.Options(
        collection=str(cluster.root),
        allow_local_urls=True,
        image_mirrors={"quay.io/openshift-release-dev": f"oci:{layout}:"},
    )
    summary = clone_sources(options)
    conn = sqlite3.connect(cluster.root / "coverage.db")
    row = conn.execute(
        "SELECT source_repo, commit_id, software_group, software_key, inspect_error "
        "FROM image_sources WHERE image = ?",
        (SANITISED_A,),
    ).fetchone()
    assert row[:4] == ("https://github.com/openshift/kv", "", "openshift-4.19", "")
    assert row[4] == (
        "label io.openshift.build.commit.id: control character U+001B; "
        "env __doozer_key: control character U+202E"
    )
    assert summary.inspection is not None
    assert (SANITISED_A, row[4]) in summary.inspection.errors
    assert TOKEN.encode() not in (cluster.root / "coverage.db").read_bytes()


def fake_tool(directory: Path, script: str) -> None:
    """An executable `skopeo` that runs the shell `script` (a registry answering oddly)."""
    directory.mkdir()
    tool = directory / "skopeo"
    tool.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    tool.chmod(0o755)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (
            'python3 -c \'print("[" * 100000 + "]" * 100000)\'',
            "skopeo printed an unusable image config (json: nested deeper than 32 levels)",
        ),
        ("echo '{\"config\": [1, 2]}'", ""),  # the wrong shape counts as absent
        (
            f"echo 'FATA[0000] pinging docker://bot:{TOKEN}@mirror.example/v2/: 401' >&2; exit 1",
            "skopeo: FATA[0000] pinging docker://mirror.example/v2/: 401",
        ),
    ],
)
def test_tool_output_is_untrusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, message: str
) -> None:
    fake_tool(tmp_path / "bin", script)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    inspector = Inspector.find({}, timeout=30)
    assert inspector is not None and inspector.tool == "skopeo"
    if not message:
        assert inspector.inspect(SANITISED_A) == ImageFacts()
        return
    with pytest.raises(InspectError) as error:
        inspector.inspect(SANITISED_A)
    assert str(error.value) == message


def test_odd_config_shapes_count_as_absent() -> None:
    assert facts_from_config({"config": "x"}) == facts_from_config({})
    assert facts_from_config({"config": {"Labels": [1], "Env": {"a": 1}}}) == ImageFacts()
    facts = facts_from_config(
        {"config": {"Labels": {"org.opencontainers.image.source": 7}, "Env": ["__doozer_key"]}}
    )
    assert facts.values() == ("", "", "", "")
    assert facts.defects == (
        "label org.opencontainers.image.source: expected a string, found a number",
    )
