"""LCOV tracefiles (`<key>.info`): what genhtml, Coveralls, Codecov and most IDEs read.

Functions are `FN:<start line>,<name>` without the end line: lcov 1.16's genhtml reads
`FN:(\\d+),([^,]+)`, so `FN:<start>,<end>,<name>` would name every function by its end line
(lcov 2 accepts both). genhtml keys functions by name, so a name that occurs twice in a
file (the same method name merged from two builds, or hostile data) gets `@<line>`
appended. The format has no quoting: line breaks in paths and names, and commas in
names, are replaced. Paths keep their original bytes (surrogate escapes are written
back as the bytes they stand for).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator

from coverage_collector.export.model import ExportGroup, FileCoverage, FunctionCoverage

REPLACEMENT = "\ufffd"
_UNWRITABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udc7f\udd00-\udfff]")
"""Anything a reader may take as the end of a record (Python's `splitlines` included), and
surrogates that are not escaped bytes."""


def safe_field(value: str) -> str:
    """`value` as one field of one line: a path or name can't end its record early."""
    return _UNWRITABLE.sub(REPLACEMENT, value)


def _name(value: str) -> str:
    """A function name genhtml reads whole: no line break, no comma, not empty."""
    return safe_field(value).replace(",", ";") or "_"


def function_names(functions: list[FunctionCoverage]) -> list[str]:
    """Names unique within a file: repeated ones get `@<start line>` (and `#n` if needed)."""
    names = [_name(f.name) for f in functions]
    repeated = {name for name, n in Counter(names).items() if n > 1}
    taken = set(names) - repeated
    unique = []
    for name, function in zip(names, functions, strict=True):
        chosen = name
        if name in repeated:
            chosen = candidate = f"{name}@{function.start_line}"
            suffix = 2
            while chosen in taken:
                chosen = f"{candidate}#{suffix}"
                suffix += 1
        taken.add(chosen)
        unique.append(chosen)
    return unique


def file_record(file: FileCoverage) -> Iterator[str]:
    """The lines of one file's record, `SF:` to `end_of_record`."""
    yield "TN:"
    yield f"SF:{safe_field(file.path)}"
    names = function_names(file.functions)
    for name, function in zip(names, file.functions, strict=True):
        yield f"FN:{function.start_line},{name}"
    for name, function in zip(names, file.functions, strict=True):
        yield f"FNDA:{function.executions},{name}"
    yield f"FNF:{len(file.functions)}"
    yield f"FNH:{sum(1 for f in file.functions if f.executions)}"
    lines, hits = file.line_hits()
    yield from (f"DA:{line},{hit}" for line, hit in zip(lines.tolist(), hits.tolist(), strict=True))
    yield f"LF:{len(lines)}"
    yield f"LH:{int((hits > 0).sum())}"
    yield "end_of_record"


def write(group: ExportGroup, out_dir: str) -> list[str]:
    name = f"{group.key}.info"
    with open(
        os.path.join(out_dir, name), "w", encoding="utf-8", errors="surrogateescape", newline="\n"
    ) as handle:
        for file in sorted(group.files, key=lambda f: f.path):
            handle.writelines(f"{line}\n" for line in file_record(file))
    return [name]
