"""Keep freed memory in the process instead of returning it to the OS (glibc only).

glibc serves large allocations (the sampler's KV buffers, activations) with fresh ``mmap``
pages and unmaps them when freed, so every decode step that allocates page-faults its
memory in again. Raising the mmap and trim thresholds lets freed blocks be reused: the
sampler ran ~15% faster (perf/sampling_throughput.py), RL training with the sampler's
rollouts ~10%, pretraining ~25% (perf/pretrain_batches.py), SFT ~28%, at the price of the process
keeping its peak memory.
Numerics are untouched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_LIMIT = 1 << 30  # allocations up to 1 GiB come from the heap; freed memory is kept


@functools.cache
def retain_freed_memory() -> bool:
    """Apply once per process; False where the C library has no ``mallopt`` (not glibc)."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _LIMIT)) and bool(mallopt(_M_TRIM_THRESHOLD, _LIMIT))
