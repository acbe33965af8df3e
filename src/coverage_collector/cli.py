"""The command tree. Thin by design: parse, call one library function, print, exit.

It keeps the prior tool's command line (cobra's): `help [COMMAND...]`, `completion SHELL`,
`--flag=true|false` for boolean flags, the `cluster` options before or after the
subcommand, and a suggestion for a mistyped command.

Exit codes: 0 success, 1 an error was reported (bad input, partial failure),
2 the command line was wrong, 130 cancelled.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from coverage_collector import __version__, logs
from coverage_collector.exceptions import CollectorError, DataError, UsageError
from coverage_collector.stage import Summary

OK, ERR, USAGE, CANCELLED = 0, 1, 2, 130
PROG = "coverage-collector"
COMPLETE_VAR = "_COVERAGE_COLLECTOR_COMPLETE"
F = TypeVar("F", bound=Callable[..., Any])
log = logs.get_logger(__name__)

COBRA_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
COBRA_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
"""The values Go's strconv.ParseBool (cobra's bool flags) accepts."""


def bool_flag_values(
    command: click.Command, ctx: click.Context, args: list[str]
) -> tuple[list[str], dict[str, bool]]:
    """Take cobra's `--flag=true|false` forms of `command`'s boolean flags out of `args`.

    Returns the other arguments and the values to set after parsing. The last mention of
    a flag wins, as with cobra: a bare `--flag` after `--flag=false` leaves it to click.
    """
    flags: dict[str, tuple[str, bool]] = {}
    for param in command.params:
        if isinstance(param, click.Option) and param.is_bool_flag and param.name:
            on = bool(param.flag_value) or bool(param.secondary_opts)  # `--x/--no-x`: True
            flags.update((opt, (param.name, on)) for opt in param.opts)
            flags.update((opt, (param.name, not on)) for opt in param.secondary_opts)
    kept: list[str] = []
    values: dict[str, bool] = {}
    for index, token in enumerate(args):
        if token == "--":
            kept.extend(args[index:])
            break
        name, equals, text = token.partition("=")
        if name in flags:
            param_name, bare = flags[name]
            if equals:
                if text not in COBRA_TRUE | COBRA_FALSE:
                    if ctx.resilient_parsing:  # shell completion: never fail
                        continue
                    raise click.BadOptionUsage(
                        name, f"Option '{name}' takes true or false, not {text!r}.", ctx
                    )
                values[param_name] = bare is (text in COBRA_TRUE)
                continue
            values.pop(param_name, None)
        kept.append(token)
    return kept, values


class Command(click.Command):
    """A command whose boolean flags also take `--flag=true|false`, as the prior tool's
    did (scripts written for it say `--skip-existing=false`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args, values = bool_flag_values(self, ctx, args)
        rest = super().parse_args(ctx, args)
        ctx.params.update(values)
        return rest


def nearest(name: str, choices: list[str]) -> str | None:
    """The command `name` most likely meant: the only one it starts, else the closest spelling."""
    started = [choice for choice in choices if choice.startswith(name)]
    if len(started) == 1:
        return started[0]
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return close[0] if close else None


class Group(click.Group):
    """A command group that lists its commands in the order they were declared (the
    pipeline's order, not the alphabet's) and suggests the nearest to a mistyped one."""

    command_class = Command
    group_class = type  # subgroups are Groups too

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        if not (ctx.resilient_parsing or name.startswith("-") or self.get_command(ctx, name)):
            self.no_such_command(ctx, name)
        return super().resolve_command(ctx, args)

    def no_such_command(self, ctx: click.Context, name: str) -> NoReturn:
        """Fail (exit status 2) naming `name` and, when there is one, the nearest command."""
        match = nearest(name, [n for n, c in self.commands.items() if not c.hidden])
        ctx.fail(f"No such command {name!r}." + (f" Did you mean {match!r}?" if match else ""))


GROUP_VALUES = "coverage_collector.cluster_options"
"""Where `cluster` leaves the options given before the subcommand (in `Context.meta`)."""
DEFAULTS: dict[str, Any] = {"verbosity": "info", "max_concurrency": 8}


def shared_options(collection_help: str, *, grouped: bool = True) -> Callable[[F], F]:
    """`--collection`, `--verbosity` and `--max-concurrency`.

    `grouped`: the options `cluster` also takes, so they have no default here (a missing
    value comes from `cluster`, then from DEFAULTS); otherwise required and defaulted.
    """

    def decorate(func: F) -> F:
        func = click.option(
            "--max-concurrency",
            type=click.IntRange(min=1),
            default=None if grouped else DEFAULTS["max_concurrency"],
            show_default=not grouped,
            help="Maximum concurrent operations"
            + (f" (default: {DEFAULTS['max_concurrency']})." if grouped else "."),
        )(func)
        func = click.option(
            "--verbosity",
            type=click.Choice(list(logs.VERBOSITY_LEVELS)),
            default=None if grouped else DEFAULTS["verbosity"],
            show_default=not grouped,
            help="Log verbosity" + (f" (default: {DEFAULTS['verbosity']})." if grouped else "."),
        )(func)
        return click.option(
            "--collection",
            required=not grouped,
            type=click.Path(file_okay=False),
            default=None,
            help=collection_help,
        )(func)

    return decorate


def collection_options(
    func: F | None = None, *, creates: bool = False, grouped: bool = True
) -> Any:
    """Add the options every collection command takes (`--collection`, `--verbosity`,
    `--max-concurrency`) and set up logging.

    In `cluster` (`grouped`), each option may come before the subcommand instead; a value
    after it wins. Only a command that `creates` the collection (download) runs on a
    directory that does not exist; the others stop with one line instead of leaving a
    `logs/` directory behind a mistyped `--collection`, and log to a file only in a
    directory that holds a collection.
    """
    if func is None:
        return functools.partial(collection_options, creates=creates, grouped=grouped)
    where = " (required; here or before the subcommand)." if grouped else "."
    what = "Collection directory, created when missing" if creates else "Collection directory"

    @shared_options(what + where, grouped=grouped)
    @functools.wraps(func)
    def wrapper(*args: Any, collection: str | None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        given = {
            "collection": collection,
            "verbosity": kwargs.pop("verbosity"),
            "max_concurrency": kwargs.pop("max_concurrency"),
        }
        values = {**DEFAULTS, **ctx.meta.get(GROUP_VALUES, {})}
        values.update((k, v) for k, v in given.items() if v is not None)
        collection = values.get("collection")
        if collection is None:
            raise click.UsageError(
                "Missing option '--collection' (before or after the subcommand).", ctx
            )
        if not creates and not os.path.isdir(collection):
            raise DataError(
                f"No collection at {collection}: the directory does not exist",
                hint="check --collection (only `cluster download` creates a collection)",
            )
        from coverage_collector.collection import Collection

        log_to = collection if creates or Collection(collection).exists() else None
        log_file = logs.configure(values["verbosity"], log_to)
        log.debug("logging to %s", log_file)
        return func(
            *args, collection=collection, max_concurrency=values["max_concurrency"], **kwargs
        )

    return wrapper


def output_dir_option(help_text: str) -> Callable[[F], F]:
    """`--output-dir DIR` (a directory; created when missing)."""
    return click.option(
        "--output-dir", type=click.Path(file_okay=False), default=None, help=help_text
    )


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name=PROG)
def cli() -> None:
    """Turn Go coverage collected across a Kubernetes/OpenShift cluster into answers.

    Start with `coverage-collector cluster --help`; `coverage-collector demo` runs the
    pipeline on a bundled sample."""


@cli.group(short_help="The pipeline: download, compile, clone-sources, render.")
@shared_options("Collection directory of the subcommand (or give it after the subcommand).")
@click.pass_context
def cluster(
    ctx: click.Context, collection: str | None, verbosity: str | None, max_concurrency: int | None
) -> None:
    """The collection pipeline. Each stage reads what the previous ones left in the
    collection directory, so any stage can be run again on its own:

    \b
      1. download        coverage from S3 into <collection>/coverage/
      2. compile         coverage/ into the database <collection>/coverage.db
      3. clone-sources   each binary's source repository, at its commit
      4. render, export, diff, summary
                         reports from the database (with source, after step 3)
      5. codecov-upload  Go profiles to Codecov, one per repository and commit

    `--collection`, `--verbosity` and `--max-concurrency` go before or after the
    subcommand (`cluster --collection C compile` = `cluster compile --collection C`);
    a value after the subcommand wins."""
    given = {"collection": collection, "verbosity": verbosity, "max_concurrency": max_concurrency}
    ctx.meta[GROUP_VALUES] = {k: v for k, v in given.items() if v is not None}


@cluster.command("download", short_help="Fetch coverage from S3 into <collection>/coverage/.")
@collection_options(creates=True)
@click.option("--bucket", required=True, help="S3 bucket name.")
@click.option(
    "--prefix",
    "prefixes",
    required=True,
    multiple=True,
    help="S3 key prefix of a cluster (the producer's base path and cluster name); repeat "
    "for several clusters. With --clusters: a parent of cluster prefixes.",
)
@click.option(
    "--clusters",
    metavar="GLOB",
    default=None,
    help="Download every child of each --prefix whose name matches GLOB as a cluster of "
    "the collection (e.g. '*', 'ci-op-*').",
)
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
    prefixes: tuple[str, ...],
    clusters: str | None,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    skip_existing: bool,
) -> None:
    """Download coverage data from S3 into <collection>/coverage/ (incremental).

    A collection may span many clusters: give --prefix once per cluster, or a parent
    prefix and --clusters GLOB. Each entry records the cluster it came from.
    """
    from coverage_collector import download

    options = download.Options(
        collection=collection,
        bucket=bucket,
        prefixes=prefixes,
        clusters=clusters,
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        skip_existing=skip_existing,
        max_concurrency=max_concurrency,
    )
    run_stage(download.run, options)


