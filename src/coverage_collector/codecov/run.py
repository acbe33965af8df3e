"""`cluster codecov-upload`: one Go profile per repository and commit, uploaded with
codecov-cli (installed from PyPI, never downloaded at run time).

Each upload is the repository group of `cluster export --by repo`: every selected binary
built from that repository at that commit, merged, with paths relative to the repository
root. Binaries without a recorded repository and commit cannot be attributed and are
counted as skipped, as are repositories whose organisation matches no `--source-org`.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
from dataclasses import dataclass, field

from coverage_collector import database, logs
from coverage_collector.codecov import codecov_cli
from coverage_collector.exceptions import CollectorError, UsageError
from coverage_collector.export.gocover import profile_text
from coverage_collector.export.model import ExportGroup, build_groups
from coverage_collector.selection import OwnerSelection
from coverage_collector.stage import ExitFromOk

log = logs.get_logger(__name__)
DEFAULT_FLAGS = ("openshift-e2e",)


@dataclass(frozen=True, kw_only=True)
class Options:
    """Where to upload (token, server, slug), what (owners, source organisations, flags),
    and whether only to say what would go up (`dry_run`)."""

    collection: str
    token: str | None = None
    flags: tuple[str, ...] = DEFAULT_FLAGS
    url: str | None = None
    selection: OwnerSelection = field(default_factory=OwnerSelection)
    source_orgs: tuple[str, ...] = ()
    slug: str | None = None
    dry_run: bool = False
    timeout: float = 300.0


@dataclass
class Summary(ExitFromOk):
    """The uploads made (or, `dry_run`, that would be), failed and skipped."""

    dry_run: bool
    uploaded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped_no_source: list[str] = field(default_factory=list)
    skipped_org: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def lines(self) -> list[str]:
        verb = "would upload" if self.dry_run else "uploaded"
        lines = [f"Codecov: {verb} {len(self.uploaded)}, failed {len(self.failed)}"]
        if self.skipped_org:
            lines.append(f"  {len(self.skipped_org)} repositories skipped by --source-org")
        if self.skipped_no_source:
            lines.append(
                f"  {len(self.skipped_no_source)} binaries skipped: no recorded repository and "
                f"commit ({', '.join(self.skipped_no_source)})"
            )
        lines.extend(f"  failed: {failure}" for failure in self.failed)
        return lines


def run(options: Options) -> Summary:
    """Upload each repository group of the selection; a failed upload is one line and the
    others go on (the token and codecov-cli are checked before any work)."""
    token = options.token or ""  # the command line takes it from CODECOV_TOKEN too
    if not options.dry_run:
        if not token:
            raise UsageError("No Codecov token", hint="pass --codecov-token or set CODECOV_TOKEN")
        codecov_cli.find_cli()  # fail before any work when it is missing
    conn = database.open_readonly(options.collection)
    try:
        groups = build_groups(conn, options.selection, "repo")
    finally:
        conn.close()
    if not groups:
        raise UsageError(f"No owner matches {options.selection.describe() or 'the collection'}")
    summary = Summary(options.dry_run)
    summary.skipped_no_source = [g.label for g in groups if g.kind != "repo"]
    repositories = [g for g in groups if g.kind == "repo"]
    with tempfile.TemporaryDirectory(prefix="cc-codecov-") as work:
        for number, group in enumerate(repositories, 1):
            _upload_group(options, token, group, f"[{number}/{len(repositories)}]", work, summary)
    return summary


def _upload_group(
    options: Options,
    token: str,
    group: ExportGroup,
    counter: str,
    work: str,
    summary: Summary,
) -> None:
    try:
        slug = options.slug or codecov_cli.slug_from_url(group.source_url)
        upload_files = [os.path.join(work, f"{group.key}.out")]
        upload = codecov_cli.Upload(
            slug,
            group.commit,
            codecov_cli.git_service(group.source_url),
            upload_files,
            options.flags,
        )
    except (CollectorError, ValueError) as exc:
        summary.failed.append(f"{group.label}: {exc}")
        log.error("%s %s: %s", counter, group.label, exc)
        return
    organisation = slug.split("/", 1)[0]
    if options.source_orgs and not any(
        fnmatch.fnmatchcase(organisation, glob) for glob in options.source_orgs
    ):
        summary.skipped_org.append(slug)
        return
    go_paths = sum(not f.repository_relative for f in group.files)
    log.info(
        "%s %s @ %s (%d binaries, %d owners, %d files%s)",
        counter,
        slug,
        group.commit[:12],
        len(group.binaries),
        len(group.owners),
        len(group.files),
        f", {go_paths} with Go package paths" if go_paths else "",
    )
    if options.dry_run:
        log.info("[dry-run] %s", codecov_cli.describe(upload, options.url))
        summary.uploaded.append(f"{slug}@{group.commit}")
        return
    with open(upload_files[0], "w", encoding="utf-8") as handle:
        handle.write(profile_text(group, local_prefix=False))
    checkout = tempfile.mkdtemp(dir=work)  # empty: codecov-cli sends the names under it
    result = codecov_cli.run_upload(
        upload, token=token, url=options.url, cwd=checkout, timeout=options.timeout
    )
    if result.ok:
        summary.uploaded.append(f"{slug}@{group.commit}")
        log.info("%s %s", counter, result.message)
    else:
        summary.failed.append(f"{slug} @ {group.commit[:12]}: {result.message}")
        log.error("%s %s @ %s: %s", counter, slug, group.commit[:12], result.message)
