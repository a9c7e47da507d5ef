"""Sample blocks: the n samples per problem cut into blocks of ``sampling.block_size``, one
sampling job (per shard) and one seed each.

Why: raising n (say 128 to 1,024) must draw only the new samples, and n = 1,024 drawn at
once must give the samples of 128 then 896 more. So no sample may depend on n: sample i is
in block ``i // block_size``, a block's draws come from its own seed, and a block is a job
of its own whose params hold its index and size but never n. Raising n adds blocks; the
old ones keep their files, params and bytes. Only a last, partial block grows: it is drawn
again in full (its size is its param), so n a multiple of the block size wastes nothing.

Block 0 is seeded as a whole shard was before blocks existed, so a study whose n fits in
one block keeps its samples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Block:
    """Samples ``start`` to ``start + samples - 1`` of every problem (their sample ids)."""

    index: int
    start: int
    samples: int

    def seed_names(self) -> tuple:
        """What the block adds to its shard's seed names (block 0: nothing)."""
        return () if self.index == 0 else ("block", self.index)

    def param(self) -> dict:
        """What a sampling job's params record of its block."""
        return asdict(self)


def sample_blocks(n: int, block_size: int) -> list[Block]:
    """The blocks of ``n`` samples per problem: full blocks of ``block_size``, the last
    one holding the rest."""
    if n < 1 or block_size < 1:
        raise ValueError(f"n ({n}) and block_size ({block_size}) must be positive")
    return [Block(index, start, min(block_size, n - start))
            for index, start in enumerate(range(0, n, block_size))]


def block_at(blocks: list[Block], index: int) -> Block:
    """Block ``index`` of :func:`sample_blocks`' list (a sampling job's wildcard)."""
    if not 0 <= index < len(blocks):
        n = blocks[-1].start + blocks[-1].samples
        raise ValueError(f"block {index} is not one of 0..{len(blocks) - 1} "
                         f"(n={n}, block_size={blocks[0].samples})")
    return blocks[index]
