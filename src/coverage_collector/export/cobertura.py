"""Cobertura XML (coverage-04 DTD) as GitLab reads it to annotate merge request diffs.

One `<package>` per Go package, one `<class>` per file (name: its base name, filename:
its exported path) with its functions as `<method>`s. Go has no branch data: every line
is `branch="false"` and every branch rate 0. `<sources>` holds only `.`: GitLab uses a
source only when it contains the project's path and otherwise takes each filename as
relative to the repository root, which ours are when the file resolved.

GitLab skips a report over 10 MiB (and sources past the 100th: ours have one), so a large
group is split into `<key>.xml`, `<key>-2.xml`, ...: each a complete document, each file in
exactly one. A file too large on its own gets a part to itself (and is logged).
"""

from __future__ import annotations

import itertools
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

from coverage_collector import __version__, logs
from coverage_collector.covdata.arrays import run_offsets
from coverage_collector.export.model import ExportGroup, FileCoverage

MAX_BYTES = 10 * 1024 * 1024
"""GitLab's limit on one Cobertura file."""
MAX_SOURCES = 100
"""GitLab reads no `<source>` past the 100th."""
SOURCE = "."
"""The repository root (GitLab ignores it; readers that join it to filenames find ours)."""
_COUNT_WIDTH = 20
"""Digits of the largest line count, to bound a document's size before its totals are known."""
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
log = logs.get_logger(__name__)


def xml_text(value: str) -> str:
    """`value` with what XML 1.0 can't hold (control characters, unpaired surrogates from
    undecodable bytes) replaced; ElementTree escapes the rest but writes these as they are."""
    return _INVALID_XML.sub("\ufffd", value)


def _rate(covered: int, valid: int) -> str:
    """Fixed width, so that a document's size is known before its totals."""
    return f"{covered / valid:.4f}" if valid else "1.0000"


@dataclass
class _Class:
    package: str
    element: ET.Element
    size: int
    lines: int
    covered: int


def _lines(parent: ET.Element, lines: np.ndarray, hits: np.ndarray) -> None:
    node = ET.SubElement(parent, "lines")
    for line, hit in zip(lines.tolist(), hits.tolist(), strict=True):
        ET.SubElement(node, "line", number=str(line), hits=str(hit), branch="false")


def function_lines(file: FileCoverage) -> list[np.ndarray]:
    """Per function, the lines its blocks touch (as `line_hits` clips them)."""
    n_lines = int(file.end_line.max()) if len(file.end_line) else 0
    first = np.clip(file.start_line, 1, max(n_lines, 1))
    last = np.clip(file.end_line, 1, max(n_lines, 1))
    owner, offset = run_offsets(np.maximum(last - first + 1, 0))
    keys = np.unique(file.block_function[owner] * (n_lines + 1) + first[owner] + offset)
    function, line = np.divmod(keys, n_lines + 1)
    bounds = np.searchsorted(function, np.arange(len(file.functions) + 1))
    return [line[a:b] for a, b in itertools.pairwise(bounds)]


def class_element(file: FileCoverage) -> tuple[ET.Element, int, int]:
    """The file's `<class>`, its line count and covered lines."""
    lines, hits = file.line_hits()
    covered = int((hits > 0).sum())
    element = ET.Element("class", name=xml_text(os.path.basename(file.path)))
    element.set("filename", xml_text(file.path))
    element.set("line-rate", _rate(covered, len(lines)))
    element.set("branch-rate", "0")
    element.set("complexity", "0")
    methods = ET.SubElement(element, "methods")
    by_line = np.zeros(int(lines.max()) + 1 if len(lines) else 1, dtype=np.int64)
    by_line[lines] = hits
    for function, own in zip(file.functions, function_lines(file), strict=True):
        own_hits = by_line[own]
        method = ET.SubElement(methods, "method", name=xml_text(function.name), signature="")
        method.set("line-rate", _rate(int((own_hits > 0).sum()), len(own)))
        method.set("branch-rate", "0")
        method.set("complexity", "0")
        _lines(method, own, own_hits)
    _lines(element, lines, hits)
    return element, len(lines), covered


