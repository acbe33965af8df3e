"""`cluster render`: static HTML that opens from file:// with no server and no network.

    <output>/index.html               owners, binaries and namespaces (binaries as JSON)
    <output>/data/index/*.js          the index's owners, as columns (report/ownertable.py)
    <output>/binaries/<hash>.html     one page per binary (files and functions as JSON)
    <output>/data/<hash>/<file>.js    one file's coverage (line counts, ranges), on demand
    <output>/data/<hash>/owners.js    a binary several owners run: each owner's coverage, and
    <output>/data/<hash>/w<group>.js  per file who ran each line, on demand (report/whoran.py)
    <output>/data/src/<digest>.js     a source file, highlighted once for all binaries
    <output>/static/report.{css,js}   one stylesheet, one script, no CDN

With `baseline`, the pages also show the difference with that collection (report/delta.py):
the index a Δ column and the binary pages each line's category; without it, they are
exactly what they are without the option.

Pages carry a Content-Security-Policy that allows only the report's own script; every
string from the cluster reaches the page escaped (Jinja2 autoescaping, JSON with `<`,
`>` and `&` escaped, and `textContent` in the script).
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import hashlib
import json
import multiprocessing
import os
import shlex
import time
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import pygments
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from pygments.formatters import HtmlFormatter

from coverage_collector import __version__, database, logs, outputs
from coverage_collector.analysis import blocks_by_file, units_by_file
from coverage_collector.collection import Collection
from coverage_collector.compile.store import BinaryModels, stored_excludes
from coverage_collector.database import Database
from coverage_collector.database.binaries import binary_counts, binary_row, named_functions
from coverage_collector.database.owners import binary_owner_counts, binary_owner_entries
from coverage_collector.diff.run import BinaryDiff
from coverage_collector.progress import Reporter
from coverage_collector.report import whoran
from coverage_collector.report.annotate import coverage_spans, highlight, span_blocks
from coverage_collector.report.contrast import readable_css
from coverage_collector.report.delta import Comparison, baseline_line_counts, line_categories
from coverage_collector.report.fields import FIELDS, SourceChunk, script
from coverage_collector.report.manifest import Manifest, assets_key, input_key
from coverage_collector.report.model import (
    BinaryPage,
    FileRow,
    IndexData,
    load_binary,
    load_functions,
    load_index,
)
from coverage_collector.report.ownertable import owner_table, stale_files
from coverage_collector.results import Blocks, line_counts
from coverage_collector.selection import checkout_paths
from coverage_collector.sources.resolve import stored_refusals
from coverage_collector.sources.tree import (
    CollectionSources,
    RefusedSource,
    SourceRefusedError,
    refused_lines,
)
from coverage_collector.stage import ExitFromOk
from coverage_collector.workers import exit_with_parent

GROUP_FILES = 32
GROUP_SPANS = 20_000
"""Coverage of neighbouring files (same directory, mostly) shares one data file of at most
this many files or ranges: far fewer files to write, each still small."""
CHUNK_BYTES = 2 << 20
"""Highlighted sources are split into files of about this size (a huge generated file
stays loadable and under the report's per-file limit)."""
STATIC = resources.files("coverage_collector.report") / "static"
TEMPLATES = resources.files("coverage_collector.report") / "templates"
SCRIPT_MODULES = (
    "page", "format", "ui", "source", "owners", "virtual", "index", "map", "who", "binary",
    "main",
)  # fmt: skip
"""static/report-<module>.js, in the order they make static/report.js: each adds its part
of the `coverageCollector` object, using those before it (no build step, no module loader:
ES modules do not load from file://)."""
log = logs.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class Options:
    """What `cluster render` was asked to do (keyword-only, as every stage's options)."""

    collection: str
    output_dir: str | None = None
    skip_component_html: bool = False
    max_concurrency: int = 8
    baseline: str | None = None
    """A compiled collection to compare with (`cluster diff --baseline`)."""

    @property
    def output(self) -> str:
        return self.output_dir or Collection(self.collection).html


@dataclass
class Summary(ExitFromOk):
    """What a render wrote, and what it could not show: refused sources and highlighting
    problems make it not `ok`, so that they reach the exit status instead of scrolling by."""

    index: str = ""
    binaries: int = 0
    unchanged: int = 0
    deleted: int = 0
    files: int = 0
    highlighted: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    refused: list[RefusedSource] = field(default_factory=list)
    """Source files not shown because sources/tree.py refused them (exit status 1)."""
    no_sources: str = ""
    """Why the binary pages show no source code and how to get it, when none was resolved."""

    def lines(self) -> list[str]:
        return [
            f"rendered {self.binaries} binary reports ({self.unchanged} unchanged, "
            f"{self.deleted} stale files deleted), {self.files} source files "
            f"({self.highlighted} newly highlighted) in "
            f"{self.seconds:.1f} s",
            f"open {self.index}",
            *([self.no_sources] if self.no_sources else []),
            *(f"  {p}" for p in self.problems),
            *refused_lines(self.refused),
        ]

    @property
    def ok(self) -> bool:
        return not self.refused and not self.problems


def to_json(data: Any) -> Markup:
    """JSON that is safe inside a <script> element (and valid JavaScript)."""
    text = json.dumps(data, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@dataclass(frozen=True)
class RenderContext:
    """What every page of one render shares: read once, passed as one value."""

    options: Options
    env: Environment
    db: Database
    index: IndexData
    """The index as the pages show it (with the baseline's numbers when there is one)."""
    comparison: Comparison | None
    models: BinaryModels
    sources: SourceCache
    highlighter: Highlighter
    assets: str
    """What the pages depend on besides the data (`render_assets_key`)."""
    rehighlight: bool
    """Whether the previous render's highlighted sources were made by other code (they
    are highlighted again instead of kept)."""

    @property
    def out(self) -> str:
        return self.options.output

    def page(self, template: str, **values: Any) -> str:
        """A page of `template` with what every page shows (tool version, title, the JSON
        positions of report/fields.py)."""
        return self.env.get_template(template).render(
            version=__version__, title=self.index.title, fields=FIELDS, **values
        )


def run(options: Options) -> Summary:
    """Write the report of the compiled collection; return what was written."""
    started = time.monotonic()
    summary = Summary()
    db = database.open_readonly(options.collection)
    try:
        summary.refused.extend(stored_refusals(db))
        out = options.output
        os.makedirs(os.path.join(out, "static"), exist_ok=True)
        outputs.remove_temporaries(out)  # of a render that was killed
        _write_static(out)
        env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(["html", "j2"]),
            keep_trailing_newline=True,
        )
        env.filters["json"] = to_json
        index = load_index(db, options.collection)
        comparison = None
        if options.baseline:
            comparison = Comparison.load(options.collection, options.baseline)
            index = comparison.compare_index(index)
        previous = Manifest.load(out)
        assets = render_assets_key()
        # an index-only render leaves the binaries (and the sources) as they were
        manifest = Manifest(
            out,
            dict(previous.binaries),
            previous.assets if options.skip_component_html else assets,
        )
        with Highlighter(options) as highlighter:
            context = RenderContext(
                options=options,
                env=env,
                db=db,
                index=index,
                comparison=comparison,
                models=BinaryModels(db, stored_excludes(db), size=1),
                sources=SourceCache(CollectionSources(options.collection, checkout_paths(db))),
                highlighter=highlighter,
                assets=assets,
                rehighlight=previous.assets != assets,
            )
            if not options.skip_component_html:
                manifest.binaries = {}
                _render_binaries(context, previous, manifest, summary)
        if not options.skip_component_html:
            summary.refused.extend(context.sources.refused)
            summary.highlighted = len(highlighter.submitted)
            summary.problems.extend(p for p in highlighter.problems if p)
            summary.deleted = manifest.delete_stale(previous)
            if index.binaries and not any(b.resolved for b in index.binaries.values()):
                summary.no_sources = (
                    "no source file resolved for any binary, so the pages show no source "
                    "code: run `coverage-collector cluster clone-sources --collection "
                    f"{shlex.quote(options.collection)}`, then render again"
                )
        manifest.save()
        summary.index = _write_index(context)
    finally:
        db.close()
    summary.seconds = time.monotonic() - started
    return summary


def _write_index(context: RenderContext) -> str:
    """Write index.html and its owners' data files (report/ownertable.py), then delete the
    data files of an earlier render that are not the index's any more; return its path."""
    out, index, comparison = context.out, context.index, context.comparison
    table = owner_table(index, to_json)
    for file in table.files:
        _write(os.path.join(out, file.path), file.text)
    data = index.to_json()
    data["ownerTable"] = table.page
    extra: dict[str, Any] = {}
    if comparison is not None:
        data["baseline"] = {"name": comparison.name}
        extra = {"baseline": comparison.header(), "removed": comparison.removed}
    path = os.path.join(out, "index.html")
    page = context.page("index.html.j2", index=index, data=data, scripts=table.scripts, **extra)
    _write(path, page)
    for stale in stale_files(out, table):
        os.remove(stale)
    return path


def _render_binaries(
    context: RenderContext, previous: Manifest, manifest: Manifest, summary: Summary
) -> None:
    """Render every binary whose inputs changed since the previous render (with a
    baseline, the binary's part of the comparison is one of its inputs)."""
    db, index, comparison = context.db, context.index, context.comparison
    with Reporter("rendering binaries", len(index.binaries), log, unit="binaries") as bar:
        for binary_id in index.binaries:
            page = load_binary(db, int(binary_id), index)
            counts_key = binary_row(db, int(binary_id)).input_hash
            name = page.binary.meta_hash
            binary_diff = None
            if comparison is not None:
                binary_diff = comparison.binary(name)
                page = replace(page, files=comparison.compare_files(binary_diff, page.files))
            parts: list[Any] = [
                context.assets,
                counts_key,
                page.binary.to_json(),
                [o.to_json() for o in page.owners],
                [f.to_json() for f in page.files],
            ]
            if comparison is not None:
                parts.append({"baseline": comparison.key(binary_diff)})
            key = input_key(*parts)
            if previous.unchanged(name, key):
                manifest.binaries[name] = previous.binaries[name]
                summary.unchanged += 1
            else:
                written, files = _render_binary(context, page, binary_diff)
                manifest.binaries[name] = {"key": key, "files": written}
                summary.binaries += 1
                summary.files += sum(f.group is not None for f in files)
            bar.advance()


class Highlighter:
    """Highlights new source files in worker processes while the binaries are written
    (Pygments is the slow part); leaving the block waits for all of them."""

    def __init__(self, options: Options) -> None:
        self.out = options.output
        self.workers = min(options.max_concurrency, len(os.sched_getaffinity(0)))
        self.submitted: set[str] = set()
        self.futures: list[cf.Future[str]] = []
        self.problems: list[str] = []
        self.pool: cf.ProcessPoolExecutor | None = None

    def __enter__(self) -> Highlighter:
        return self

    def submit(self, digest: str, source: bytes) -> None:
        """Highlight `source` unless it was already; the worker processes start with the
        first file (a render with nothing new to highlight starts none)."""
        if digest in self.submitted:
            return
        self.submitted.add(digest)
        job = (self.out, digest, source)
        if self.pool is None and self.workers > 1:
            context = multiprocessing.get_context("forkserver")
            self.pool = cf.ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=exit_with_parent()
            )
        if self.pool is None:
            self.problems.append(highlight_file(job))
        else:
            self.futures.append(self.pool.submit(highlight_file, job))

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self.pool is None:
            return
        try:
            if error is None:
                with Reporter("highlighting sources", len(self.futures), log, unit="files") as bar:
                    for future in cf.as_completed(self.futures):
                        self.problems.append(future.result())
                        bar.advance()
        finally:
            self.pool.shutdown(wait=error is None, cancel_futures=error is not None)


