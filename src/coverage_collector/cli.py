"""The command tree. Thin by design: parse, call one library function, print, exit.

Exit codes: 0 success, 1 an error was reported (bad input, partial failure),
2 the command line was wrong, 130 cancelled.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from coverage_collector import __version__, logs
from coverage_collector.exceptions import CollectorError, UsageError

OK, ERR, USAGE, CANCELLED = 0, 1, 2, 130
F = TypeVar("F", bound=Callable[..., Any])
log = logs.get_logger(__name__)


def collection_options(func: F) -> F:
    """Add the options every collection command takes (`--collection`, `--verbosity`,
    `--max-concurrency`), accepted after the subcommand, and set up logging."""

    @click.option(
        "--collection",
        required=True,
        type=click.Path(file_okay=False),
        help="Collection directory (created when missing).",
    )
    @click.option(
        "--verbosity",
        type=click.Choice(list(logs.VERBOSITY_LEVELS)),
        default="info",
        show_default=True,
        help="Log verbosity.",
    )
    @click.option(
        "--max-concurrency",
        type=click.IntRange(min=1),
        default=8,
        show_default=True,
        help="Maximum concurrent operations.",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any, collection: str, verbosity: str, max_concurrency: int, **kwargs: Any
    ) -> Any:
        log_file = logs.configure(verbosity, collection)
        log.debug("logging to %s", log_file)
        return func(*args, collection=collection, max_concurrency=max_concurrency, **kwargs)

    return wrapper  # type: ignore[return-value]


def output_dir_option(help_text: str) -> Callable[[F], F]:
    """`--output-dir DIR` (a directory; created when missing)."""
    return click.option(
        "--output-dir", type=click.Path(file_okay=False), default=None, help=help_text
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="coverage-collector")
def cli() -> None:
    """Turn Go coverage collected across a Kubernetes/OpenShift cluster into answers."""


@cli.group()
def cluster() -> None:
    """Collection pipeline: download, compile, clone-sources, render (in that order).

    The commands of this group arrive stage by stage; `demo` shows the pipeline so far."""


@cluster.command("download")
@collection_options
@click.option("--bucket", required=True, help="S3 bucket name.")
@click.option("--prefix", required=True, help="S3 key prefix the producer writes under.")
@click.option("--profile", default=None, help="AWS profile (default: the standard chain).")
@click.option("--region", default=None, help="AWS region.")
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    default=None,
    help="S3-compatible endpoint (MinIO, Ceph, ODF); also AWS_ENDPOINT_URL.",
)
@click.option("--skip-existing", is_flag=True, help="Skip entries that already have local data.")
def download_command(
    collection: str,
    max_concurrency: int,
    bucket: str,
    prefix: str,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    skip_existing: bool,
) -> None:
    """Download coverage data from S3 into <collection>/coverage/ (incremental)."""
    from coverage_collector.s3 import DownloadOptions, download

    options = DownloadOptions(
        collection, bucket, prefix, profile, region, endpoint_url, skip_existing, max_concurrency
    )
    summary = download(options)
    for line in summary.lines():
        log.info("%s", line)
    if not summary.ok:
        raise SystemExit(ERR)


@cluster.command("compile")
@collection_options
@click.option(
    "--update",
    multiple=True,
    metavar="'*'|FIELD=GLOB",
    help="Recompute matching items even if unchanged: '*' for all, or FIELD=GLOB with FIELD "
    "one of namespace, node, container, image, owner, binary (several flags are AND-ed).",
)
@click.option(
    "--exclude-file",
    multiple=True,
    metavar="GLOB",
    help="Base names of files that are not the application (default: coverage_server.go, "
    "coverage_producer.go); the flags replace the default list, '' excludes nothing.",
)
def compile_command(
    collection: str, max_concurrency: int, update: tuple[str, ...], exclude_file: tuple[str, ...]
) -> None:
    """Compile <collection>/coverage/ into <collection>/coverage.db (incremental)."""
    from coverage_collector.compiler import (
        DEFAULT_EXCLUDES,
        CompileOptions,
        compile_collection,
        parse_update,
    )

    excludes = tuple(g for g in exclude_file if g) if exclude_file else DEFAULT_EXCLUDES
    options = CompileOptions(collection, parse_update(update), excludes, max_concurrency)
    summary = compile_collection(options)
    for line in summary.lines():
        log.info("%s", line)
    if not summary.ok:
        raise SystemExit(ERR)


@cluster.command("summary")
@collection_options
@click.option(
    "--by",
    type=click.Choice(["owner", "binary", "namespace"]),
    default="owner",
    show_default=True,
    help="One row per owner, binary or namespace.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
    help="Output format.",
)
def summary_command(collection: str, max_concurrency: int, by: str, output_format: str) -> None:
    """Print the compiled numbers: owners, binaries, statements, coverage, errors."""
    from rich.console import Console

    from coverage_collector.summary import overview, render

    width = None if sys.stdout.isatty() else 160  # logs and pipes: no folded cells
    render(overview(collection, by), output_format, Console(width=width, soft_wrap=True))
    finish(collection)


@cluster.command("clone-sources")
@collection_options
@click.option(
    "--skip-existing/--no-skip-existing",
    default=True,
    show_default=True,
    help="Keep checkouts whose HEAD already is their commit.",
)
@click.option(
    "--allow-branch-fallback",
    is_flag=True,
    help="Check out the default branch when a commit cannot be fetched (marked: the source "
    "may not match the binary).",
)
@click.option(
    "--allow-local-urls",
    is_flag=True,
    help="Accept local paths and file:// URLs as sources (mirrors, tests).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds allowed for each git command.",
)
@click.option(
    "--inspect-images/--no-inspect-images",
    default=True,
    show_default=True,
    help="Read source labels of images still lacking them (with skopeo or oc, when on PATH).",
)
@click.option(
    "--image-mirror",
    multiple=True,
    metavar="SRC=DEST",
    help="Inspect images under SRC at DEST instead, e.g. "
    "quay.io/openshift-release-dev=docker://mirror.example.com/ocp or =oci:/path/layout:",
)
@click.option(
    "--git-mirror",
    multiple=True,
    metavar="SRC=DEST",
    help="Fetch repositories under the URL prefix SRC from DEST (a mirror, local path or "
    "git bundle), e.g. https://github.com/openshift=https://git.example.com/openshift",
)
def clone_sources_command(
    collection: str,
    max_concurrency: int,
    skip_existing: bool,
    allow_branch_fallback: bool,
    allow_local_urls: bool,
    timeout: float,
    inspect_images: bool,
    image_mirror: tuple[str, ...],
    git_mirror: tuple[str, ...],
) -> None:
    """Check out each recorded source repository at its exact commit into <collection>/repos/,
    then resolve every binary's files to those checkouts."""
    from coverage_collector.sources.clone import CloneOptions, clone_sources
    from coverage_collector.sources.resolve import resolve_sources
    from coverage_collector.sources.urls import parse_mirrors

    options = CloneOptions(
        collection,
        skip_existing,
        allow_branch_fallback,
        allow_local_urls,
        max_concurrency,
        timeout,
        inspect_images,
        parse_mirrors(image_mirror, "--image-mirror"),
        git_mirrors=parse_mirrors(git_mirror, "--git-mirror"),
    )
    summary = clone_sources(options)
    for line in summary.lines():
        log.info("%s", line)
    resolved = resolve_sources(collection)
    for line in resolved.lines():
        log.info("%s", line)
    if not summary.ok or resolved.refused:
        raise SystemExit(ERR)


