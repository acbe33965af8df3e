"""Codecov's JSON coverage format: `{"coverage": {"<path>": {"<line>": hits}}}`.

Codecov also reads `"n/m"` strings as partially covered lines (branches taken of all); Go
has no branch data, so every value is the line's count. Lines are in numeric order (JSON
object keys are strings, and sorting them as strings would put "10" before "2").
"""

from __future__ import annotations

import json
import os
import re

from coverage_collector.export.model import ExportGroup, FileCoverage

_SURROGATE = re.compile("[\ud800-\udfff]")
"""Undecodable bytes of a path: not Unicode, which JSON text must be."""


def file_lines(file: FileCoverage) -> dict[str, int]:
    lines, hits = file.line_hits()
    return {str(line): hit for line, hit in zip(lines.tolist(), hits.tolist(), strict=True)}


def coverage_json(group: ExportGroup) -> dict[str, dict[str, dict[str, int]]]:
    files = sorted(group.files, key=lambda f: f.path)
    return {"coverage": {_SURROGATE.sub("\ufffd", f.path): file_lines(f) for f in files}}


def write(group: ExportGroup, out_dir: str) -> list[str]:
    name = f"{group.key}.json"
    with open(os.path.join(out_dir, name), "w", encoding="ascii", newline="\n") as handle:
        json.dump(coverage_json(group), handle, separators=(",", ":"))
        handle.write("\n")
    return [name]