def highlight_file(job: tuple[str, str, bytes]) -> str:
    """Write one source file highlighted, in chunks of at most CHUNK_BYTES of HTML; return
    a problem ('' when none). The worker gets the bytes SourceTree read, never a path."""
    out, digest, source = job
    lines = highlight(source.decode("utf-8", "replace"))
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if size + len(line) > CHUNK_BYTES and chunks[-1]:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 3
    first = 0
    for index, chunk in enumerate(chunks):
        name = f"{digest}.js" if index == 0 else f"{digest}-{index}.js"
        payload = SourceChunk(digest, index, len(chunks), first, chunk).to_json()
        _write(os.path.join(out, "data", "src", name), f"ccSource({to_json(payload)});\n")
        first += len(chunk)
    return ""


def _render_binary(
    context: RenderContext, page: BinaryPage, binary_diff: BinaryDiff | None
) -> tuple[list[str], tuple[FileRow, ...]]:
    """Write one binary's page and its files' data; return the files written (relative)
    and the file rows as the page shows them; source files not highlighted yet go to the
    highlighter. With a comparison, each file's data also has its lines' categories
    (`cats`, one letter per line) and the baseline's count of each line (`bases`)."""
    out = context.out
    binary = page.binary
    meta_hash = binary.meta_hash
    data_dir = os.path.join(out, "data", meta_hash)
    os.makedirs(data_dir, exist_ok=True)
    model = context.models.get(binary.id)
    counts = binary_counts(context.db, binary.id)
    blocks = blocks_by_file(model.meta, model.app, counts)
    codes = binary_diff.unit_codes if binary_diff is not None else None
    by_owner = len(page.owners) > 1  # its page says who ran each line (report/whoran.py)
    units = units_by_file(model.meta, model.app) if codes is not None or by_owner else {}
    shown: list[whoran.FileBlocks] = []
    written: set[str] = set()
    group: list[dict[str, Any]] = []
    group_size = 0
    files: list[FileRow] = []

    def flush() -> None:
        nonlocal group, group_size
        if group:
            name = f"data/{meta_hash}/g{group[0]['group']}.js"
            _write(os.path.join(out, name), f"ccFiles({to_json(group)});\n")
            written.add(name)
        group, group_size = [], 0

    for file in page.files:
        if file.status != "resolved" or file.path not in blocks:
            files.append(file)
            continue
        try:
            source, digest = context.sources.read(binary.name, file.path, file.source)
        except SourceRefusedError as exc:
            files.append(replace(file, status="unresolved", refusal=exc.reason))
            continue
        except OSError as exc:
            files.append(replace(file, status="missing", problem=f"unreadable: {exc.strerror}"))
            continue
        shared = f"data/src/{digest}.js"
        if context.rehighlight or not os.path.isfile(os.path.join(out, shared)):
            context.highlighter.submit(digest, source)
        written.add(shared)
        file_blocks_ = Blocks.of(*blocks[file.path])
        n_lines = source.count(b"\n") + (0 if source.endswith(b"\n") else 1)
        spans = coverage_spans(source, file_blocks_)
        if group_size + len(spans) > GROUP_SPANS or len(group) >= GROUP_FILES:
            flush()
        grouped = replace(file, group=file.id if not group else group[0]["group"])
        files.append(grouped)
        payload: dict[str, Any] = {
            "id": grouped.id,
            "group": grouped.group,
            "src": digest,
            "counts": line_counts(file_blocks_, n_lines).tolist(),
            "spans": spans,
        }
        if codes is not None:
            mine = units[file.path]
            meta = model.meta
            payload["cats"] = line_categories(
                codes[mine], counts[mine], meta.start_line[mine], meta.end_line[mine], n_lines
            )
            payload["bases"] = baseline_line_counts(meta, mine, binary_diff, n_lines)
        group.append(payload)
        group_size += len(spans)
        if by_owner:
            spans_of = span_blocks(source, file_blocks_)
            shown.append(
                whoran.file_blocks(
                    model.meta, file.id, grouped.group, n_lines, units[file.path], spans_of
                )
            )
    flush()
    if by_owner:
        written.update(_write_who(context, binary.id, meta_hash, page, shown))
    page = replace(page, files=tuple(files))
    # functions load on demand, like sources: the page itself stays small
    functions = [f.to_json() for f in load_functions(context.db, binary.id)]
    _write(os.path.join(data_dir, "functions.js"), f"ccFunctions({to_json(functions)});\n")
    data: dict[str, Any] = {
        "binary": binary.to_json(),
        "owners": [o.to_json() for o in page.owners],
        "files": [f.to_json() for f in page.files],
    }
    extra: dict[str, Any] = {}
    if context.comparison is not None:
        extra["baseline"] = context.comparison.binary_header(binary_diff)
        data["baseline"] = {"name": context.comparison.name, "lines": codes is not None}
    if by_owner:
        data["who"] = True
    _write(
        os.path.join(out, "binaries", f"{meta_hash}.html"),
        context.page("binary.html.j2", page=page, data=data, **extra),
    )
    written_files = [
        *sorted(written),
        f"data/{meta_hash}/functions.js",
        f"binaries/{meta_hash}.html",
    ]
    return written_files, page.files


