"""`coverage-collector collect`: scrape coverage servers into a collection or to S3.

Servers come from `--target` addresses, from `--discover host` (LISTEN sockets of this
machine in the port range, confirmed by `HEAD /health`) and from `--discover kubernetes`
(pods' ports through the API server's port-forward: `kubernetes.py`). Each server is one process
instance (its pid and binary, from the identity headers on every answer); the first
snapshot is a full `GET /coverage`, the next ones `?nometa=1`.

`--once` takes one snapshot of each server. Otherwise servers are polled on the
producer's schedule (`interval`: every second for the first 10 s, every 5 s until
5 min 10 s, then every 10 s), discovery runs again every `RESCAN` seconds, a server whose
pid or binary changes (a restart on the same port, an `exec`) becomes a new instance, one
that refuses connections is finished, and `--duration` or SIGTERM/SIGINT end the run after
a last snapshot of every live server. Polls run `max_concurrency` at a time.

Every failure (a server that cannot be reached, answers 500 because its binary was not
built with `-cover`, or answers something refused by `protocol`) is in the summary, named
by address, and the run exits 1; the other servers go on.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from coverage_collector import logs, trust
from coverage_collector.collect.client import (
    MAX_RESPONSE_BYTES,
    Endpoint,
    Response,
    ServerError,
    coverage,
    probe,
)
from coverage_collector.collect.discover import PortRange, host_endpoints, namespace_endpoints
from coverage_collector.collect.protocol import (
    ProtocolError,
    ServerIdentity,
    Snapshot,
    parse_identity,
    parse_snapshot,
)
from coverage_collector.collect.sinks import Instance, Sink, UploadError
from coverage_collector.entrydirs import EntryId, component
from coverage_collector.exceptions import UsageError
from coverage_collector.stage import ExitFromOk

if TYPE_CHECKING:
    from coverage_collector.collect.kubernetes import Cluster, PodTarget

RESCAN = 10.0
"""Seconds between discoveries in a continuous run (the producer's host scanner's)."""
log = logs.get_logger(__name__)


def interval(age: float) -> float:
    """Seconds until the next snapshot of a server first seen `age` seconds ago."""
    if age < 10:
        return 1.0
    if age < 310:
        return 5.0
    return 10.0


@dataclass(frozen=True, kw_only=True)
class Options:
    """What `collect` was asked to do; exactly one of `collection` and `upload` is set."""

    collection: str | None = None
    upload: str | None = None
    """`s3://BUCKET/PREFIX`: the producer's layout under PREFIX."""
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    targets: tuple[str, ...] = ()
    discover: str | None = None
    """'host', 'kubernetes' or None (only the targets)."""
    namespaces: tuple[str, ...] = ()
    """Globs of the namespaces `--discover kubernetes` looks in (none: all)."""
    selector: str | None = None
    """A label selector of the pods `--discover kubernetes` looks at."""
    kubeconfig: str | None = None
    port_range: PortRange = field(default_factory=PortRange)
    once: bool = False
    duration: float | None = None
    """Seconds to run (None: until SIGTERM/SIGINT)."""
    host: str = ""
    """The host name entries and keys record (default: this machine's)."""
    max_concurrency: int = 16
    timeout: float = 30.0
    max_response_bytes: int = MAX_RESPONSE_BYTES


@dataclass
class Summary(ExitFromOk):
    """What a collect run found and took."""

    servers: int = 0
    """Process instances met (a restart or an exec is a new one)."""
    snapshots: int = 0
    finished: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(address, reason), each at most once per address and reason."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, where: str, reason: str) -> None:
        with self._lock:
            if (where, reason) not in self.failures:
                self.failures.append((where, reason))
                log.error("%s: %s", where, trust.terminal(reason))

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def lines(self) -> list[str]:
        lines = [
            f"servers: {self.servers} process instances ({self.finished} finished)",
            f"snapshots: {self.snapshots}",
            f"failed: {len(self.failures)}",
        ]
        lines.extend(f"  failed: {w}: {trust.terminal(r)}" for w, r in self.failures)
        return lines


@dataclass
class _Server:
    """A server being polled: its address, its current instance, when it is next due."""

    endpoint: Endpoint
    instance: Instance
    first_seen: float
    """Monotonic seconds when its instance was met (the schedule's clock)."""
    due: float = 0.0
    done: bool = False


