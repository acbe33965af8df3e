"""The producer's S3 layout: which keys are coverage, which entry and instance each belongs to.

Pure functions over listed objects (no I/O), so every rule is tested on its own:

    {host}/{ns}/{pod}/{container}/{discoveryTime}/{image}/{binary}/<file>    a pod's container
    {host}/_host_/{discoveryTime}/{binary}/<file>                            a host process

with <file> one of `covmeta.<hash>`, `covcounters.<hash>.<pid>.<1|2>` (two alternating
cumulative snapshots per process) and `info.json`. Everything else is "unexpected":
counted and reported, never silently dropped.

Keys come from the cluster and are untrusted: every component of a coverage key passes
`trust.text` (valid text, no control characters, a length cap) and must not be `.` or
`..`, or the key is "refused" (reported with the reason, and the command exits 1).
Characters like `|`, `<`, backticks or spaces are valid in names and are kept: the
outputs escape them. Values are keyed by exactly what the key says (a discovery time is
the string, never a normalised instant), and names derived from them keep a hash.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from coverage_collector import trust
from coverage_collector.collection import parse_discovery
from coverage_collector.entrydirs import COUNTER_NAME, META_NAME, EntryId, component

POD_DEPTH = 8
HOST_DEPTH = 5
HOST_MARKER = "_host_"
INFO_NAME = "info.json"
MAX_IMAGE = 512
"""Characters in the image component (a registry path, a tag and a digest)."""


@dataclass(frozen=True)
class RemoteObject:
    """One listed S3 object."""

    key: str
    size: int
    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class Located:
    """A coverage object whose key has the producer's shape."""

    obj: RemoteObject
    entry: EntryId
    discovery: str
    image: str
    name: str


@dataclass
class Instance:
    """One process instance (a discovery and a pid) and its newest counter snapshot."""

    discovery: str
    pid: int
    meta_hash: str
    newest: RemoteObject
    superseded: list[RemoteObject] = field(default_factory=list)

    @property
    def local_name(self) -> str:
        """A name `go tool covdata` accepts, unique per instance within its entry."""
        return f"covcounters.{self.meta_hash}.{self.pid}.{discovery_number(self.discovery)}"


@dataclass
class EntryPlan:
    """What one entry should look like locally."""

    entry: EntryId
    metas: dict[str, RemoteObject] = field(default_factory=dict)
    """Meta files by hash (a restarted container may run a rebuilt binary)."""
    instances: list[Instance] = field(default_factory=list)
    info: RemoteObject | None = None
    image: str = ""
    discoveries: list[str] = field(default_factory=list)

    def files(self) -> dict[str, RemoteObject]:
        """Return the objects to fetch, by local file name."""
        wanted = {f"covmeta.{h}": obj for h, obj in self.metas.items()}
        wanted.update({i.local_name: i.newest for i in self.instances})
        if self.info is not None:
            wanted[INFO_NAME] = self.info
        return wanted


@dataclass(frozen=True)
class Refused:
    """A key in the producer's layout with a component that cannot be trusted."""

    key: str
    reason: str
    """`<component>: <defect>`, e.g. `pod: control character U+001B`."""


@dataclass
class Listing:
    """Listed objects sorted into coverage, refused and unexpected keys."""

    located: list[Located] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    depths: Counter[int] = field(default_factory=Counter)


def normalise_prefix(prefix: str) -> str:
    """Return `prefix` with exactly one trailing slash (empty stays empty)."""
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


def cluster_name(prefix: str, bucket: str) -> str:
    """The name a cluster is known by: its prefix (normalised, without the trailing slash),
    or the bucket's name when the cluster's data is at the bucket's root."""
    return prefix.rstrip("/") or bucket


MAX_PREFIX = 1024
"""Characters in a cluster prefix (S3 keys have at most 1,024 bytes)."""


def checked_cluster(prefix: str, bucket: str) -> str:
    """The name of the cluster at `prefix`, or UntrustedValueError: its last component is a
    key component like any other (`--clusters` finds it in the bucket, so it comes from the
    cluster), and the whole name is valid text of at most MAX_PREFIX characters."""
    component(prefix.rstrip("/").rpartition("/")[2] or bucket, "cluster")
    return trust.text(cluster_name(prefix, bucket), "cluster", max_length=MAX_PREFIX)


def classify(objects: list[RemoteObject], prefix: str, cluster: str = "") -> Listing:
    """Sort `objects` listed under `prefix` (normalised) into coverage, refused and unexpected;
    the entries found belong to `cluster`."""
    listing = Listing()
    for obj in objects:
        parts = obj.key[len(prefix) :].split("/")
        listing.depths[len(parts)] += 1
        try:
            located = _locate(obj, parts, cluster)
        except trust.UntrustedValueError as exc:
            listing.refused.append(Refused(obj.key, str(exc)))
            continue
        if located is None:
            listing.unexpected.append(obj.key)
        else:
            listing.located.append(located)
    return listing


