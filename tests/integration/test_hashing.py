"""Both hash eras: MD5 (Go <= 1.23) and FNV-1a-128 (Go >= 1.24), checked on real binaries."""

from __future__ import annotations

import pytest

from coverage_collector.covdata.hashing import detect_era, fnv128a, package_hash
from coverage_collector.covdata.meta import read_meta
from tests.helpers.gofixtures import Dataset, require_dataset


def test_fnv128a_known_vectors() -> None:
    # The offset basis for empty input, and the name covdata gives an empty merge.
    assert fnv128a(b"").hex() == "6c62272e07bb014262b821756295c58d"
    assert fnv128a(b"a").hex() == "d228cb696f1a8caf78912b704e4a8964"


@pytest.mark.parametrize(
    ("name", "era"),
    [
        ("lab_count", "fnv"),
        ("features", "fnv"),
        ("gofmt", "fnv"),
        # every toolchain clusters still run: MD5 until Go 1.23, FNV-1a from Go 1.24
        *((name, "md5") for name in ("go121", "go121_features", "go122", "go122_features")),
        *(
            (f"{era}{suffix}", "fnv")
            for era in ("go124", "go125", "go126")
            for suffix in ("", "_features")
        ),
    ],
)
def test_hashes_recomputed_from_decoded_units(
    name: str, era: str, go_datasets: dict[str, Dataset]
) -> None:
    # Recomputing every package hash and the file hash from our decoded units gives Go's values:
    # proof that names, files, units and literal flags decode exactly.
    meta = read_meta(str(require_dataset(go_datasets, name).meta_files()[0]))
    assert detect_era(meta) == era
    for index, package in enumerate(meta.packages):
        assert package_hash(meta, index, era) == package.meta_hash, package.path
