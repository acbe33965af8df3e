"""A hostile collection: the bundled sample plus everything an attacker in a cluster can plant.

Built once per test run, from the sample and from real git repositories made on the fly:

- S3 objects in the producer's layout (the sample's, so the good items are known), plus
  hostile ones: keys with traversal, control characters and over-long components, colliding
  discovery times, `info.json` files with credentials in URLs (https, ssh, git, query
  strings), lone surrogates, deep nesting and huge integers, a counter file whose header
  lies about its sizes, and names made of markdown and HTML;
- two synthetic binaries (meta-data and counters written with our Go-format writer):
  `hostile-paths`, whose file names traverse out of their checkout or are absolute paths
  (`/etc/passwd`, `/proc/self/environ`), and whose repository commits symlinks to files
  and directories outside it and to devices; and `hostile-names`, whose file names carry a
  non-UTF-8 byte and an escape sequence;
- entries planted in `coverage/` after the download (a producer we don't control, or a
  tampered collection): bad `metadata.json` files, a FIFO counter file, counter files
  symlinked to `/dev/zero` and to a secret outside the collection.

`Secrets` holds every planted secret: no output of any stage may contain one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from coverage_collector.covdata.writer import (
    FuncCounters,
    FuncDesc,
    PackageBuilder,
    encode_counter_file,
    encode_meta_file,
)
from coverage_collector.demo import SAMPLE, producer_keys
from tests.helpers.sourcefixtures import commit

HOST = "ip-10-0-9-9.ec2.internal"
HOSTILE_ORIGIN = "https://git.example.net/evil"
"""Where the hostile binaries' repository lives (served from a local mirror in the tests)."""
HOSTILE_MODULE = "git.example.net/evil/hostile"
DISCOVERY = "20260318T091249Z"
COLLIDING_DISCOVERY = "2026318T91249Z"
"""Normalises to the same instant as DISCOVERY: must not share its counter file."""
LONG_OWNER = "a" * 160
"""Two owners whose names differ only after 150 characters: `<LONG_OWNER>-x` and `-y`."""
MARKUP_NAMESPACE = "evil|ns`<b>x<i>"  # no `/`: that would be another key level
"""Legal in an S3 key, dangerous in markdown and HTML."""
BIG_FILE_BYTES = 9 << 20
"""Over SourceTree's 8 MiB cap."""


@dataclass(frozen=True)
class Secrets:
    """What must never appear in any output (database, logs, pages, exports, rows)."""

    token: str
    """Planted in URLs from the cluster as password, user name and query string."""
    outside: str
    """The content of a file outside the collection and every checkout."""
    environ: str
    """An environment variable of every stage's process (found via /proc/self/environ)."""
    stdin: str
    """What every stage's process reads on stdin (found via /proc/self/fd/0)."""
    passwd: str
    """The first line of /etc/passwd."""

    def markers(self) -> dict[str, bytes]:
        return {
            "planted token": self.token.encode(),
            "file outside the checkouts": self.outside.encode(),
            "process environment": self.environ.encode(),
            "process stdin": self.stdin.encode(),
            "/etc/passwd": self.passwd.encode(),
        }

    def found_in(self, data: bytes) -> list[str]:
        return [name for name, marker in self.markers().items() if marker in data]


@dataclass(frozen=True)
class HostileWorld:
    work: Path
    objects: dict[str, bytes]
    """S3 key (without the prefix) -> bytes: the producer's upload, hostile parts included."""
    upstream: Path
    """A directory holding the hostile repository `hostile` (the mirror of HOSTILE_ORIGIN)."""
    outside: Path
    secrets: Secrets
    refused_keys: list[str] = field(default_factory=list)
    """Key fragments the download must name as refused."""
    planted: dict[str, str] = field(default_factory=dict)
    """Entry directory name -> what is wrong with it (planted after the download)."""


def _secrets() -> Secrets:
    token = f"PLANTED-TOKEN-{uuid.uuid4().hex}"
    passwd = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]
    return Secrets(
        token=token,
        outside=f"OUTSIDE-SECRET-{uuid.uuid4().hex}",
        environ=f"ENVIRON-SECRET-{uuid.uuid4().hex}",
        stdin=f"STDIN-SECRET-{uuid.uuid4().hex}",
        passwd=passwd,
    )


