"""Sample blocks: n cut into fixed blocks, each a job with its own seed, so that raising n
adds jobs for the new samples only; and the thread count a job computes with."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rlvr_boundary.sampling.blocks import Block, block_at, sample_blocks
from rlvr_boundary.workflow.job_io import compute_threads


def test_blocks_cover_n_in_fixed_blocks_with_a_partial_last_one():
    assert sample_blocks(256, 256) == [Block(0, 0, 256)]
    assert sample_blocks(1024, 128) == [Block(i, 128 * i, 128) for i in range(8)]
    assert sample_blocks(300, 128) == [Block(0, 0, 128), Block(1, 128, 128), Block(2, 256, 44)]
    assert sample_blocks(16, 128) == [Block(0, 0, 16)]


def test_raising_n_keeps_every_full_block_as_it_was():
    small, large = sample_blocks(128, 128), sample_blocks(1024, 128)
    assert large[:len(small)] == small
    # A partial last block grows: it is the one block drawn again.
    grown = [b for b in sample_blocks(200, 128) if b not in sample_blocks(300, 128)]
    assert grown == [Block(1, 128, 72)]


def test_block_zero_keeps_the_shard_seed_and_later_blocks_get_their_own():
    blocks = sample_blocks(512, 128)
    assert blocks[0].seed_names() == ()
    names = [b.seed_names() for b in blocks[1:]]
    assert names == [("block", 1), ("block", 2), ("block", 3)]
    assert blocks[2].param() == {"index": 2, "start": 256, "samples": 128}


def test_an_unknown_block_or_size_is_refused():
    with pytest.raises(ValueError, match="block 2 is not one of 0..1"):
        block_at(sample_blocks(256, 128), 2)
    with pytest.raises(ValueError, match="must be positive"):
        sample_blocks(256, 0)


def test_a_job_computes_with_its_configured_threads_not_the_cores_it_was_given():
    # Snakemake lowers a job's threads to --cores; the param keeps the configured count.
    assert compute_threads(SimpleNamespace(params=SimpleNamespace(threads=4), threads=1)) == 4
    # On a GPU the param is None: the job takes what Snakemake gives it.
    assert compute_threads(SimpleNamespace(params=SimpleNamespace(threads=None), threads=3)) == 3
    assert compute_threads(SimpleNamespace(params=SimpleNamespace(), threads=2)) == 2