@cluster.command("import", short_help="Add GOCOVERDIR directories to <collection>/coverage/.")
@collection_options(creates=True)
@click.argument("dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--namespace", default="", help="Namespace of the pod that ran the processes.")
@click.option("--pod", default="", help="Pod that ran them (none: host processes).")
@click.option("--container", default="", help="Container that ran them.")
@click.option(
    "--host", default="", help="Node or host (default: unknown-host for pods, this machine's name)."
)
@click.option("--owner-kind", default="", help="Owner kind, e.g. Deployment (default: inferred).")
@click.option("--owner-name", default="", help="Owner name (default: inferred from the pod).")
@click.option("--image", default="", help="Container image.")
@click.option("--binary", default="", help="Binary name (default: the program's argv[0]).")
@click.option(
    "--layout",
    default=None,
    metavar="TEMPLATE",
    help="Read identities from the paths below each DIR, e.g. '{namespace}/{pod}/{container}' "
    "(fields: namespace, pod, container, host, image, owner_kind, owner_name, binary, cluster).",
)
def import_command(
    collection: str,
    max_concurrency: int,
    dirs: tuple[str, ...],
    namespace: str,
    pod: str,
    container: str,
    host: str,
    owner_kind: str,
    owner_name: str,
    image: str,
    binary: str,
    layout: str | None,
) -> None:
    """Import directories of covmeta/covcounters files (a GOCOVERDIR, or what `kubectl cp`
    copied out of pods) into <collection>/coverage/, as entries compile reads like
    downloaded ones. Snapshots of one process count once, also across repeated imports."""
    from coverage_collector import gocoverdir

    identity = gocoverdir.Identity(
        namespace=namespace,
        pod=pod,
        container=container,
        host=host,
        image=image,
        owner_kind=owner_kind,
        owner_name=owner_name,
        binary=binary,
    )
    options = gocoverdir.Options(collection=collection, dirs=dirs, identity=identity, layout=layout)
    run_stage(gocoverdir.run, options)


