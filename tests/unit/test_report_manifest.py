"""The render's cache: what its key covers and what the manifest keeps between renders."""

from __future__ import annotations

import json
from pathlib import Path

from coverage_collector.report.manifest import MANIFEST, Manifest, assets_key


def test_assets_key_covers_versions_names_and_bytes(tmp_path: Path) -> None:
    templates, static = tmp_path / "templates", tmp_path / "static"
    templates.mkdir()
    static.mkdir()
    (templates / "page.html.j2").write_text("<p>{{ x }}</p>", encoding="utf-8")
    (static / "report-main.js").write_text("// main", encoding="utf-8")
    key = assets_key(["1.0"], [templates, static])
    assert key == assets_key(["1.0"], [templates, static])
    assert key != assets_key(["1.1"], [templates, static])
    (static / "report-main.js").write_text("// main, edited", encoding="utf-8")
    edited = assets_key(["1.0"], [templates, static])
    assert edited != key
    (static / "report-main.js").rename(static / "report-other.js")
    assert assets_key(["1.0"], [templates, static]) != edited


def test_manifest_keeps_the_assets_key(tmp_path: Path) -> None:
    Manifest(str(tmp_path), {"b": {"key": "k", "files": []}}, "abc").save()
    loaded = Manifest.load(str(tmp_path))
    assert (loaded.binaries, loaded.assets) == ({"b": {"key": "k", "files": []}}, "abc")
    # a manifest of an older render (no assets key) loads with none: everything is redone
    (tmp_path / MANIFEST).write_text(json.dumps({"binaries": {}}), encoding="utf-8")
    assert Manifest.load(str(tmp_path)).assets == ""
    (tmp_path / MANIFEST).write_text("[]", encoding="utf-8")
    assert Manifest.load(str(tmp_path)) == Manifest(str(tmp_path))
