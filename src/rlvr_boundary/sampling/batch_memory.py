"""How many rows the hf backend generates together on a GPU: as many as its free memory
holds, with ``sampling.batch_size`` as the upper bound.

One number cannot suit every model and GPU: the rows of a chunk each hold a KV cache of
(prompt + max_new_tokens) tokens (:class:`~.generate._GenericDecoder` preallocates it), so a
7B model at 4,096 new tokens needs ~0.25 GB per row where the tiny world needs kilobytes. A
batch sized for one OOMs the other or leaves the GPU idle. So on CUDA the sampler takes the
largest row count whose estimated memory fits :data:`SAFETY` of what is free once the model
is loaded (:func:`free_cuda_bytes`: the driver's free memory plus what PyTorch's allocator
holds unused), rounded down to a power of two or 1.5 times one (so that a few hundred MB
more or less free memory rarely changes it), and at most the configured batch size. The
choice is logged. On a CPU the configured batch size is used unchanged: there rows per
chunk change speed, not samples (tests/unit/test_batch_invariance.py).

The estimate (:func:`row_bytes`), per row:

- its KV cache: layers x KV heads x head dim x 2 (keys and values) x dtype bytes per token
  (:func:`kv_bytes_per_token`), for the longest prompt + max_new_tokens;
- choosing its token: about :data:`SAMPLING_BYTES_PER_LOGIT` bytes per vocabulary entry
  (float logits, softmax, the nucleus filter's sort with int64 indices, its cumsums);
- its tokens and uniforms: 12 bytes per new token;

and per distinct prompt of a chunk (at most rows / n + 2 of them), prefilled once: its
cache before it is copied to its rows, one layer's activations (4 x hidden + 3 x
intermediate per token) and attention scores (heads x width x width floats, in case the
attention kernel materialises them).

Samples do not depend on the row count (one uniform per row and step, whatever the
chunking); on a GPU the kernels, chosen by shape, may round logits differently in the last
bits, which is why the rounding above keeps the count steady.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Share of the free memory the estimate may fill: the allocator's fragmentation, kernels'
# workspaces and what the estimate leaves out.
SAFETY = 0.8
SAMPLING_BYTES_PER_LOGIT = 48
TOKEN_BYTES = 12  # an int64 token and a float32 uniform per row and step
GIB, MIB = 1 << 30, 1 << 20


def _text_config(config):
    get = getattr(config, "get_text_config", None)
    return get() if callable(get) else config


def kv_bytes_per_token(config, dtype_bytes: int) -> int:
    """KV cache bytes of one token of one row: layers x KV heads x head dim x 2 x dtype bytes."""
    config = _text_config(config)
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    return int(config.num_hidden_layers) * kv_heads * head_dim * 2 * int(dtype_bytes)


@dataclass(frozen=True)
class RowMemory:
    """Estimated bytes of one row and of one distinct (prefilled) prompt of a chunk."""

    kv_per_token: int
    per_row: int
    per_prompt: int


def row_bytes(config, dtype_bytes: int, prompt_tokens: int, max_new_tokens: int) -> RowMemory:
    """The estimate of the module docstring for prompts of up to ``prompt_tokens`` tokens."""
    kv = kv_bytes_per_token(config, dtype_bytes)
    text = _text_config(config)
    hidden = int(text.hidden_size)
    intermediate = int(getattr(text, "intermediate_size", None) or 4 * hidden)
    cache = kv * (prompt_tokens + max_new_tokens)
    per_row = (cache + int(text.vocab_size) * SAMPLING_BYTES_PER_LOGIT
               + TOKEN_BYTES * max_new_tokens)
    per_prompt = (cache + prompt_tokens * (4 * hidden + 3 * intermediate) * dtype_bytes
                  + int(text.num_attention_heads) * prompt_tokens * prompt_tokens * 4)
    return RowMemory(kv, per_row, per_prompt)


def steady_floor(rows: int) -> int:
    """The largest power of two, or 1.5 times one, that is at most ``rows`` (>= 1)."""
    if rows <= 2:
        return max(1, rows)
    power = 1 << (rows.bit_length() - 1)
    return power * 3 // 2 if power * 3 // 2 <= rows else power


def chunk_bytes(memory: RowMemory, rows: int, n: int) -> float:
    """The estimate for a chunk of ``rows`` rows, ``n`` per prompt: it prefills at most
    rows / n + 2 distinct prompts (a chunk may begin and end inside a prompt's rows)."""
    return rows * memory.per_row + (rows / max(1, n) + 2) * memory.per_prompt


def fitting_rows(free_bytes: int, memory: RowMemory, n: int, upper: int,
                 safety: float = SAFETY) -> int:
    """Rows per chunk: the most whose :func:`chunk_bytes` fit ``safety`` x ``free_bytes``,
    :func:`steady_floor`, at most ``upper``; 1 when not even one row fits (the sampler then
    fails on its own out-of-memory error)."""
    budget = free_bytes * safety - 2 * memory.per_prompt
    rows = math.floor(budget / (memory.per_row + memory.per_prompt / max(1, n)))
    return min(int(upper), steady_floor(max(1, rows)))


def free_cuda_bytes(device) -> int:
    """Memory a chunk may use on ``device``: the driver's free memory plus what PyTorch's
    caching allocator has reserved but does not use."""
    import torch

    free, _total = torch.cuda.mem_get_info(device)
    return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))


def cuda_batch_size(model, encoded: list[list[int]], n: int, max_new_tokens: int,
                    configured: int, free_bytes: int | None = None) -> int:
    """Rows per chunk for sampling ``encoded`` (token ids of each prompt) ``n`` times with
    ``model``: ``configured`` off CUDA, else :func:`fitting_rows` of the free memory
    (``free_bytes``, default :func:`free_cuda_bytes`), logged."""
    if model.device.type != "cuda" or not encoded:
        return configured
    dtype_bytes = model.dtype.itemsize
    longest = max(map(len, encoded))
    memory = row_bytes(model.config, dtype_bytes, longest, max_new_tokens)
    if free_bytes is None:
        free_bytes = free_cuda_bytes(model.device)
    rows = fitting_rows(free_bytes, memory, n, configured)
    fits = chunk_bytes(memory, rows, n) <= free_bytes * SAFETY
    log.log(logging.INFO if fits else logging.WARNING, "batch of %d rows on %s (sampling.batch_size %d the most): %.2f GiB free x "
            "%.2f, %.1f MiB per row (KV cache %d bytes/token x (%d prompt + %d new tokens)) and "
            "%.1f MiB per prefilled prompt", rows, model.device, configured, free_bytes / GIB,
            SAFETY, memory.per_row / MIB, memory.kv_per_token, longest, max_new_tokens,
            memory.per_prompt / MIB)
    if not fits:
        log.warning("not even one row fits the estimate: expect CUDA out of memory (shorten "
                    "max_new_tokens or the prompts, or give the model more GPUs)")
    return rows