def run(options: Options, *, sink: Sink | None = None) -> Summary:
    """Collect as `options` says into `sink` (default: the one the options name)."""
    targets = _targets(options)
    if options.discover not in (None, "host", "kubernetes"):
        raise UsageError(f"--discover {options.discover}: 'host' or 'kubernetes'")
    if not targets and options.discover is None:
        raise UsageError("nothing to collect: give --target URL or --discover host|kubernetes")
    sink = sink or _sink(options)
    host = component(options.host or socket.gethostname(), "host")
    collector = _Collector(options, targets, sink, host)
    try:
        if options.once:
            collector.once()
        else:
            with _stop_on_signals(collector.request_stop):
                collector.loop()
    finally:
        sink.flush()
    return collector.summary


def _targets(options: Options) -> list[Endpoint]:
    try:
        return [Endpoint.parse(t) for t in options.targets]
    except ValueError as exc:
        raise UsageError(f"--target: {exc}") from None


def _sink(options: Options) -> Sink:
    """The sink the options name: a collection, or a bucket (`upload.s3_sink`)."""
    if (options.collection is None) == (options.upload is None):
        raise UsageError("give exactly one of --collection and --upload")
    if options.collection is not None:
        from coverage_collector.collect.sinks import LocalSink

        return LocalSink(options.collection)
    from coverage_collector.collect.upload import s3_sink

    return s3_sink(options.upload or "", options.endpoint_url, options.profile, options.region)


