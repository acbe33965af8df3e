"""How the tests and benchmarks start Debian's Chromium (see ../shared/docs/test-infra.md)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Debian's Chromium in a sandboxed CI machine, with no network use of its own."""


def chromium_path() -> str | None:
    """The Chromium executable, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HOSTILE = "<img src=x onerror=window.__pwned=1>"


def rows(page: Any, table: str = "#owners") -> list[list[str]]:
    return page.eval_on_selector_all(
        f"{table} tbody tr.row", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
    )
