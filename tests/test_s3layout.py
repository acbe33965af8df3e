"""The producer's S3 layout rules, on listed objects (no S3 needed)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage_collector.s3layout import (
    EntryId,
    RemoteObject,
    classify,
    depth_hint,
    hashed_dir_name,
    plain_dir_name,
    plan_entries,
    safe_component,
)

H = "a" * 32
T0 = datetime(2026, 3, 18, 9, 0, tzinfo=UTC)
POD = "node-1/shop/api-7d9f8c6b5d-x2k4p/server/{disc}/quay.io-org-api-sha256-00/api"
HOST = "node-1/_host_/{disc}/kubelet"


def obj(key: str, seconds: int = 0, size: int = 10) -> RemoteObject:
    return RemoteObject(f"p/{key}", size, f"etag-{key}-{seconds}", T0 + timedelta(seconds=seconds))


def test_pod_and_host_keys_are_located() -> None:
    # Both layouts are recognised; other depths and file names are unexpected, not dropped.
    pod = POD.format(disc="20260318T091207Z")
    host = HOST.format(disc="20260318T091303Z")
    listing = classify(
        [
            obj(f"{pod}/covmeta.{H}"),
            obj(f"{pod}/covcounters.{H}.42.1"),
            obj(f"{pod}/info.json"),
            obj(f"{host}/covmeta.{H}"),
            obj(f"{pod}/README.md"),
            obj("stray.txt"),
            obj(f"node-1/shop/short/covmeta.{H}"),
            obj(f"{pod}/covcounters.{H}.1.2.3"),
        ],
        "p/",
    )
    assert len(listing.located) == 4
    assert sorted(listing.unexpected) == sorted(
        [
            f"p/{pod}/README.md",
            "p/stray.txt",
            f"p/node-1/shop/short/covmeta.{H}",
            f"p/{pod}/covcounters.{H}.1.2.3",
        ]
    )
    kinds = {(item.entry.host_process, item.name.split(".")[0]) for item in listing.located}
    assert (True, "covmeta") in kinds and (False, "info") in kinds


def test_every_discovery_is_an_instance_and_the_newest_snapshot_wins() -> None:
    # Three discoveries (restarts) are three instances; per instance the newer of .1/.2 counts,
    # whichever suffix it has.
    keys = []
    for index, disc in enumerate(["20260318T091207Z", "20260318T101207Z", "20260318T111207Z"]):
        base = POD.format(disc=disc)
        keys.append(obj(f"{base}/covmeta.{H}"))
        newer_two = index % 2 == 0
        keys.append(obj(f"{base}/covcounters.{H}.{100 + index}.1", 5 if not newer_two else 1))
        keys.append(obj(f"{base}/covcounters.{H}.{100 + index}.2", 5 if newer_two else 1))
    (plan,) = plan_entries(classify(keys, "p/").located)
    assert [i.pid for i in plan.instances] == [100, 101, 102]
    assert [i.newest.key[-1] for i in plan.instances] == ["2", "1", "2"]
    assert all(len(i.superseded) == 1 for i in plan.instances)
    names = set(plan.files())
    assert len([n for n in names if n.startswith("covcounters.")]) == 3
    assert f"covmeta.{H}" in names


def test_prefix_one_level_too_high_is_explained() -> None:
    listing = classify([obj(f"cluster-a/{POD.format(disc='20260318T091207Z')}/covmeta.{H}")], "p/")
    hint = depth_hint(listing, "p/")
    assert (
        hint is not None and "9 levels deep" in hint and "--prefix p/cluster-a/ (1 objects)" in hint
    )


@pytest.mark.parametrize(
    "component", ["..", ".", "a/b", "x\x00y", "é ü", "pod:a", "pod_a", "-rf", "~", "a" * 300]
)
def test_dir_names_are_safe(component: str) -> None:
    # No component can leave the coverage directory or hide a file.
    entry = EntryId(component, component, component, component, component, False)
    for name in (plain_dir_name(entry), hashed_dir_name(entry)):
        assert "/" not in name and "\x00" not in name
        assert not name.startswith(".") and os.path.basename(name) == name
    assert len(hashed_dir_name(entry)) <= 200


@given(st.text(min_size=0, max_size=50))
def test_safe_component_is_always_a_plain_name(text: str) -> None:
    name = safe_component(text)
    assert (
        name
        and not name.startswith(".")
        and set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    )


def test_names_that_collide_after_sanitising_get_distinct_hashes() -> None:
    first = EntryId("n", "ns", "pod:a", "c", "b", False)
    second = EntryId("n", "ns", "pod_a", "c", "b", False)
    assert plain_dir_name(first) == plain_dir_name(second)
    assert hashed_dir_name(first) != hashed_dir_name(second)