@contextlib.contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT call `stop` (the run then ends after a last snapshot)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Collector:
    """The servers of one run and their polls."""

    def __init__(self, options: Options, targets: list[Endpoint], sink: Sink, host: str) -> None:
        self.options = options
        self.targets = targets
        self.sink = sink
        self.host = host
        self.summary = Summary()
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.servers: dict[Endpoint, _Server] = {}
        self._cluster: Cluster | None = None
        self._lock = threading.Lock()

    # -- discovery

    def candidates(self) -> list[Endpoint]:
        """The targets and, with `--discover host`, this machine's listening ports."""
        found = list(self.targets)
        ports = self.options.port_range
        if self.options.discover == "host":
            for endpoint in host_endpoints(ports) + namespace_endpoints(ports):
                if endpoint not in found:
                    found.append(endpoint)
        elif self.options.discover == "kubernetes":
            found.extend(self._pod_endpoints())
        return found

    def _pod_endpoints(self) -> list[Endpoint]:
        """Every port of the range of every running pod, tried in order through the API
        server; a pod's scan stops after `MISSES` ports in a row without a server."""
        from coverage_collector.collect.kubernetes import MISSES, Cluster, pod_endpoint

        if self._cluster is None:
            self._cluster = Cluster(self.options.kubeconfig)
        cluster = self._cluster
        pods = cluster.pods(self.options.namespaces, self.options.selector)

        def scan(target: PodTarget) -> list[Endpoint]:
            found, misses = [], 0
            for port in range(self.options.port_range.first, self.options.port_range.last + 1):
                endpoint = pod_endpoint(cluster, target, port)
                if self.meet(endpoint) is None:
                    misses += 1
                    if misses >= MISSES:
                        break
                else:
                    found.append(endpoint)
                    misses = 0
            return found

        with ThreadPoolExecutor(max_workers=self.options.max_concurrency) as pool:
            return [e for endpoints in pool.map(scan, pods) for e in endpoints]

    def meet(self, endpoint: Endpoint) -> tuple[Endpoint, ServerIdentity] | None:
        """Probe `endpoint`: the identity of the server there, or None (a failure for a
        target met for the first time; for a discovered port, something else listening)."""
        try:
            return endpoint, probe(endpoint, timeout=min(self.options.timeout, 3.0))
        except (ServerError, ProtocolError) as exc:
            if endpoint in self.targets and endpoint not in self.servers:
                self.summary.fail(endpoint.url, str(exc))
            else:
                log.debug("%s: %s", endpoint.url, exc)
            return None

    def adopt(self, met: tuple[Endpoint, ServerIdentity] | None) -> None:
        """Poll the server `met` found, unless it is the instance already polled there
        (finished or refused: the same process is not met twice)."""
        if met is None:
            return
        endpoint, identity = met
        known = self.servers.get(endpoint)
        if known is not None:
            same = (known.instance.identity.pid, known.instance.identity.binary)
            if known.done and same == (identity.pid, identity.binary):
                return
        self.servers[endpoint] = _Server(
            endpoint, self._instance(endpoint, identity), time.monotonic()
        )

    def _instance(self, endpoint: Endpoint, identity: ServerIdentity) -> Instance:
        """A new instance at `endpoint`: a pod's container, or a host process of `host`."""
        self.summary.add(servers=1)
        now = time.time_ns()
        target = getattr(endpoint.tunnel, "target", None)
        if target is None:
            entry = EntryId(self.host, "", self.host, "", identity.binary, True)
            return Instance(entry, identity, endpoint.host, endpoint.port, now)
        _, image = target.container_for(endpoint.port)
        return Instance(
            target.entry(endpoint.port, identity.binary),
            identity,
            endpoint.host,
            endpoint.port,
            now,
            image=image,
            owner_kind=target.owner_kind,
            owner_name=target.owner_name,
        )

    # -- snapshots

    def snapshot(self, server: _Server) -> None:
        """Take one snapshot of `server`: a new instance when its process changed, the
        server done when it is gone or refuses to serve coverage."""
        try:
            taken = self._fetch(server)
        except ServerError as exc:
            server.done = True
            if "connection refused" in str(exc) and server.instance.snapshots:
                self.summary.add(finished=1)  # the process ended: its last snapshot stands
            else:
                self.summary.fail(server.endpoint.url, str(exc))
            return
        except ProtocolError as exc:
            server.done = True
            self.summary.fail(server.endpoint.url, str(exc))
            return
        instance = server.instance
        if taken.meta:
            instance.meta_hash, instance.meta = taken.meta_hash, taken.meta
        try:
            self.sink.write(instance, taken)
        except UploadError as exc:
            self.summary.fail(server.endpoint.url, str(exc))
            return
        instance.snapshots += 1
        self.summary.add(snapshots=1)

    def _fetch(self, server: _Server) -> Snapshot:
        """`GET /coverage` (`?nometa=1` once the meta-data is known); when the answer is
        from another process than the instance's (a restart, an exec), the server's
        instance is replaced and its first, full snapshot taken."""
        instance = server.instance
        response = self._get(server.endpoint, nometa=bool(instance.meta_hash))
        identity = parse_identity(response.headers)
        if (identity.pid, identity.binary) != (instance.identity.pid, instance.identity.binary):
            self.summary.add(finished=1)
            server.instance = instance = self._instance(server.endpoint, identity)
            server.first_seen = time.monotonic()
            response = self._get(server.endpoint, nometa=False)
        cap = self.options.max_response_bytes
        return parse_snapshot(response.body, instance.identity, instance.meta_hash, cap)

    def _get(self, endpoint: Endpoint, *, nometa: bool) -> Response:
        options = self.options
        cap = options.max_response_bytes
        return coverage(endpoint, nometa=nometa, timeout=options.timeout, cap=cap)

    # -- the two modes

    def once(self) -> None:
        """One snapshot of every server found, `max_concurrency` at a time."""
        with ThreadPoolExecutor(max_workers=self.options.max_concurrency) as pool:
            for met in pool.map(self.meet, self.candidates()):
                self.adopt(met)
            list(pool.map(self.snapshot, self.servers.values()))

    def loop(self) -> None:
        """Poll on the schedule until the duration is over or `stop` is set, then take a
        last snapshot of every live server.

        The loop sleeps until the next server not being polled is due, or a poll ends:
        with more servers due than workers, it waits for a worker instead of spinning.
        """
        duration = self.options.duration
        deadline = None if duration is None else time.monotonic() + duration
        next_scan = 0.0
        pending: dict[Endpoint, Future[None]] = {}
        with ThreadPoolExecutor(max_workers=self.options.max_concurrency) as pool:
            while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
                self.wake.clear()  # before looking: a poll ending from now on wakes the wait
                now = time.monotonic()
                if now >= next_scan:
                    self.sink.flush()  # now and then, so a killed run leaves little stale
                    self._rescan(pool)
                    next_scan = now + RESCAN
                idle = []
                for endpoint, server in list(self.servers.items()):
                    if server.done or (endpoint in pending and not pending[endpoint].done()):
                        continue
                    if server.due <= now:
                        server.due = now + interval(now - server.first_seen)
                        pending[endpoint] = future = pool.submit(self.snapshot, server)
                        future.add_done_callback(lambda _: self.wake.set())
                    else:
                        idle.append(server.due)
                wake = min([next_scan, *idle, *([deadline] if deadline else [])])
                self.wake.wait(max(0.0, min(wake - time.monotonic(), 1.0)))
            for future in pending.values():
                future.result()
            live = [s for s in self.servers.values() if not s.done]
            list(pool.map(self.snapshot, live))

    def request_stop(self) -> None:
        """End the run (after a last snapshot of every live server)."""
        self.stop.set()
        self.wake.set()

    def _rescan(self, pool: ThreadPoolExecutor) -> None:
        """Meet the servers on ports not being polled (new ones, or ones that went away)."""
        fresh = [e for e in self.candidates() if e not in self.servers or self.servers[e].done]
        for met in pool.map(self.meet, fresh):
            self.adopt(met)