@cluster.command("compile", short_help="Compile coverage/ into coverage.db (incremental).")
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
    from coverage_collector import compile

    excludes = tuple(g for g in exclude_file if g) if exclude_file else compile.DEFAULT_EXCLUDES
    options = compile.Options(
        collection=collection,
        update=compile.parse_update(update),
        excludes=excludes,
        max_concurrency=max_concurrency,
    )
    run_stage(compile.run, options)


@cluster.command("summary", short_help="Print owners, binaries and their coverage.")
@collection_options
@click.option(
    "--by",
    type=click.Choice(["owner", "binary", "namespace", "cluster"]),
    default="owner",
    show_default=True,
    help="One row per owner, binary, namespace or cluster.",
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
    from coverage_collector import summary

    options = summary.Options(collection=collection, by=by, output_format=output_format)
    run_stage(summary.run, options, compiled=collection)


@cluster.command("clone-sources", short_help="Check out every binary's source at its exact commit.")
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
    from coverage_collector import sources
    from coverage_collector.sources.urls import parse_mirrors

    options = sources.Options(
        collection=collection,
        skip_existing=skip_existing,
        allow_branch_fallback=allow_branch_fallback,
        allow_local_urls=allow_local_urls,
        max_concurrency=max_concurrency,
        timeout=timeout,
        inspect_images=inspect_images,
        image_mirrors=parse_mirrors(image_mirror, "--image-mirror"),
        git_mirrors=parse_mirrors(git_mirror, "--git-mirror"),
    )
    run_stage(sources.run, options)


@cluster.command("render", short_help="Write the HTML report into <collection>/html/.")
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
    from coverage_collector import report

    options = report.Options(
        collection=collection,
        output_dir=output_dir,
        skip_component_html=skip_component_html,
        max_concurrency=max_concurrency,
        baseline=baseline,
    )
    run_stage(report.run, options, compiled=collection)


OptionsT = TypeVar("OptionsT")


def run_stage(
    run: Callable[[OptionsT], Summary],
    options: OptionsT,
    *,
    compiled: str | None = None,
    echo: bool = False,
) -> None:
    """Run one stage the way every command does: call `run(options)`, log each line of its
    summary (`echo`: print them on stdout instead, as output rather than a log), then exit
    with the summary's status (return when it is 0).

    `compiled`: the collection whose database the stage read; when compile recorded entries
    it could not read, the results are incomplete, which is said and exits 1 (see
    `incomplete`). A status of the stage's own above 1 (diff's gates) is more precise
    than that and stands alone.
    """
    summary = run(options)
    if echo:
        click.echo("\n".join(summary.lines()))
    else:
        for line in summary.lines():
            log.info("%s", line)
    status = summary.exit_status
    if compiled is not None and status in (OK, ERR) and incomplete(compiled):
        status = ERR
    if status:
        raise SystemExit(status)


def incomplete(collection: str) -> bool:
    """Tell (and warn) whether compile recorded entries of `collection` it could not read,
    so that every stage reading its database says the results leave them out."""
    from coverage_collector.database import compile_error_count

    errors = compile_error_count(collection)
    if errors:
        log.warning(
            "%d entries of the collection were not compiled: their errors are in the output "
            "of `cluster compile` and in `cluster summary`",
            errors,
        )
    return bool(errors)


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


@cluster.command("export", short_help="Write Go, LCOV, Cobertura, SonarQube or Codecov files.")
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
    from coverage_collector import export
    from coverage_collector.selection import OwnerSelection

    del max_concurrency
    options = export.Options(
        collection=collection,
        format=export_format,
        by=by,  # type: ignore[arg-type]
        selection=OwnerSelection.of(namespaces, owners),
        output_dir=output_dir,
    )
    run_stage(export.run, options, compiled=collection)


@cluster.command("diff", short_help="Compare with a baseline collection, per statement.")
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
    from coverage_collector import diff
    from coverage_collector.selection import OwnerSelection

    del max_concurrency
    options = diff.Options(
        collection=collection,
        baseline=baseline,
        selection=OwnerSelection.of(namespaces, owners),
        output_format=output_format,
        output_dir=output_dir,
        fail_under=fail_under,
        fail_on_lost=fail_on_lost,
    )
    run_stage(diff.run, options, compiled=collection)


@cluster.command("codecov-upload", short_help="Upload one Go profile per repository and commit.")
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
    from coverage_collector import codecov
    from coverage_collector.selection import OwnerSelection

    del max_concurrency
    options = codecov.Options(
        collection=collection,
        token=codecov_token,
        flags=flags,
        url=codecov_url,
        selection=OwnerSelection.of(namespaces, owners),
        source_orgs=source_orgs,
        slug=slug,
        dry_run=dry_run,
    )
    run_stage(codecov.run, options)


@cli.group(short_help="Load compiled collections into BigQuery.")
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


@bigquery.command("ingest", short_help="Load one compiled collection into BigQuery.")
@collection_options(grouped=False)
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
    from coverage_collector import bigquery
    from coverage_collector.selection import OwnerSelection

    options = bigquery.Options(
        collection=collection,
        target=target,
        collection_id=collection_id,
        selection=OwnerSelection.of(namespaces, owners),
        dry_run=dry_run,
        max_concurrency=max_concurrency,
    )
    run_stage(bigquery.run, options, compiled=collection, echo=dry_run)


@cli.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
        "help_option_names": [],
    },
    add_help_option=False,
    short_help="`go tool covdata` without Go (same flags and output).",
)
@click.argument("command", required=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def covdata(command: str | None, args: tuple[str, ...]) -> None:
    """`go tool covdata` without Go: textfmt, percent, func, pkglist, merge, subtract,
    intersect, debugdump. Flags use Go's syntax, e.g. `covdata percent -i=dir1,dir2
    -pkg=example.com/...`."""
    from coverage_collector.covdata.cli import run_covdata

    raise SystemExit(run_covdata(command, list(args)))


@cli.command(short_help="Run the pipeline on a bundled sample (no network, no Go).")
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


@cli.command("collect", short_help="Scrape coverage servers into a collection or to S3.")
@click.option(
    "--collection",
    type=click.Path(file_okay=False),
    default=None,
    help="Write entries into this collection (created when missing).",
)
@click.option("--upload", metavar="s3://BUCKET/PREFIX", default=None, help="Upload to S3 instead.")
@click.option(
    "--endpoint-url", envvar="AWS_ENDPOINT_URL", default=None, help="S3-compatible endpoint."
)
@click.option("--profile", default=None, help="AWS profile (default: the standard chain).")
@click.option("--region", default=None, help="AWS region.")
@click.option(
    "--target", "targets", multiple=True, metavar="URL", help="A server, http://HOST:PORT."
)
@click.option(
    "--discover",
    type=click.Choice(["host", "kubernetes"]),
    default=None,
    help="Find servers: 'host' = LISTEN sockets of this machine in --port-range; "
    "'kubernetes' = pods' ports through the API server's port-forward.",
)
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="GLOB",
    help="With --discover kubernetes: namespaces to look in (default: all).",
)
@click.option("--selector", default=None, help="With --discover kubernetes: a label selector.")
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    default=None,
    help="Kubeconfig (default: $KUBECONFIG, ~/.kube/config, else in-cluster).",
)
@click.option(
    "--port-range", default="53700-53799", show_default=True, help="Ports --discover looks at."
)
@click.option("--once", is_flag=True, help="One snapshot of each server, then exit.")
@click.option(
    "--duration",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds to poll (default: until SIGTERM or Ctrl-C); a last snapshot ends the run.",
)
@click.option("--host", default="", help="Host name to record (default: this machine's).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds allowed for each request.",
)
@click.option(
    "--max-concurrency",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Servers polled at once.",
)
@click.option(
    "--verbosity",
    type=click.Choice(list(logs.VERBOSITY_LEVELS)),
    default=DEFAULTS["verbosity"],
    show_default=True,
    help="Log verbosity.",
)
def collect_command(
    collection: str | None,
    upload: str | None,
    endpoint_url: str | None,
    profile: str | None,
    region: str | None,
    targets: tuple[str, ...],
    discover: str | None,
    namespaces: tuple[str, ...],
    selector: str | None,
    kubeconfig: str | None,
    port_range: str,
    once: bool,
    duration: float | None,
    host: str,
    timeout: float,
    max_concurrency: int,
    verbosity: str,
) -> None:
    """Scrape the coverage servers of instrumented binaries (see `inject`) and write what
    they serve into a collection (entries as `cluster download` writes them) or to S3 in
    the producer's layout (`cluster download` reads it back). Polls on the producer's
    schedule unless --once; exits 1 when any server failed."""
    from coverage_collector import collect

    try:
        ports = collect.PortRange.parse(port_range)
    except ValueError as exc:
        raise UsageError(f"--port-range: {exc}") from None
    logs.configure(verbosity, collection)
    options = collect.Options(
        collection=collection,
        upload=upload,
        endpoint_url=endpoint_url,
        profile=profile,
        region=region,
        targets=targets,
        discover=discover,
        namespaces=namespaces,
        selector=selector,
        kubeconfig=kubeconfig,
        port_range=ports,
        once=once,
        duration=duration,
        host=host,
        timeout=timeout,
        max_concurrency=max_concurrency,
    )
    run_stage(collect.run, options)