@cluster.command("render")
@collection_options
@output_dir_option("Where to write the report (default: <collection>/html).")
@click.option("--skip-component-html", is_flag=True, help="Write only the index.")
@click.option(
    "--baseline",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="A compiled collection to compare with (as `cluster diff`): a Δ column and a "
    "'changed only' filter in the index, lines marked by category in the source viewer.",
)
def render_command(
    collection: str,
    max_concurrency: int,
    output_dir: str | None,
    skip_component_html: bool,
    baseline: str | None,
) -> None:
    """Write the HTML report: index.html plus one page per binary, opened from file://."""
    from coverage_collector.report.render import RenderOptions, render

    summary = render(
        RenderOptions(collection, output_dir, skip_component_html, max_concurrency, baseline)
    )
    for line in summary.lines():
        log.info("%s", line)
    finish(collection, summary.ok)


def finish(collection: str, ok: bool = True) -> None:
    """End a stage that reads the database: exit 1 when it refused something (`ok` false)
    or when compile recorded entries it could not read (the collection is incomplete)."""
    from coverage_collector.database import compile_error_count

    errors = compile_error_count(collection)
    if errors:
        log.warning(
            "%d entries of the collection were not compiled: their errors are in the output "
            "of `cluster compile` and in `cluster summary`",
            errors,
        )
    if errors or not ok:
        raise SystemExit(ERR)


