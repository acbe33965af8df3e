"""How the tests and benchmarks start Debian's Chromium (see ../shared/docs/test-infra.md)."""

from __future__ import annotations

import shutil

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