def stage_environment(secrets: Secrets) -> dict[str, str]:
    """The environment every stage runs with: a secret a leak of /proc/self/environ shows."""
    return {**os.environ, "HOSTILE_ENVIRON_SECRET": secrets.environ}


# --------------------------------------------------------------------------------------------
# The hostile binaries


def _binary(
    file_hash: bytes, package: str, files: list[str]
) -> tuple[bytes, bytes, dict[str, int]]:
    """A meta-data file with one function per file (two units each) and a counter file in
    which the first unit of every function ran; return both and the file -> line map."""
    builder = PackageBuilder(package, "main", HOSTILE_MODULE)
    records = []
    for index, name in enumerate(files):
        func = builder.add(FuncDesc(f"F{index}", name, [(3, 1, 4, 2, 1), (5, 1, 6, 2, 1)], False))
        records.append(FuncCounters(0, func, np.array([index + 1, 0], dtype=np.uint32)))
    meta = encode_meta_file(file_hash, [builder.encode()], mode=2, granularity=1)
    counters = encode_counter_file(file_hash, {"GOOS": "linux", "GOARCH": "amd64"}, records)
    return meta, counters, {name: 3 for name in files}


def hostile_paths_files(outside: Path) -> list[str]:
    """covmeta file names that point out of the checkout, and names of committed symlinks."""
    up = "../" * 12  # more than enough to leave any checkout under the collection
    return [
        f"{HOSTILE_MODULE}/main.go",  # a good file: resolves and renders
        f"{HOSTILE_MODULE}/inside.go",  # a symlink that stays inside: fine
        f"{HOSTILE_MODULE}/{up}{outside.relative_to('/')}/secret.txt",
        f"{HOSTILE_MODULE}/{up}etc/passwd",
        "/etc/passwd",
        "/proc/self/environ",
        f"{HOSTILE_MODULE}/passwd.go",  # -> /etc/passwd
        f"{HOSTILE_MODULE}/secret.go",  # -> the outside secret
        f"{HOSTILE_MODULE}/zero.go",  # -> /dev/zero
        f"{HOSTILE_MODULE}/stdin.go",  # -> /proc/self/fd/0
        f"{HOSTILE_MODULE}/environ.go",  # -> /proc/self/environ
        f"{HOSTILE_MODULE}/linked/x.go",  # linked -> a directory outside
        f"{HOSTILE_MODULE}/big.go",  # over the size cap
    ]


REFUSED_SOURCE_FILES = (
    "secret.txt",
    "etc/passwd",
    "passwd.go",
    "secret.go",
    "zero.go",
    "stdin.go",
    "environ.go",
    "linked/x.go",
    "big.go",
)
"""Fragments of the hostile-paths file names a stage that reads source must refuse. The
absolute names (`/etc/passwd`, `/proc/self/environ`) are not among them: an absolute name is
only ever looked up by its suffix inside a checkout, so it is unresolved, never refused (and
the leak scan proves nothing of those files is published)."""


def _hostile_repository(upstream: Path, outside: Path) -> str:
    """The repository of both hostile binaries, with its symlinks; return its commit."""
    repo = upstream / "hostile"
    main = "package main\n\nfunc F0() {\n\tprintln(1)\n}\n\nfunc main() {}\n"
    commit(repo, {"go.mod": f"module {HOSTILE_MODULE}\n\ngo 1.21\n", "main.go": main}, "main")
    links = {
        "inside.go": "main.go",
        "passwd.go": "/etc/passwd",
        "secret.go": str(outside / "secret.txt"),
        "zero.go": "/dev/zero",
        "stdin.go": "/proc/self/fd/0",
        "environ.go": "/proc/self/environ",
        "linked": str(outside / "dir"),
        "vendor": "/etc",
    }
    for name, target in links.items():
        (repo / name).symlink_to(target)
    (repo / "big.go").write_bytes(b"// " + b"x" * BIG_FILE_BYTES + b"\n")
    return commit(repo, {}, "symlinks and a big file")


# --------------------------------------------------------------------------------------------
# S3 objects


def _pod_base(namespace: str, pod: str, container: str, binary: str, discovery: str) -> str:
    # one image per binary: compile records a source per image
    image = f"quay.io-evil-{binary}-sha256-" + hashlib.sha256(binary.encode()).hexdigest()
    return f"{HOST}/{namespace}/{pod}/{container}/{discovery}/{image}/{binary}"