def owner_filters(func: F) -> F:
    """`--namespace` / `--owner` globs, as the prior tool took them."""
    func = click.option(
        "--owner",
        "owners",
        multiple=True,
        metavar="GLOB",
        help="Only owners with matching names (repeatable, OR-ed; AND-ed with --namespace).",
    )(func)
    return click.option(
        "--namespace",
        "namespaces",
        multiple=True,
        metavar="GLOB",
        help="Only owners in matching namespaces (repeatable, OR-ed; host processes: `host`).",
    )(func)


@cluster.command("export")
@collection_options
@click.option(
    "--format",
    "export_format",
    required=True,
    type=click.Choice(["gocover", "lcov", "cobertura", "sonarqube", "codecov-json", "json"]),
    help="Go text profile, LCOV, Cobertura XML, SonarQube generic XML, Codecov JSON, or ours.",
)
@click.option(
    "--by",
    type=click.Choice(["binary", "owner", "repo"]),
    default="binary",
    show_default=True,
    help="One file per binary, per owner, or per repository and commit (binaries merged).",
)
@owner_filters
@output_dir_option("Where to write (default: <collection>/exports/<format>).")
def export_command(
    collection: str,
    max_concurrency: int,
    export_format: str,
    by: str,
    namespaces: tuple[str, ...],
    owners: tuple[str, ...],
    output_dir: str | None,
) -> None:
    """Write coverage in a format other tools read, paths relative to the repository root
    where the source is resolved; index.json lists every file."""
    from coverage_collector.export.run import ExportOptions, export
    from coverage_collector.selection import OwnerSelection

    del max_concurrency
    selection = OwnerSelection.of(namespaces, owners)
    summary = export(ExportOptions(collection, export_format, by, selection, output_dir))  # type: ignore[arg-type]
    for line in summary.lines():
        log.info("%s", line)
    finish(collection, summary.ok)


