"""The producer's S3 layout rules, on listed objects (no S3 needed)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage_collector import download
from coverage_collector.download.layout import (
    RemoteObject,
    classify,
    depth_hint,
    discovery_number,
    parse_discovery,
    plan_entries,
)
from coverage_collector.entrydirs import (
    EntryId,
    hashed_dir_name,
    plain_dir_name,
    plain_name_is_exact,
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


GOOD = POD.format(disc="20260318T091249Z")


@pytest.mark.parametrize(
    ("pod", "reason"),
    [
        ("..", "pod: is '..'"),
        (".", "pod: is '.'"),
        ("esc\x1b[31m-0", "pod: control character U+001B"),
        ("rtl\u202e-0", "pod: control character U+202E"),
        ("bad\udcff-0", "pod: invalid Unicode (a lone surrogate)"),
        ("p" * 254, "pod: longer than 253 characters"),
    ],
)
def test_keys_with_untrusted_components_are_refused_by_key(pod: str, reason: str) -> None:
    # A refused key is neither coverage nor "unexpected": it is named with its reason, and
    # the good key next to it is still located.
    bad = GOOD.replace("/api-7d9f8c6b5d-x2k4p/", f"/{pod}/")
    listing = classify([obj(f"{bad}/covmeta.{H}"), obj(f"{GOOD}/covmeta.{H}")], "p/")
    assert [(r.key, r.reason) for r in listing.refused] == [(f"p/{bad}/covmeta.{H}", reason)]
    assert [item.obj.key for item in listing.located] == [f"p/{GOOD}/covmeta.{H}"]
    assert listing.unexpected == []


@pytest.mark.parametrize("position", range(7))
def test_every_component_is_checked(position: int) -> None:
    parts = GOOD.split("/")
    parts[position] = "x\x07y"
    listing = classify([obj("/".join(parts) + f"/covmeta.{H}")], "p/")
    assert len(listing.refused) == 1 and "control character U+0007" in listing.refused[0].reason


def test_host_process_components_are_checked() -> None:
    listing = classify([obj(f"node-1/_host_/20260318T091249Z/../covmeta.{H}")], "p/")
    assert [r.reason for r in listing.refused] == ["binary: is '..'"]


def test_names_made_of_markup_and_spaces_are_kept() -> None:
    # `|`, backticks, `<`, `>` and spaces are valid in a name: the outputs escape them.
    names = ["evil|ns`<b>x<\\b>", "pod with spaces", "c&<i>", "☃ 日本"]
    keys = [
        obj(f"node-1/{ns}/{pod}/server/20260318T091249Z/img/api/covmeta.{H}")
        for ns, pod in zip(names, reversed(names), strict=True)
    ]
    listing = classify(keys, "p/")
    assert listing.refused == [] and listing.unexpected == []
    plans = plan_entries(listing.located)
    assert {p.entry.namespace for p in plans} == set(names)
    dirs = {hashed_dir_name(p.entry) for p in plans}
    assert len(dirs) == len(plans)
    assert not any(plain_name_is_exact(p.entry) for p in plans)


def test_discovery_times_are_keyed_by_their_exact_string() -> None:
    # `2026318T91249Z` is the same instant as `20260318T091249Z` to a lenient parser; with
    # the same pid they are still two instances, with two counter files.
    assert parse_discovery("2026318T91249Z") is None
    assert parse_discovery("20260318T091249Z") == datetime(2026, 3, 18, 9, 12, 49, tzinfo=UTC)
    assert discovery_number("20260318T091249Z") == 1773825169 * 10**9  # what Go writes
    keys = []
    for disc in ("20260318T091249Z", "2026318T91249Z"):
        base = POD.format(disc=disc)
        keys += [obj(f"{base}/covmeta.{H}"), obj(f"{base}/covcounters.{H}.4242.1")]
    (plan,) = plan_entries(classify(keys, "p/").located)
    assert [i.discovery for i in plan.instances] == ["20260318T091249Z", "2026318T91249Z"]
    assert len({i.local_name for i in plan.instances}) == 2
    assert len([n for n in plan.files() if n.startswith("covcounters.")]) == 2


def test_a_pid_with_a_leading_zero_is_not_a_second_spelling_of_the_pid() -> None:
    base = POD.format(disc="20260318T091249Z")
    listing = classify(
        [obj(f"{base}/covcounters.{H}.042.1"), obj(f"{base}/covcounters.{H}.0.1")], "p/"
    )
    assert listing.unexpected == [f"p/{base}/covcounters.{H}.042.1"]


def test_plain_names_only_for_names_kept_exactly() -> None:
    # A sanitised or shortened name always carries the identity hash.
    assert plain_name_is_exact(EntryId("n", "ns", "pod-a", "c", "b", False))
    for odd in ("pod:a", "", "a" * 200, "pod a"):
        assert not plain_name_is_exact(EntryId("n", "ns", odd, "c", "b", False))


def test_the_summary_names_a_failed_key_once() -> None:
    summary = download.Summary(
        failed=[
            ("s3://b/ci/cluster-2", "Couldn't find any object under s3://b/ci/cluster-2"),
            ("ci/cluster-1/node/ns/pod/c/1/img/bin/covmeta.x", "timed out (after 1 attempt)"),
        ]
    )
    assert summary.lines()[-3:] == [
        "failed: 2",
        "  failed: Couldn't find any object under s3://b/ci/cluster-2",
        "  failed: ci/cluster-1/node/ns/pod/c/1/img/bin/covmeta.x: timed out (after 1 attempt)",
    ]