def _info(source_url: str, commit_id: str, **extra: object) -> bytes:
    info = {
        "binary": "hostile",
        "source_url": source_url,
        "source_commit": commit_id,
        "software_group": "evil",
        "software_key": "hostile",
        **extra,
    }
    return json.dumps(info).encode()


def _sample_objects() -> dict[str, bytes]:
    with resources.as_file(SAMPLE) as sample:
        return {
            key: Path(path).read_bytes() for key, path in producer_keys(str(sample), "").items()
        }


def build_hostile_world(work: Path) -> HostileWorld:
    """Make the repositories, binaries and S3 objects of the hostile collection under `work`."""
    secrets = _secrets()
    outside = work / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_text(secrets.outside + "\n", encoding="utf-8")
    (outside / "dir" / "x.go").write_text(secrets.outside + "\n", encoding="utf-8")
    upstream = work / "upstream"
    commit_id = _hostile_repository(upstream, outside)
    objects = _sample_objects()
    token = secrets.token

    # The sample's inventory-api reports its (real) repository with a token in the URL: the
    # URL must be cleaned, stored without it, and still clone.
    for key in [k for k in objects if k.endswith("info.json") and "/shop/" in k]:
        info = json.loads(objects[key])
        info["source_url"] = info["source_url"].replace(
            "https://", f"https://x-access-token:{token}@"
        )
        objects[key] = json.dumps(info).encode()

    paths_hash = bytes.fromhex("a1" * 16)
    meta, counters, _ = _binary(paths_hash, f"{HOSTILE_MODULE}", hostile_paths_files(outside))
    base = _pod_base("evil", "paths-7d9f8c6b5d-abcde", "paths", "hostile-paths", DISCOVERY)
    objects[f"{base}/covmeta.{paths_hash.hex()}"] = meta
    objects[f"{base}/covcounters.{paths_hash.hex()}.4242.1"] = counters
    objects[f"{base}/info.json"] = _info(
        f"https://{token}@git.example.net/evil/hostile?access_token={token}", commit_id
    )
    # The same instant written two ways, same pid: two instances, never one file.
    colliding = base.replace(DISCOVERY, COLLIDING_DISCOVERY)
    objects[f"{colliding}/covmeta.{paths_hash.hex()}"] = meta
    objects[f"{colliding}/covcounters.{paths_hash.hex()}.4242.1"] = counters
    objects[f"{colliding}/info.json"] = objects[f"{base}/info.json"]

    names_hash = bytes.fromhex("b2" * 16)
    names = [f"{HOSTILE_MODULE}/ok.go", f"{HOSTILE_MODULE}/bad\udcff.go"]
    meta, counters, _ = _binary(names_hash, HOSTILE_MODULE, names)
    base = _pod_base("evil", "names-7d9f8c6b5d-fghij", "names", "hostile-names", DISCOVERY)
    objects[f"{base}/covmeta.{names_hash.hex()}"] = meta
    objects[f"{base}/covcounters.{names_hash.hex()}.77.1"] = counters
    objects[f"{base}/info.json"] = _info(
        f"ssh://git:{token}@git.example.net/evil/hostile", commit_id
    )

    # Owners that differ only after 150 characters, and one in a namespace made of markup;
    # each runs the sample's kv-store binary, with a git:// URL carrying credentials.
    kv_meta_key = next(k for k in objects if "/storage/" in k and "/covmeta." in k)
    kv_counter_key = next(k for k in objects if "/storage/" in k and "/covcounters." in k)
    for namespace, pod in (
        ("evil", f"{LONG_OWNER}-x-0"),
        ("evil", f"{LONG_OWNER}-y-0"),
        (MARKUP_NAMESPACE, "markup-0"),
    ):
        base = _pod_base(namespace, pod, "kv", "kv-store", DISCOVERY)
        objects[f"{base}/{kv_meta_key.rsplit('/', 1)[1]}"] = objects[kv_meta_key]
        objects[f"{base}/{kv_counter_key.rsplit('/', 1)[1]}"] = objects[kv_counter_key]
        objects[f"{base}/info.json"] = _info(f"git://u:{token}@git.example.net/evil/kv", "0" * 40)

    # info.json that cannot be trusted: the entry compiles, the info is refused.
    bad_infos = {
        "surrogate": b'{"source_url": "https://git.example.net/e/x\\ud800", "source_commit": "1"}',
        "deep": b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "hugeint": b'{"pid": ' + b"9" * 5000 + b"}",
    }
    for name, data in bad_infos.items():
        base = _pod_base("evil", f"info-{name}-0", "c", "kv-store", DISCOVERY)
        objects[f"{base}/{kv_meta_key.rsplit('/', 1)[1]}"] = objects[kv_meta_key]
        objects[f"{base}/{kv_counter_key.rsplit('/', 1)[1]}"] = objects[kv_counter_key]
        objects[f"{base}/info.json"] = data

    # A counter file whose segment header claims 2e9 functions.
    lying = bytearray(objects[kv_counter_key])
    lying[32:36] = (2_000_000_000).to_bytes(4, "little")
    base = _pod_base("evil", "lying-0", "c", "kv-store", DISCOVERY)
    objects[f"{base}/{kv_meta_key.rsplit('/', 1)[1]}"] = objects[kv_meta_key]
    objects[f"{base}/{kv_counter_key.rsplit('/', 1)[1]}"] = bytes(lying)

    # Keys that must be refused, each naming a component an attacker controls.
    refused = {
        "traversal": _pod_base("evil", "..", "c", "kv-store", DISCOVERY),
        "escape": _pod_base("evil", "esc\x1b[31m-0", "c", "kv-store", DISCOVERY),
        "long": _pod_base("evil", "p" * 300, "c", "kv-store", DISCOVERY),
    }
    for base in refused.values():
        objects[f"{base}/{kv_meta_key.rsplit('/', 1)[1]}"] = objects[kv_meta_key]
        objects[f"{base}/{kv_counter_key.rsplit('/', 1)[1]}"] = objects[kv_counter_key]
    return HostileWorld(
        work, objects, upstream, outside, secrets, refused_keys=["..", "esc", "p" * 300]
    )


