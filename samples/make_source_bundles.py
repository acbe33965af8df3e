"""Bundle each sample service's source as a git repository, for the demo's source step.

Each service under ``samples/services/`` becomes one commit (fixed author and dates, so the
commit is the same on every machine) in a git bundle at
``src/coverage_collector/sample_collection/sources/<service>``; the sample entries'
``info.json`` files then name that commit. The demo fetches
``https://github.com/example-org/<service>`` at that commit from the bundle
(``--git-mirror https://github.com/example-org=<sources>``), with no network.

The injected ``coverage_server.go`` is not part of a service's repository (the build
system adds it), so it is reported as missing from the checkout, as in a real cluster.

Usage: ``python samples/make_source_bundles.py``
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = REPO_ROOT / "samples" / "services"
SAMPLE = REPO_ROOT / "src" / "coverage_collector" / "sample_collection"
ORIGIN = "https://github.com/example-org"
INJECTED = "coverage_server.go"
FIXED = {
    "GIT_AUTHOR_NAME": "Example Org",
    "GIT_AUTHOR_EMAIL": "dev@example.org",
    "GIT_AUTHOR_DATE": "2026-03-02T10:00:00+00:00",
    "GIT_COMMITTER_NAME": "Example Org",
    "GIT_COMMITTER_EMAIL": "dev@example.org",
    "GIT_COMMITTER_DATE": "2026-03-02T10:00:00+00:00",
}


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **FIXED, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def bundle_service(service: Path, out: Path) -> str:
    """Commit the service's files (without the injected file) and bundle them; return the commit."""
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch) / service.name
        shutil.copytree(service, repo, ignore=shutil.ignore_patterns(INJECTED))
        git("init", "-q", "-b", "main", cwd=repo)
        git("add", "-A", cwd=repo)
        git("commit", "-q", "-m", f"{service.name}: the sample service", cwd=repo)
        commit = git("rev-parse", "HEAD", cwd=repo)
        git("bundle", "create", "-q", str(out / service.name), "main", cwd=repo)
    return commit


def point_entries(service: str, commit: str) -> int:
    """Make every sample entry of `service` record `commit`; return how many changed."""
    changed = 0
    for info_path in sorted((SAMPLE / "coverage").glob("*/info.json")):
        info = json.loads(info_path.read_text(encoding="utf-8"))
        if info.get("source_url") == f"{ORIGIN}/{service}" and info.get("source_commit") != commit:
            info["source_commit"] = commit
            info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
            changed += 1
    return changed


def main() -> None:
    out = SAMPLE / "sources"
    out.mkdir(exist_ok=True)
    for service in sorted(p for p in SERVICES_DIR.iterdir() if p.is_dir()):
        commit = bundle_service(service, out)
        changed = point_entries(service.name, commit)
        print(f"{service.name}: {commit} ({changed} info.json updated)")


if __name__ == "__main__":
    main()