@cli.command("inject", short_help="Put the coverage server into every Go main package.")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--remove", is_flag=True, help="Take the injected server out again.")
@click.option(
    "--verbosity",
    type=click.Choice(list(logs.VERBOSITY_LEVELS)),
    default=DEFAULTS["verbosity"],
    show_default=True,
    help="Log verbosity.",
)
def inject_command(dirs: tuple[str, ...], remove: bool, verbosity: str) -> None:
    """Copy the coverage server (coverage_server.go) into every main package under DIRS,
    as the release build does: then `go build -cover` gives a binary that `collect` can
    scrape. Idempotent; nested modules, vendor/, .git/ and node_modules/ are left out."""
    from coverage_collector import inject

    logs.configure(verbosity, None)
    run_stage(inject.run, inject.Options(dirs=dirs, remove=remove))


@cli.command("help", short_help="Show the help of a command, e.g. help cluster compile.")
@click.argument("command", nargs=-1)
@click.pass_context
def help_command(ctx: click.Context, command: tuple[str, ...]) -> None:
    """Show the help of COMMAND (e.g. `help cluster compile`), or the program's, as
    `COMMAND --help` does."""
    target: click.Command = cli
    target_ctx = ctx.find_root()
    for name in command:
        if not isinstance(target, Group):
            target_ctx.fail(f"{target_ctx.command_path!r} has no subcommands.")
        found = target.get_command(target_ctx, name)
        if found is None:
            target.no_such_command(target_ctx, name)
        target = found
        target_ctx = target.make_context(name, [], parent=target_ctx, resilient_parsing=True)
    click.echo(target.get_help(target_ctx))


@cli.command("completion", short_help="Print a shell completion script (bash, zsh, fish).")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the completion script for SHELL: commands, options and their choices.

    \b
    bash:  eval "$(coverage-collector completion bash)"   (e.g. in ~/.bashrc; bash >= 4.4)
    zsh:   eval "$(coverage-collector completion zsh)"    (e.g. in ~/.zshrc)
    fish:  coverage-collector completion fish | source"""
    from click.shell_completion import get_completion_class

    complete_class = get_completion_class(shell)
    assert complete_class is not None  # one of click's own shells
    script = complete_class(cli, {}, PROG, COMPLETE_VAR).source()
    click.echo(script, nl=not script.endswith("\n"))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the only place where exceptions become messages and exit codes."""
    try:
        cli.main(args=argv, prog_name=PROG, complete_var=COMPLETE_VAR, standalone_mode=False)
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
