"""Our own JSON: a group's totals, files and functions, for scripts and dashboards."""

from __future__ import annotations

import json
import os
from typing import Any

from coverage_collector.export.model import ExportGroup
from coverage_collector.results import Numbers


def group_json(group: ExportGroup) -> dict[str, Any]:
    files = []
    for file in group.files:
        lines, hits = file.line_hits()
        numbers = Numbers(file.total_statements, file.covered_statements)
        files.append(
            {
                "path": file.path,
                "go_path": file.go_path,
                "repository_relative": file.repository_relative,
                "statements": numbers.statements,
                "covered": numbers.covered,
                "percent": numbers.percent_rounded(2),
                "lines": len(lines),
                "lines_covered": int((hits > 0).sum()),
                "functions": [
                    {
                        "name": f.name,
                        "start_line": f.start_line,
                        "end_line": f.end_line,
                        "statements": f.statements,
                        "covered": f.covered,
                        "executions": f.executions,
                    }
                    for f in file.functions
                ],
            }
        )
    return {
        **group.describe(),
        "percent": Numbers(group.statements, group.covered).percent_rounded(2),
        "files": files,
    }


def write(group: ExportGroup, out_dir: str) -> list[str]:
    name = f"{group.key}.json"
    with open(os.path.join(out_dir, name), "w", encoding="utf-8") as handle:
        json.dump(group_json(group), handle, indent=1)
        handle.write("\n")
    return [name]
