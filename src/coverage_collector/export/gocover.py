"""Go text profiles (`mode:` + one line per block): what `go tool cover`, Codecov and
SonarQube's Go plugin read.

Repository-relative paths are written as `./path`: `go tool cover` then reads the file from
the directory it runs in (the repository root) instead of asking `go list` for a package.
"""

from __future__ import annotations

import os

from coverage_collector.export.model import ExportGroup


def profile_text(group: ExportGroup, *, local_prefix: bool = True) -> str:
    """The group's profile; `local_prefix=False` writes repository paths without `./`."""
    lines = [f"mode: {group.mode}\n"]
    for file in group.files:
        path = f"./{file.path}" if file.repository_relative and local_prefix else file.path
        path = path.replace("\n", "\ufffd").replace("\r", "\ufffd")  # one block per line
        lines.extend(file.profile_lines(path))
    return "".join(lines)


def write(group: ExportGroup, out_dir: str) -> list[str]:
    name = f"{group.key}.out"
    with open(os.path.join(out_dir, name), "w", encoding="utf-8") as handle:
        handle.write(profile_text(group))
    return [name]