def _write_who(
    context: RenderContext,
    binary_id: int,
    meta_hash: str,
    page: BinaryPage,
    shown: list[whoran.FileBlocks],
) -> list[str]:
    """Write a shared binary's per-owner data files (report/whoran.py); return them."""
    db, model = context.db, context.models.get(binary_id)
    paths = {f.path: f.id for f in page.files}
    func_ids = [f.func_id for f in named_functions(db, binary_id)]
    owners = whoran.owners_payload(
        model.meta, model.app, paths, func_ids, binary_owner_counts(db, binary_id)
    )
    names = [f"data/{meta_hash}/owners.js"]
    _write(os.path.join(context.out, names[0]), f"ccOwners({to_json(owners)});\n")
    groups = whoran.who_payloads(
        model.meta, shown, binary_owner_counts(db, binary_id), binary_owner_entries(db, binary_id)
    )
    for group, payloads in groups:
        names.append(f"data/{meta_hash}/w{group}.js")
        _write(os.path.join(context.out, names[-1]), f"ccWho({to_json(payloads)});\n")
    return names


class SourceCache:
    """Source files' bytes and digests, read once (through the checkouts' SourceTrees)
    however many binaries contain them; refusals are kept to be named in the summary."""

    def __init__(self, sources: CollectionSources, size: int = 4096) -> None:
        self.sources = sources
        self.refused: list[RefusedSource] = []
        self._read = functools.lru_cache(maxsize=size)(self._read_uncached)

    def _read_uncached(self, source_path: str) -> tuple[bytes, str]:
        data = self.sources.read(source_path)
        return data, hashlib.blake2b(data, digest_size=16).hexdigest()

    def read(self, binary: str, path: str, source_path: str) -> tuple[bytes, str]:
        """The bytes and digest of `path` of `binary`, resolved to `source_path`."""
        try:
            return self._read(source_path)
        except SourceRefusedError as exc:
            self.refused.append(RefusedSource(binary, path, exc.reason))
            raise


def render_assets_key() -> str:
    """What every page depends on besides the data: the tool's and Pygments' versions, the
    templates and the static files (an edited template or script renders everything again,
    and highlights the sources again, without a version bump)."""
    return assets_key([__version__, pygments.__version__], [TEMPLATES, STATIC])


def report_script() -> str:
    """static/report.js: the positions of report/fields.py, then the script's modules, in
    one file (one request per page, the pages' Content-Security-Policy allows only it)."""
    modules = [
        (STATIC / f"report-{name}.js").read_text(encoding="utf-8") for name in SCRIPT_MODULES
    ]
    return "\n".join([script(), *modules])


def _write_static(out: str) -> None:
    _write(os.path.join(out, "static", "report.css"), (STATIC / "report.css").read_text("utf-8"))
    _write(os.path.join(out, "static", "report.js"), report_script())
    pygments_css = readable_css(HtmlFormatter(style="default").get_style_defs(".src"))
    _write(os.path.join(out, "static", "pygments.css"), pygments_css + "\n")


def _write(path: str, text: str) -> None:
    outputs.write_text(path, text)
