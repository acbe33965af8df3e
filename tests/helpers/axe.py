"""axe-core (Deque's accessibility engine, from npm) run in a Playwright page.

`.ci/run` installs it with npm into the test cache (`<cache>/axe/node_modules/axe-core`);
`COVERAGE_COLLECTOR_AXE` may name another `axe.min.js`. It is evaluated through the
DevTools protocol, so the report's Content-Security-Policy (`script-src 'self'`) stays on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers.gofixtures import cache_root, skip_or_fail

BLOCKING = ("serious", "critical")
"""The impacts that fail a test (issue 18: no serious or critical violation)."""


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.impact} {self.rule} ({self.help}): {', '.join(self.targets[:5])}"


def axe_script() -> Path:
    """The axe-core script; skips (fails under COVERAGE_COLLECTOR_REQUIRE_ALL) without it."""
    named = os.environ.get("COVERAGE_COLLECTOR_AXE")
    path = (
        Path(named) if named else cache_root() / "axe" / "node_modules" / "axe-core" / "axe.min.js"
    )
    if not path.is_file():
        skip_or_fail(f"axe-core not found at {path} (npm install --prefix <cache>/axe axe-core)")
    return path


def violations(page: Any) -> list[Violation]:
    """The serious and critical violations axe finds in the page as it is now."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(axe_script().read_text(encoding="utf-8") + "\n;0")
    found = page.evaluate(
        # preload off: axe would fetch the stylesheets, which the report's CSP forbids
        "async () => (await axe.run(document, {resultTypes: ['violations'], preload: false}))"
        ".violations"
        ".map(v => ({rule: v.id, impact: v.impact || '', help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' '))}))"
    )
    return [
        Violation(v["rule"], v["impact"], v["help"], tuple(v["targets"]))
        for v in found
        if v["impact"] in BLOCKING
    ]
