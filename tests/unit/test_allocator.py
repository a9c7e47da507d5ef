"""The allocator setting: applied once per process, on glibc."""

import platform

import pytest

from rlvr_boundary.models.allocator import retain_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_retains_freed_memory_on_glibc():
    assert retain_freed_memory() is True
    assert retain_freed_memory.cache_info().currsize == 1  # once per process
