"""The heap setting the learned codec relies on for its decoding speed takes effect on glibc."""

import platform

import pytest

from vcm.allocator import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_accepts_the_heap_thresholds() -> None:
    assert keep_freed_memory() is True


def test_the_learned_codec_sets_them_when_it_loads() -> None:
    from vcm.lic.coding import LearnedCodec

    keep_freed_memory.cache_clear()
    LearnedCodec.load()
    assert keep_freed_memory.cache_info().currsize == 1