@cluster.command("diff")
@collection_options
@click.option(
    "--baseline",
    required=True,
    type=click.Path(file_okay=False, exists=True),
    help="The compiled collection to compare with (e.g. an earlier copy of this one).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
    help="Output format (markdown: for pull-request comments).",
)
@owner_filters
@output_dir_option("Also write diff.json and diff.md there.")
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    default=None,
    metavar="PCT",
    help="Exit 3 if the head's total coverage (with --namespace/--owner: any selected "
    "owner's) is below PCT.",
)
@click.option("--fail-on-lost", is_flag=True, help="Exit 4 if any statement lost its coverage.")
def diff_command(
    collection: str,
    max_concurrency: int,
    baseline: str,
    output_format: str,
    namespaces: tuple[str, ...],
    owners: tuple[str, ...],
    output_dir: str | None,
    fail_under: float | None,
    fail_on_lost: bool,
) -> None:
    """Compare a collection with a baseline: per statement newly covered, lost, still
    covered, never covered, new code and removed code, rolled up per owner, namespace and
    file.

    Exit status: 0 success; 1 error; 2 bad command line; 3 coverage below --fail-under;
    4 coverage lost (--fail-on-lost); 5 both 3 and 4."""
    import os

    from rich.console import Console

    from coverage_collector.diff import output
    from coverage_collector.diff.gates import check
    from coverage_collector.diff.run import DiffOptions, diff
    from coverage_collector.selection import OwnerSelection

    del max_concurrency
    selection = OwnerSelection.of(namespaces, owners)
    result = diff(DiffOptions(collection, baseline, selection))
    wide = None if sys.stdout.isatty() else 200  # CI logs: no truncated names
    output.render(result, output_format, Console(width=wide, soft_wrap=output_format != "table"))
    if output_dir:
        os.makedirs(output_dir, exist_ok=True)
        output.write_files(result, output_dir)
    gates = check(result, fail_under, fail_on_lost, per_owner=not selection.everything)
    for item in gates.below:
        log.error("below --fail-under %.1f%%: %s", fail_under, item)
    if gates.lost:
        log.error("%d statements lost their coverage (--fail-on-lost)", gates.lost)
    if gates.exit_status:
        raise SystemExit(gates.exit_status)
    finish(collection)


@cluster.command("codecov-upload")
@collection_options
@click.option(
    "--codecov-token",
    envvar="CODECOV_TOKEN",
    default=None,
    help="Codecov upload token (default: $CODECOV_TOKEN). Never printed.",
)
@click.option(
    "--flag",
    "flags",
    multiple=True,
    default=("openshift-e2e",),
    show_default=True,
    help="Codecov flag (repeatable).",
)
@click.option(
    "--codecov-url", default=None, metavar="URL", help="Codecov server (self-hosted Codecov)."
)
@owner_filters
@click.option(
    "--source-org",
    "source_orgs",
    multiple=True,
    metavar="GLOB",
    help="Only repositories of matching organisations (repeatable).",
)
@click.option("--slug", default=None, help="Codecov slug (org/repo) for every upload.")
@click.option("--dry-run", is_flag=True, help="Print what would be uploaded; no token needed.")
def codecov_upload_command(
    collection: str,
    max_concurrency: int,
    codecov_token: str | None,
    flags: tuple[str, ...],
    codecov_url: str | None,
    namespaces: tuple[str, ...],
    owners: tuple[str, ...],
    source_orgs: tuple[str, ...],
    slug: str | None,
    dry_run: bool,
) -> None:
    """Upload coverage to Codecov: one Go profile per repository and commit, through
    codecov-cli (pip install 'coverage-collector[codecov]'). Exit status 1 if any upload
    failed."""
    from coverage_collector.export.codecov import CodecovOptions, codecov_upload
    from coverage_collector.selection import OwnerSelection

    del max_concurrency
    options = CodecovOptions(
        collection,
        codecov_token,
        flags,
        codecov_url,
        OwnerSelection.of(namespaces, owners),
        source_orgs,
        slug,
        dry_run,
    )
    summary = codecov_upload(options)
    for line in summary.lines():
        log.info("%s", line)
    if not summary.ok:
        raise SystemExit(ERR)


@cli.group()
@click.option("--project", required=True, help="GCP project ID.")
@click.option("--dataset", required=True, help="BigQuery dataset name (created when missing).")
@click.option("--location", default=None, help="Dataset location, e.g. US or europe-west1.")
@click.option(
    "--api-endpoint",
    default=None,
    metavar="URL",
    help="BigQuery API endpoint: an emulator or a private endpoint.",
)
@click.pass_context
def bigquery(
    ctx: click.Context, project: str, dataset: str, location: str | None, api_endpoint: str | None
) -> None:
    """Persist compiled collections into BigQuery for cross-collection analysis.

    Credentials: Google Application Default Credentials (`gcloud auth application-default
    login` or GOOGLE_APPLICATION_CREDENTIALS)."""
    from coverage_collector.bigquery.load import Target

    ctx.obj = Target(project, dataset, location, api_endpoint)


