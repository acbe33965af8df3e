"""SonarQube's generic test coverage XML (`sonar.coverageReportPaths`): one `<file>` per
source file, one `<lineToCover>` per line a block touches. Go has no branch data, so no
`branchesToCover`. SonarQube resolves paths against the project's base directory:
repository-relative paths match when it analyses the repository root."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

from coverage_collector.export.cobertura import xml_text
from coverage_collector.export.model import ExportGroup, FileCoverage


def file_element(file: FileCoverage) -> ET.Element:
    element = ET.Element("file", path=xml_text(file.path))
    lines, hits = file.line_hits()
    for line, hit in zip(lines.tolist(), hits.tolist(), strict=True):
        ET.SubElement(
            element, "lineToCover", lineNumber=str(line), covered="true" if hit else "false"
        )
    return element


def write(group: ExportGroup, out_dir: str) -> list[str]:
    root = ET.Element("coverage", version="1")
    root.extend(file_element(f) for f in sorted(group.files, key=lambda f: f.path))
    name = f"{group.key}.xml"
    ET.ElementTree(root).write(os.path.join(out_dir, name), encoding="utf-8", xml_declaration=True)
    return [name]