def _class(file: FileCoverage) -> _Class:
    element, lines, covered = class_element(file)
    size = len(ET.tostring(element, encoding="unicode").encode())
    return _Class(xml_text(file.package), element, size, lines, covered)


def _package(name: str, classes: list[_Class]) -> ET.Element:
    lines = sum(c.lines for c in classes)
    element = ET.Element("package", name=name)
    element.set("line-rate", _rate(sum(c.covered for c in classes), lines))
    element.set("branch-rate", "0")
    element.set("complexity", "0")
    ET.SubElement(element, "classes").extend(c.element for c in classes)
    return element


def _document(classes: list[_Class], timestamp: int) -> ET.ElementTree:
    lines = sum(c.lines for c in classes)
    covered = sum(c.covered for c in classes)
    root = ET.Element("coverage")
    root.set("line-rate", _rate(covered, lines))
    root.set("branch-rate", "0")
    root.set("lines-covered", str(covered))
    root.set("lines-valid", str(lines))
    root.set("branches-covered", "0")
    root.set("branches-valid", "0")
    root.set("complexity", "0")
    root.set("version", __version__)
    root.set("timestamp", str(timestamp))
    ET.SubElement(ET.SubElement(root, "sources"), "source").text = SOURCE
    by_package: dict[str, list[_Class]] = {}
    for c in classes:
        by_package.setdefault(c.package, []).append(c)
    packages = ET.SubElement(root, "packages")
    packages.extend(_package(name, members) for name, members in sorted(by_package.items()))
    return ET.ElementTree(root)


def _size(tree: ET.ElementTree) -> int:
    return len(ET.tostring(tree.getroot(), encoding="unicode").encode()) + 40  # declaration


def _overhead(timestamp: int) -> int:
    """An upper bound of a document's size without its packages."""
    placeholder = _document([], timestamp)
    root = placeholder.getroot()
    root.set("lines-covered", "9" * _COUNT_WIDTH)
    root.set("lines-valid", "9" * _COUNT_WIDTH)
    return _size(placeholder) + len("<packages></packages>")


def _wrapper(package: str) -> int:
    """An upper bound of a `<package>` element's size without its classes."""
    return len(ET.tostring(_package(package, []), encoding="unicode").encode()) + 16


def _split(classes: list[_Class], max_bytes: int, overhead: int) -> list[list[_Class]]:
    """Consecutive runs of `classes` whose documents stay within `max_bytes`."""
    parts: list[list[_Class]] = [[]]
    size = overhead
    for c in classes:
        new_package = not parts[-1] or parts[-1][-1].package != c.package
        extra = c.size + (_wrapper(c.package) if new_package else 0)
        if parts[-1] and size + extra > max_bytes:
            parts.append([])
            size, extra = overhead, c.size + _wrapper(c.package)
        parts[-1].append(c)
        size += extra
        if size > max_bytes:
            filename = c.element.get("filename")
            log.warning("%s alone exceeds %d bytes of Cobertura XML", filename, max_bytes)
    return parts


def part_name(key: str, index: int) -> str:
    return f"{key}.xml" if index == 0 else f"{key}-{index + 1}.xml"


def write(
    group: ExportGroup,
    out_dir: str,
    *,
    max_bytes: int = MAX_BYTES,
    max_sources: int = MAX_SOURCES,
    timestamp: int = 0,
) -> list[str]:
    """Write the group in as many parts as `max_bytes` needs (every part has the one source,
    within any `max_sources` of at least 1); `timestamp` (milliseconds since the epoch)
    defaults to 0 so that the same data gives the same bytes."""
    if max_sources < 1:
        raise ValueError("a Cobertura document needs its source")
    files = sorted(group.files, key=lambda f: (f.package, f.path))
    parts = _split([_class(f) for f in files], max_bytes, _overhead(timestamp))
    names = []
    for index, classes in enumerate(parts):
        names.append(part_name(group.key, index))
        tree = _document(classes, timestamp)
        tree.write(os.path.join(out_dir, names[-1]), encoding="utf-8", xml_declaration=True)
    return names