# --------------------------------------------------------------------------------------------
# Entries planted after the download


def plant_entries(collection: Path, world: HostileWorld) -> dict[str, str]:
    """Add hostile entry directories to `collection/coverage`; return name -> defect."""
    coverage = collection / "coverage"
    template = next(p for p in sorted(coverage.iterdir()) if "kv-store-0" in p.name)
    meta = next(template.glob("covmeta.*"))
    counter = next(template.glob("covcounters.*"))
    good_metadata = json.loads((template / "metadata.json").read_text(encoding="utf-8"))
    planted: dict[str, str] = {}

    def entry(name: str, defect: str, metadata: bytes | None = None, counters: bool = True) -> Path:
        path = coverage / name
        path.mkdir()
        shutil.copy(meta, path / meta.name)
        if counters:
            shutil.copy(counter, path / counter.name)
        data = dict(good_metadata, pod_name=f"{name}-0")
        (path / "metadata.json").write_bytes(metadata or json.dumps(data).encode())
        planted[name] = defect
        return path

    rest = json.dumps({k: v for k, v in good_metadata.items() if k != "pod_name"})[1:-1].encode()
    entry("planted-surrogate", "lone surrogate", b'{"pod_name": "x\\ud800", ' + rest + b"}")
    entry("planted-deep", "deep nesting", b'{"pod_name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    entry("planted-hugeint", "huge integer", b'{"pid": ' + b"7" * 5000 + b", " + rest + b"}")
    markup = dict(good_metadata, namespace=MARKUP_NAMESPACE, pod_name="planted-markup-0")
    entry("planted-markup", "", json.dumps(markup).encode())
    entry(
        "planted-escape",
        "control characters",
        json.dumps(dict(good_metadata, pod_name="esc\x1b]0;owned\x07\n-0")).encode(),
    )
    os.mkfifo(entry("planted-fifo", "FIFO counter file", counters=False) / counter.name)
    (entry("planted-zero", "counter file -> /dev/zero", counters=False) / counter.name).symlink_to(
        "/dev/zero"
    )
    (
        entry("planted-outside", "counter file -> outside secret", counters=False) / counter.name
    ).symlink_to(world.outside / "secret.txt")
    return {name: defect for name, defect in planted.items() if defect}
