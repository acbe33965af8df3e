"""collection.py: the collection's places and its entry files, written and read as one model.

No Go, no network: the files are written by the models themselves and read back through
the trust boundary.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from coverage_collector.collection import (
    Collection,
    EntryMetadata,
    RecordedInstance,
    SourceInfo,
    read_info,
    read_metadata,
)

DOWNLOADED = EntryMetadata(
    pod_name="api-7d9f8c6b5d-x2k4p",
    namespace="shop",
    container_name="server",
    image="quay.io/shop/api@sha256:00",
    binary_name="api",
    hostname="node-1",
    host_process=False,
    collected_at="2026-03-18T09:12:49Z",
    first_seen="2026-03-18T09:12:07Z",
    last_seen="2026-03-18T11:46:03Z",
    instances=(
        RecordedInstance(
            discovery_time="20260318T091207Z",
            pid=7,
            last_modified="2026-03-18T11:46:03Z",
            counter_file="covcounters." + "a" * 32 + ".7.1773825127000000000",
            s3_key="ci/node-1/shop/api/server/20260318T091207Z/img/api/covcounters.x.7.1",
        ),
    ),
)

DOWNLOADED_BYTES = b"""{
  "pod_name": "api-7d9f8c6b5d-x2k4p",
  "namespace": "shop",
  "container": {
    "name": "server",
    "image": "quay.io/shop/api@sha256:00"
  },
  "binary_name": "api",
  "collected_at": "2026-03-18T09:12:49Z",
  "hostname": "node-1",
  "host_process": false,
  "instances": [
    {
      "discovery_time": "20260318T091207Z",
      "pid": 7,
      "last_modified": "2026-03-18T11:46:03Z",
      "counter_file": "covcounters.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.7.1773825127000000000",
      "s3_key": "ci/node-1/shop/api/server/20260318T091207Z/img/api/covcounters.x.7.1"
    }
  ],
  "first_seen": "2026-03-18T09:12:07Z",
  "last_seen": "2026-03-18T11:46:03Z"
}
"""


def test_metadata_is_written_as_download_always_wrote_it(tmp_path: Path) -> None:
    # The key order, the indentation and the trailing newline are download's, byte for byte.
    assert DOWNLOADED.to_json() == DOWNLOADED_BYTES
    DOWNLOADED.write(str(tmp_path))
    assert (tmp_path / "metadata.json").read_bytes() == DOWNLOADED_BYTES
    assert os.listdir(tmp_path) == ["metadata.json"]  # no temporary file left


def test_metadata_round_trips_through_the_file(tmp_path: Path) -> None:
    DOWNLOADED.write(str(tmp_path))
    again = read_metadata(str(tmp_path))
    assert again == DOWNLOADED
    assert again.to_json() == DOWNLOADED_BYTES


def test_the_sample_collections_files_are_rewritten_unchanged() -> None:
    # Instances without an S3 key (the sample was not downloaded) stay without one.
    sample = Path(__file__).parents[2] / "src/coverage_collector/sample_collection"
    entries = Collection(str(sample)).entries()
    assert entries
    for entry in entries:
        written = (Path(entry.path) / "metadata.json").read_bytes()
        assert entry.metadata.instances
        assert entry.metadata.to_json() == written, entry.name


def test_owner_fields_are_written_only_when_recorded(tmp_path: Path) -> None:
    owned = EntryMetadata(namespace="shop", owner_kind="Deployment", owner_name="api")
    data = json.loads(owned.to_json())
    assert list(data)[6:9] == ["host_process", "owner_kind", "owner_name"]
    assert "owner_kind" not in json.loads(EntryMetadata().to_json())
    owned.write(str(tmp_path))
    assert read_metadata(str(tmp_path)) == owned


def test_instances_are_not_part_of_the_metadata_fingerprint() -> None:
    # compile fingerprints an entry's metadata by repr: download's bookkeeping stays out.
    assert repr(DOWNLOADED) == repr(EntryMetadata(**{**DOWNLOADED.__dict__, "instances": ()}))


@pytest.mark.parametrize(
    "listed",
    [
        "not a list",
        [7, None, {"pid": 7}, {"counter_file": 5}, {"counter_file": "c\x1b[31m"}],
    ],
)
def test_malformed_instances_are_skipped_not_refused(tmp_path: Path, listed: object) -> None:
    (tmp_path / "metadata.json").write_text(json.dumps({"namespace": "ns", "instances": listed}))
    assert read_metadata(str(tmp_path)) == EntryMetadata(namespace="ns")


def test_an_instance_with_odd_types_keeps_its_counter_file() -> None:
    instance = RecordedInstance.from_json(
        {"counter_file": "covcounters.x.1.2", "discovery_time": 1773825127, "pid": "7"}
    )
    assert instance == RecordedInstance("covcounters.x.1.2", discovery_time="1773825127")
    assert instance is not None
    assert instance.to_json() == {
        "discovery_time": "1773825127",
        "pid": 0,
        "counter_file": "covcounters.x.1.2",
    }


def test_source_info_round_trips_through_the_file(tmp_path: Path) -> None:
    info = SourceInfo(
        source_url="https://github.com/example/api",
        source_commit="0123456789abcdef0123456789abcdef01234567",
        software_group="example",
        software_key="api",
    )
    info.write(str(tmp_path))
    assert (tmp_path / "info.json").read_bytes() == (
        json.dumps(info.values(), indent=2) + "\n"
    ).encode()
    assert list(json.loads(info.to_json())) == [
        "source_url",
        "source_commit",
        "software_group",
        "software_key",
    ]
    assert read_info(str(tmp_path)) == info


def test_the_collection_names_every_place_in_it(tmp_path: Path) -> None:
    root = str(tmp_path / "c")
    collection = Collection(root)
    assert collection.coverage == os.path.join(root, "coverage")
    assert collection.entry("node-1-api") == os.path.join(root, "coverage", "node-1-api")
    assert collection.database == os.path.join(root, "coverage.db")
    assert collection.repos == os.path.join(root, "repos")
    assert collection.html == os.path.join(root, "html")
    assert collection.exports == os.path.join(root, "exports")
    assert collection.export("lcov") == os.path.join(root, "exports", "lcov")
    assert collection.logs == os.path.join(root, "logs")


def test_a_collection_is_downloaded_coverage_or_a_database(tmp_path: Path) -> None:
    assert not Collection(str(tmp_path / "missing")).exists()
    assert not Collection(str(tmp_path)).exists()  # an unrelated directory
    assert Collection(str(tmp_path)).entries() == []
    (tmp_path / "coverage").mkdir()
    assert Collection(str(tmp_path)).exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "coverage.db").write_bytes(b"")
    assert Collection(str(other)).exists()


def test_entries_are_read_from_what_the_model_wrote(tmp_path: Path) -> None:
    collection = Collection(str(tmp_path))
    for name in ("b-entry", "a-entry"):
        os.makedirs(collection.entry(name))
        EntryMetadata(pod_name=name).write(collection.entry(name))
    os.makedirs(collection.entry(".partial-c"))  # download's work in progress
    entries = collection.entries()
    assert [e.name for e in entries] == ["a-entry", "b-entry"]
    assert [e.metadata.pod_name for e in entries] == ["a-entry", "b-entry"]
    assert not any(e.problems for e in entries)
