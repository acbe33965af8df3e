"""The difference as a table for CI logs, markdown for pull-request comments, or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coverage_collector.diff.compare import Tally
from coverage_collector.diff.run import DiffResult
from coverage_collector.results import points_text
from coverage_collector.textformat import markdown_table, terminal_cell

TOP_FILES = 20


def _tally_json(t: Tally) -> dict[str, Any]:
    return {
        **asdict(t),
        "head_percent": t.head.percent_rounded(2),
        "base_percent": t.base.percent_rounded(2),
        "delta": round(t.delta, 2),
    }


def to_json(result: DiffResult) -> dict[str, Any]:
    return {
        "head": result.head,
        "baseline": result.baseline,
        "total": _tally_json(result.total),
        "owners": [
            {
                "namespace": o.namespace,
                "owner_type": o.owner_type,
                "owner_name": o.owner_name,
                "binary_name": o.binary_name,
                "head_hash": o.head_hash or None,
                "base_hash": o.base_hash or None,
                **_tally_json(o.tally),
            }
            for o in result.owners
        ],
        "binaries": [
            {
                "name": b.name,
                "head_hash": b.head_hash or None,
                "base_hash": b.base_hash or None,
                **_tally_json(b.tally),
                "files": [{"path": f.path, **_tally_json(f.tally)} for f in b.files],
            }
            for b in result.binaries
        ],
        "namespaces": {ns: _tally_json(t) for ns, t in result.namespaces.items()},
    }


def _percent(t: Tally, side: str) -> str:
    numbers = t.head if side == "head" else t.base
    return numbers.percent_text() if numbers.statements else "-"


def _numbers(t: Tally) -> list[str]:
    return [
        _percent(t, "base"),
        _percent(t, "head"),
        points_text(t.delta),
        str(t.newly_covered),
        str(t.lost),
        f"{t.new_code_covered}/{t.new_code}",
        str(t.removed_code),
    ]


NUMBER_COLUMNS = [
    "baseline",
    "head",
    "Δ pts",
    "newly covered",
    "lost",
    "new (covered/all)",
    "removed",
]


def sections(result: DiffResult) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table: owners, binaries, namespaces and the most changed
    files."""
    owners = sorted(result.owners, key=lambda o: (not o.tally.changed, o.tally.delta, o.label))
    files = [
        (b.name, f)
        for b in result.binaries
        for f in b.files
        if f.tally.lost or f.tally.new_code or f.tally.removed_code or f.tally.newly_covered
    ]
    files.sort(key=lambda item: (-item[1].tally.lost, -item[1].tally.new_code, item[1].path))
    return [
        (
            "Owners",
            ["owner", "binary", *NUMBER_COLUMNS],
            [[o.label, o.binary_name, *_numbers(o.tally)] for o in owners],
        ),
        (
            "Binaries",
            ["binary", "build (baseline -> head)", *NUMBER_COLUMNS],
            [
                [
                    b.name,
                    f"{b.base_hash[:12] or '-'} -> {b.head_hash[:12] or '-'}",
                    *_numbers(b.tally),
                ]
                for b in result.binaries
            ],
        ),
        (
            "Namespaces",
            ["namespace", *NUMBER_COLUMNS],
            [[ns, *_numbers(t)] for ns, t in result.namespaces.items()],
        ),
        (
            f"Files with changes (top {TOP_FILES} by lost, then new code)",
            ["binary", "file", *NUMBER_COLUMNS],
            [[name, f.path, *_numbers(f.tally)] for name, f in files[:TOP_FILES]],
        ),
    ]


def headline(result: DiffResult) -> str:
    t = result.total
    return (
        f"coverage {_percent(t, 'base')} -> {_percent(t, 'head')} ({points_text(t.delta)} points, "
        f"each binary counted once); statements over the owners: {t.newly_covered} newly "
        f"covered, {t.lost} lost, "
        f"{t.still_covered} still covered, {t.never_covered} never covered, {t.new_code} new "
        f"({t.new_code_covered} covered), {t.removed_code} removed"
    )


def markdown(result: DiffResult) -> str:
    parts = [f"**{headline(result)}**"]
    for title, header, rows in sections(result):
        if rows:
            parts.append(f"### {title}\n\n{markdown_table(header, rows)}")
    return "\n\n".join(parts) + "\n"


def render(result: DiffResult, output_format: str, console: Console) -> None:
    if output_format == "json":  # plain: rich would highlight megabytes of it
        console.file.write(json.dumps(to_json(result), indent=1) + "\n")
        return
    if output_format == "markdown":
        console.print(markdown(result), markup=False, highlight=False, emoji=False)
        return
    console.print(escape(headline(result)), highlight=False)
    for title, header, rows in sections(result):
        if not rows:
            continue
        table = Table(title=title)
        for column in header:
            table.add_column(
                column,
                justify="left" if column in ("owner", "binary", "namespace", "file") else "right",
            )
        for row in rows:
            table.add_row(*(terminal_cell(c) for c in row))
        console.print(table)


def write_files(result: DiffResult, out: str) -> None:
    """diff.json and diff.md in `out`."""
    import os

    with open(os.path.join(out, "diff.json"), "w", encoding="utf-8") as handle:
        json.dump(to_json(result), handle, indent=1)
        handle.write("\n")
    with open(os.path.join(out, "diff.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown(result))