@bigquery.command("ingest")
@collection_options
@click.option(
    "--collection-id",
    default=None,
    help="The collection's id in BigQuery (default: the collection directory's name).",
)
@owner_filters
@click.option(
    "--dry-run", is_flag=True, help="Print the rows and bytes per table; no credentials needed."
)
@click.pass_obj
def ingest_command(
    target: Any,
    collection: str,
    max_concurrency: int,
    collection_id: str | None,
    namespaces: tuple[str, ...],
    owners: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Load a compiled collection into BigQuery with batch load jobs, replacing any previous
    copy of the same collection in one transaction.

    Tables: coverage_data and coverage_generators (the prior tool's), and coverage_files,
    coverage_functions, coverage_owners and coverage_collections for cheap queries."""
    from coverage_collector.bigquery.ingest import IngestOptions, ingest
    from coverage_collector.selection import OwnerSelection

    selection = OwnerSelection.of(namespaces, owners)
    summary = ingest(
        IngestOptions(collection, target, collection_id, selection, dry_run, max_concurrency)
    )
    if dry_run:
        click.echo("\n".join(summary.lines()))
    else:
        for line in summary.lines():
            log.info("%s", line)
    finish(collection, summary.ok)


@cli.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
        "help_option_names": [],
    },
    add_help_option=False,
)
@click.argument("command", required=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def covdata(command: str | None, args: tuple[str, ...]) -> None:
    """`go tool covdata` without Go: textfmt, percent, func, pkglist, merge, subtract,
    intersect. Flags use Go's syntax, e.g. `covdata percent -i=dir1,dir2 -pkg=example.com/...`."""
    from coverage_collector.covdata.cli import run_covdata

    raise SystemExit(run_covdata(command, list(args)))


@cli.command()
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    default="demo-collection",
    show_default=True,
    help="Where to put the demo collection.",
)
@click.option("--no-s3", is_flag=True, help="Copy the sample instead of serving it from local S3.")
def demo(output: str, no_s3: bool) -> None:
    """Run the pipeline on the bundled sample collection (no network, no Go needed).

    The sample is served by a local S3 server (moto's, on loopback) and fetched with
    `cluster download`; without moto, or with --no-s3, it is copied."""
    from coverage_collector import demo as demo_module

    logs.configure("info", output)
    failed = False
    if no_s3:
        demo_module.copy_sample(output)
    else:
        try:
            summary = demo_module.download_sample(output)
        except ImportError:
            log.info(
                "moto is not installed (pip install 'coverage-collector[demo]'): "
                "copying the sample instead of downloading it"
            )
            demo_module.copy_sample(output)
        else:
            for line in summary.lines():
                log.info("%s", line)
            failed = not summary.ok
    if demo_module.run_demo(output) or failed:
        raise SystemExit(ERR)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the only place where exceptions become messages and exit codes."""
    try:
        cli.main(args=argv, prog_name="coverage-collector", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return USAGE
    except click.exceptions.Abort:
        print("Cancelled by user", file=sys.stderr)
        return CANCELLED
    except KeyboardInterrupt:
        print("Cancelled by user", file=sys.stderr)
        return CANCELLED
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else ERR
    except CollectorError as exc:
        report_error(exc)
        return USAGE if isinstance(exc, UsageError) else ERR
    except OSError as exc:  # disk full, permissions: the file and the reason, one line
        from coverage_collector.trust import terminal

        logging.getLogger(logs.LOGGER_NAME).debug("I/O error", exc_info=True)
        where = f"{terminal(str(exc.filename))}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return ERR
    except Exception as exc:
        logging.getLogger(logs.LOGGER_NAME).debug("internal error", exc_info=True)
        print(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(rerun with --verbosity debug for details)",
            file=sys.stderr,
        )
        return ERR
    return OK


def report_error(exc: CollectorError) -> None:
    """Print `exc` as one `error:` line, plus its hint."""
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
