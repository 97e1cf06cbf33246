"""The one registry type for named things."""

import pytest

from vcm.errors import InputError
from vcm.registry import Registry, lazy


def test_entries_keep_their_order_and_a_wrong_name_lists_the_choices() -> None:
    codecs: Registry[str] = Registry("codec")
    codecs.register("hevc", "libx265")
    codecs.register("h264", "libx264")
    assert list(codecs) == ["hevc", "h264"] and codecs.choices() == ["hevc", "h264"]
    assert codecs.entry("h264") == "libx264" and "hevc" in codecs and len(codecs) == 2
    with pytest.raises(InputError, match=r"^unknown codec 'av1'; choose from hevc, h264$"):
        codecs.entry("av1")


def test_a_name_registered_twice_is_refused() -> None:
    things: Registry[int] = Registry("thing")
    things.register("a", 1)
    with pytest.raises(ValueError, match="registered twice"):
        things.register("a", 2)


def test_a_lazy_entry_imports_only_when_built() -> None:
    build = lazy("fractions:Fraction")
    assert build() == 0