def _locate(obj: RemoteObject, parts: list[str], cluster: str) -> Located | None:
    name = parts[-1]
    if not (META_NAME.match(name) or COUNTER_NAME.match(name) or name == INFO_NAME):
        return None
    if len(parts) == POD_DEPTH and parts[1] != HOST_MARKER:
        host, namespace, pod, container, discovery, image, binary = parts[:7]
        entry = EntryId(host, namespace, pod, container, binary, False, cluster)
    elif len(parts) == HOST_DEPTH and parts[1] == HOST_MARKER:
        host, _, discovery, binary = parts[:4]
        image = ""
        entry = EntryId(host, "", host, "", binary, True, cluster)
    else:
        return None
    for label, value in (
        ("host", host),
        ("namespace", entry.namespace),
        ("pod", entry.pod),
        ("container", entry.container),
        ("discovery time", discovery),
        ("binary", binary),
    ):
        component(value, label)
    component(image, "image", max_length=MAX_IMAGE)
    return Located(obj, entry, discovery, image, name)


def plan_entries(located: list[Located]) -> list[EntryPlan]:
    """Group coverage objects into entries and pick each instance's newest snapshot.

    An instance is a (discovery time, pid): container restarts and earlier discoveries are
    kept as instances of their own. Of the snapshots of one instance (the producer
    alternates `.1` and `.2`), only the newest by LastModified counts.
    """
    plans: dict[EntryId, EntryPlan] = {}
    snapshots: dict[tuple[EntryId, str, int, str], list[RemoteObject]] = defaultdict(list)
    info_discovery: dict[EntryId, str] = {}
    for item in located:
        plan = plans.setdefault(item.entry, EntryPlan(item.entry))
        if item.discovery not in plan.discoveries:
            plan.discoveries.append(item.discovery)
        if item.discovery >= max(plan.discoveries) and item.image:
            plan.image = item.image
        meta = META_NAME.match(item.name)
        counter = COUNTER_NAME.match(item.name)
        if meta:
            plan.metas.setdefault(meta.group(1), item.obj)
        elif counter:
            key = (item.entry, item.discovery, int(counter.group(2)), counter.group(1))
            snapshots[key].append(item.obj)
        elif item.discovery >= info_discovery.get(item.entry, ""):
            info_discovery[item.entry] = item.discovery
            plan.info = item.obj
    for (entry, discovery, pid, meta_hash), objs in snapshots.items():
        ordered = sorted(objs, key=lambda o: (o.last_modified, o.key))
        plans[entry].instances.append(
            Instance(discovery, pid, meta_hash, ordered[-1], ordered[:-1])
        )
    for plan in plans.values():
        plan.discoveries.sort()
        plan.instances.sort(key=lambda i: (i.discovery, i.pid, i.meta_hash))
    return sorted(plans.values(), key=lambda p: p.entry)


def discovery_number(discovery: str) -> int:
    """Return a number for the discovery time string, distinct for distinct strings.

    A time in the producer's exact format becomes Unix nanoseconds (what Go itself puts
    there); any other string (`2026318T91249Z` denotes the same instant as
    `20260318T091249Z` but is another key) becomes a 56-bit hash of the string, which
    stays below the nanoseconds of any time after 1972.
    """
    parsed = parse_discovery(discovery)
    if parsed is not None:
        return int(parsed.timestamp()) * 1_000_000_000
    return int.from_bytes(hashlib.sha256(discovery.encode("utf-8", "surrogatepass")).digest()[:7])


def printable(text: str) -> str:
    """`text` (a key from the cluster) safe to print and log: credentials scrubbed, control
    characters and invalid Unicode shown as escapes, on one line."""
    valid = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return trust.terminal(trust.scrub(valid))


def depth_hint(listing: Listing, prefix: str) -> str | None:
    """Explain a listing where nothing has the producer's layout but objects exist."""
    if listing.located or not listing.unexpected:
        return None
    depth, count = listing.depths.most_common(1)[0]
    message = (
        f"no object under prefix {prefix!r} has the producer's layout "
        f"({POD_DEPTH} levels for pods, {HOST_DEPTH} for host processes); "
        f"{count} objects are {depth} levels deep"
    )
    extra = depth - POD_DEPTH
    if extra > 0:
        candidates = Counter(
            "/".join(parts[:extra])
            for parts in (key[len(prefix) :].split("/") for key in listing.unexpected)
            if len(parts) == depth
        )
        options = ", ".join(
            f"--prefix {prefix}{c}/ ({n} objects)" for c, n in candidates.most_common(3)
        )
        message += f"; did you mean {options}?"
        if extra == 1:
            message += (
                f" If each of them is a cluster: --prefix {prefix or '/'} --clusters '*' "
                "downloads them all into one collection."
            )
    return message
