"""Fast, seeded, batched sampling of completions on plain transformers (CPU or GPU).

Why not ``model.generate`` in a loop over problems: for a ~1M-parameter model most of a
step's cost is per-call overhead and KV-cache traffic, not arithmetic. So the sampler
- batches *across* problems: prompts x n rows in prompt-major order, cut every
  ``batch_size`` rows (a chunk);
- prefills each distinct prompt of a chunk once;
- drops finished rows from the batch and the cache once a quarter of them are done;
- on CPU, for Llama models (ours), decodes with :class:`_SharedPrefixDecoder`, which
  keeps a prompt's keys and values once for all its samples; other models, and any model
  on a GPU, go through their own forward (:class:`_GenericDecoder`);
- keeps freed memory in the process (:mod:`..models.allocator`); models loaded by
  :mod:`..models.modeling` run their CPU linear layers through oneDNN (:mod:`..models.onednn`).

Randomness: one ``torch.Generator`` seeded with ``seed`` draws a block of uniforms per
chunk, one per (row, step), and each token is drawn by inverse-CDF sampling with the
uniform of its own row and step. So every sample of every prompt has its own random
numbers (independent draws; docs/tiny_world.md records that per-request seeding made vLLM's samples
of one prompt correlated), and dropping finished rows never shifts another row's numbers.
torch's CPU generator fills blocks sequentially, so a row's numbers do not depend on the
chunking either: ``batch_size`` only changes speed (and, in principle, float rounding).
On a GPU it is the most rows per chunk: fewer when the free memory holds fewer
(:mod:`.batch_memory`).
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import pandas as pd
import torch
from transformers.cache_utils import Cache, DynamicLayer
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

from ..models.allocator import retain_freed_memory
from ..workflow.job_io import progress_line
from .batch_memory import cuda_batch_size

log = logging.getLogger(__name__)

SAMPLE_COLUMNS = ["prompt_index", "sample_id", "completion", "finish_reason", "completion_tokens"]
# With stop rules (real checkpoints, :mod:`.checkpoints`): which stop ended each sample.
STOP_REASON = "stop_reason"
# CPU throughput was flat from 1024 to 2048 rows; on an H100 8192 was 2x faster than 2048.
DEFAULT_BATCH_SIZE = 2048
LOG_EVERY_CHUNKS = 4
# Compact the batch when at most this share of its rows is still generating.
COMPACT_BELOW = 0.75
# Slots per block of the shared-prefix decoder's generated-token KV buffers. 16 was the
# fastest batched-matmul shape measured on CPU: 8-12 slots were 2-3x slower per slot, 32 1.5x
# (MKL), so a long generation adds blocks of 16 instead of growing one buffer.
BLOCK_SLOTS = 16


@dataclass
class _Chunk:
    """The rows generated together: which prompt and which sample each row is."""

    prompt_index: torch.Tensor  # (rows,) index into ``prompts``
    sample_id: torch.Tensor  # (rows,)


def sample_completions(model, tokenizer, prompts: list[str], n: int, temperature: float,
                       top_p: float, max_new_tokens: int, seed: int,
                       batch_size: int = DEFAULT_BATCH_SIZE, *,
                       prompt_ids: list[list[int]] | None = None,
                       stop_token_ids: list[int] | None = None,
                       stop_strings: list[str] | None = None) -> pd.DataFrame:
    """``n`` completions per prompt; one row per sample, ordered by prompt then sample.

    ``temperature == 0`` is greedy decoding (then ``top_p`` and ``seed`` do not matter).
    Same inputs, seed and torch thread count give the same frame.

    Without the keyword arguments (the tiny world) a sample ends at the eos token and
    ``completion_tokens`` excludes it. Real checkpoints (:mod:`.checkpoints`) pass
    ``prompt_ids`` (their prompts already tokenised), ``stop_token_ids`` (every id that ends a
    sample, the eos included) and ``stop_strings``; then the frame has a ``stop_reason``
    column as the vLLM backend's (the stop string, ``eos:<id>`` or ``length``), a sample
    ended by a stop string keeps the text before it, and ``completion_tokens`` counts the
    tokens up to the stop as vLLM does (the stop token, or the one completing the string,
    included).
    """
    _check_arguments(n, temperature, top_p, max_new_tokens, batch_size)
    if prompt_ids is not None and len(prompt_ids) != len(prompts):
        raise ValueError(f"{len(prompt_ids)} prompt_ids for {len(prompts)} prompts")
    encoded = (_encode_prompts(tokenizer, prompts) if prompt_ids is None
               else [list(map(int, ids)) for ids in prompt_ids])
    _check_context(model, encoded, max_new_tokens)
    # On a GPU, batch_size is an upper bound: the rows that fit its free memory (logged).
    batch_size = cuda_batch_size(model, encoded, n, max_new_tokens, batch_size)
    retain_freed_memory()  # decode steps reallocate their buffers: no page faults each time
    generator = torch.Generator(device="cpu").manual_seed(seed)
    eos_id = _eos_id(model, tokenizer)
    # Fills left padding and the slots after eos; masked or cut off, so any id would do.
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_id
    rules = stop_token_ids is not None or stop_strings is not None
    stop_ids = (torch.tensor(sorted({eos_id, *map(int, stop_token_ids or ())}), device=model.device)
                if rules else None)
    text_stops = _TextStops(tokenizer, stop_strings) if stop_strings else None
    columns = (SAMPLE_COLUMNS + [STOP_REASON]) if rules else SAMPLE_COLUMNS
    total = len(prompts) * n
    frames, done, started = [], 0, time.perf_counter()
    with _decoding(model):
        for number, chunk in enumerate(_chunks(len(prompts), n, batch_size)):
            rows = len(chunk.prompt_index)
            # Drawn even when greedy, so the stream's position never depends on temperature.
            uniforms = torch.rand((rows, max_new_tokens), generator=generator)
            tokens, lengths, stopped = _generate_chunk(
                model, encoded, chunk, uniforms, temperature, top_p, eos_id, pad_id,
                stop_ids, text_stops)
            if rules:
                frames.append(_stop_frame(tokenizer, chunk, tokens, lengths, stopped,
                                          list(stop_strings or ())))
            else:
                frames.append(_chunk_frame(tokenizer, chunk, tokens, lengths, stopped))
            done += rows
            if (number + 1) % LOG_EVERY_CHUNKS == 0 or done == total:
                _log_progress(done, total, started)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            columns, ["int64", "int64", "object", "object", "int64", "object"])})
    return pd.concat(frames, ignore_index=True)[columns]


def greedy_completions(model, tokenizer, prompts: list[str], max_new_tokens: int,
                       batch_size: int = DEFAULT_BATCH_SIZE) -> pd.DataFrame:
    """One greedy completion per prompt (temperature 0, n=1)."""
    return sample_completions(model, tokenizer, prompts, n=1, temperature=0.0, top_p=1.0,
                              max_new_tokens=max_new_tokens, seed=0, batch_size=batch_size)


def complete_token_ids(model, prompt_ids: list[list[int]], temperature: float, top_p: float,
                       max_new_tokens: int, eos_id: int, pad_id: int,
                       generator: torch.Generator | None = None) -> list[list[int]]:
    """One completion per row of ``prompt_ids``: its token ids, ending with eos when it
    stopped. Tokens are drawn as in :func:`sample_completions` (uniforms from ``generator``,
    one per row and step); runs of equal consecutive prompts are prefilled once - an RL
    batch repeats each prompt once per generation. For RL rollouts (:mod:`..training.rl_algorithms`)."""
    if not prompt_ids:
        return []
    _check_arguments(1, temperature, top_p, max_new_tokens, len(prompt_ids))
    distinct, prompt_index = [], []
    for ids in map(list, prompt_ids):
        if not distinct or ids != distinct[-1]:
            distinct.append(ids)
        prompt_index.append(len(distinct) - 1)
    _check_context(model, distinct, max_new_tokens)
    retain_freed_memory()  # as in sample_completions; RL steps ran ~1.1x faster with it
    rows = len(prompt_ids)
    chunk = _Chunk(prompt_index=torch.tensor(prompt_index), sample_id=torch.zeros(rows, dtype=torch.long))
    uniforms = torch.rand((rows, max_new_tokens), generator=generator)
    with _decoding(model):
        tokens, lengths, stopped = _generate_chunk(model, distinct, chunk, uniforms, temperature,
                                                   top_p, eos_id, pad_id)
    return [row[:length + 1] if stop else row[:length]
            for row, length, stop in zip(tokens.tolist(), lengths.tolist(), stopped.tolist())]


@contextmanager
def _decoding(model):
    """Eval mode and no autograd while decoding; the model's training flag comes back after."""
    model_was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(model_was_training)


# --- checks -----------------------------------------------------------------------------

def _check_arguments(n: int, temperature: float, top_p: float, max_new_tokens: int,
                     batch_size: int) -> None:
    if n < 1 or max_new_tokens < 1 or batch_size < 1:
        raise ValueError(f"n ({n}), max_new_tokens ({max_new_tokens}) and batch_size "
                         f"({batch_size}) must be positive")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")


def _check_context(model, encoded: list[list[int]], max_new_tokens: int) -> None:
    """Fail before any work: positions past the context would silently be garbage."""
    if not encoded:
        return
    longest = max(map(len, encoded))
    context = int(model.config.max_position_embeddings)
    if longest + max_new_tokens > context:
        raise ValueError(
            f"longest prompt ({longest} tokens incl. bos) + max_new_tokens ({max_new_tokens}) "
            f"= {longest + max_new_tokens} exceeds the model's context length ({context})")


def _encode_prompts(tokenizer, prompts: list[str]) -> list[list[int]]:
    # The tokenizer's own special tokens: for ours that is bos + one token per character,
    # the layout of pretraining and SFT.
    return tokenizer(list(prompts), add_special_tokens=True)["input_ids"] if prompts else []


def _eos_id(model, tokenizer) -> int:
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else model.config.eos_token_id
    if isinstance(eos, list):  # some configs list several; ours has one
        eos = eos[0]
    if eos is None:
        raise ValueError("neither the tokenizer nor the model config defines an eos token")
    return int(eos)


# --- batching ---------------------------------------------------------------------------

def _chunks(n_prompts: int, n: int, batch_size: int):
    """Rows in prompt-major order (prompt 0's samples, then prompt 1's ...), cut every batch_size."""
    total = n_prompts * n
    for start in range(0, total, batch_size):
        flat = torch.arange(start, min(start + batch_size, total))
        yield _Chunk(prompt_index=flat // n, sample_id=flat % n)


def _left_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, rows))
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        input_ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
        attention_mask[i, width - len(row):] = 1
    return input_ids, attention_mask


def _generate_chunk(model, encoded, chunk: _Chunk, uniforms: torch.Tensor, temperature: float,
                    top_p: float, eos_id: int, pad_id: int, stop_ids: torch.Tensor | None = None,
                    text_stops: _TextStops | None = None):
    """Tokens (rows x max_new_tokens, pad after the end), lengths without eos, stopped flags.

    ``stop_ids``: every token id that ends a row (default: ``eos_id``); a stopped row's stop
    token is at ``tokens[row, length]``. ``text_stops``: rows whose text holds a stop
    string leave the batch (checked every few steps) with ``stopped`` False and ``length``
    all tokens generated so far; :func:`_stop_frame` then cuts them at the string.
    """
    rows, max_new_tokens = uniforms.shape
    device = model.device
    uniforms = uniforms.to(device)
    tokens = torch.full((rows, max_new_tokens), pad_id, dtype=torch.long, device=device)
    lengths = torch.full((rows,), max_new_tokens, dtype=torch.long, device=device)
    stopped = torch.zeros(rows, dtype=torch.bool, device=device)
    decoder = _make_decoder(model, encoded, chunk, pad_id, max_new_tokens)
    logits = decoder.logits
    batch_rows = torch.arange(rows, device=device)  # the chunk row of each batch row
    live = torch.ones(rows, dtype=torch.bool, device=device)  # batch rows still generating
    for step in range(max_new_tokens):
        next_tokens = choose_tokens(logits, uniforms[batch_rows, step], temperature, top_p)
        tokens[batch_rows[live], step] = next_tokens[live]
        if stop_ids is None:
            newly_done = live & (next_tokens == eos_id)
        else:
            newly_done = live & torch.isin(next_tokens, stop_ids)
        lengths[batch_rows[newly_done]] = step
        stopped[batch_rows[newly_done]] = True
        live &= ~newly_done
        if text_stops is not None and (step + 1) % text_stops.EVERY == 0 and bool(live.any()):
            live_at = live.nonzero().squeeze(1)
            hit = text_stops.rows_hit(tokens, batch_rows[live_at], step + 1)
            lengths[batch_rows[live_at[hit]]] = step + 1
            live[live_at[hit]] = False
        n_live = int(live.sum())
        if n_live == 0 or step + 1 == max_new_tokens:
            break
        if n_live <= len(live) * COMPACT_BELOW:
            # Finished rows leave the batch and the cache; done only once enough have finished,
            # since each compaction copies the cache (finished rows meanwhile compute junk).
            keep = live.nonzero().squeeze(1)
            batch_rows, next_tokens, live = batch_rows[keep], next_tokens[keep], live[keep]
            decoder.select(keep)
        logits = decoder.step(next_tokens)
    return tokens.cpu(), lengths.cpu(), stopped.cpu()


def _make_decoder(model, encoded, chunk: _Chunk, pad_id: int, max_new_tokens: int):
    unique, row_prompt = torch.unique_consecutive(chunk.prompt_index, return_inverse=True)
    input_ids, attention_mask = _left_pad([encoded[int(i)] for i in unique], pad_id)
    args = (model, input_ids.to(model.device), attention_mask.to(model.device),
            row_prompt.to(model.device), max_new_tokens)
    if _SharedPrefixDecoder.supports(model):
        return _SharedPrefixDecoder(*args)
    return _GenericDecoder(*args)


def _prompt_positions(attention_mask: torch.Tensor) -> torch.Tensor:
    # Left padding: positions count real tokens only, as in pretraining (pads get 0; masked).
    return (attention_mask.cumsum(-1) - 1).clamp(min=0)


class _GenericDecoder:
    """Any causal LM through its own forward, with a preallocated KV cache.

    Each distinct prompt is prefilled once and its cache copied to its rows. Rows are
    ``row_prompt``'s positions; ``step`` feeds one token per row and returns next logits.
    """

    def __init__(self, model, input_ids, attention_mask, row_prompt, max_new_tokens: int):
        self.model = model
        position_ids = _prompt_positions(attention_mask)
        self.width = input_ids.shape[1]
        self.cache = Cache(layer_class_to_replicate=partial(
            _PreallocatedLayer, self.width + max_new_tokens))
        out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                    past_key_values=self.cache, use_cache=True, logits_to_keep=1)
        if len(row_prompt) != len(input_ids):
            self.cache.batch_select_indices(row_prompt)
        self.logits = out.logits[:, -1, :].float()[row_prompt]
        # The mask already holds ones for every token to come; each step uses a prefix of it.
        full_mask = torch.cat([attention_mask, attention_mask.new_ones((len(input_ids), max_new_tokens))], 1)
        self.attention_mask = full_mask[row_prompt]
        self.position = position_ids[:, -1][row_prompt] + 1
        self.generated = 0

    def select(self, keep: torch.Tensor) -> None:
        self.attention_mask, self.position = self.attention_mask[keep], self.position[keep]
        self.cache.batch_select_indices(keep)

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        self.generated += 1
        out = self.model(input_ids=tokens[:, None],
                         attention_mask=self.attention_mask[:, :self.width + self.generated],
                         position_ids=self.position[:, None], past_key_values=self.cache, use_cache=True)
        self.position = self.position + 1
        return out.logits[:, -1, :].float()


class _PreallocatedLayer(DynamicLayer):
    """A KV cache layer with room for the whole generation, written in place.

    transformers' DynamicLayer concatenates every step, copying the whole cache each time
    (a third of the sampling time on the tiny models).
    """

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity, self.length = capacity, 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self.dtype, self.device = key_states.dtype, key_states.device
        self.keys = key_states.new_empty((*key_states.shape[:2], self.capacity, key_states.shape[3]))
        self.values = value_states.new_empty((*value_states.shape[:2], self.capacity, value_states.shape[3]))
        self.is_initialized = True

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        self.keys[:, :, self.length:end] = key_states
        self.values[:, :, self.length:end] = value_states
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]

    def get_seq_length(self) -> int:
        return self.length

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.is_initialized:
            self.keys, self.values = self.keys[indices], self.values[indices]


class _SharedPrefixDecoder:
    """Decode steps for Llama models, written out from the model's own modules, where the
    samples of a prompt share that prompt's keys and values.

    With n samples per prompt most of a row's KV cache is its prompt's: keeping it once per
    distinct prompt (instead of once per row) cuts the memory attention reads each step and
    the copies when finished rows are dropped, which dominate sampling on CPU. The prompt is
    prefilled with the model's ordinary forward; later steps reuse its norms, projections,
    rotary embedding and MLP, so only the attention arithmetic is ours. Tests check the
    logits against the model's forward.
    """

    # Sharing pays when a chunk has few prompts with many rows each (one small matmul per
    # prompt per layer); otherwise each row gets a copy of its prompt's keys once.
    MAX_SHARED_PROMPTS = 32
    MIN_SHARED_ROWS = 8

    @staticmethod
    def supports(model) -> bool:
        # Only the architecture whose layer structure _attention/step mirror (tested), and
        # only on CPU: on a GPU the per-prompt matmuls cost kernel launches and the generic
        # path was 1.6-2x faster (H100, tiny models).
        return type(model).__name__ == "LlamaForCausalLM" and model.device.type == "cpu"

    def __init__(self, model, input_ids, attention_mask, row_prompt, max_new_tokens: int):
        self.model, self.inner = model, model.model
        config = model.config
        self.kv_heads = config.num_key_value_heads
        self.group = config.num_attention_heads // config.num_key_value_heads
        position_ids = _prompt_positions(attention_mask)
        out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                    use_cache=True, logits_to_keep=1)
        self.logits = out.logits[:, -1, :].float()[row_prompt]
        # (prompts, kv heads, W, D); zeroed on left padding so that masked positions give
        # exact zeros, never NaN from whatever the model computed for pads.
        padding = (attention_mask == 0)[:, None, :, None]
        cache = out.past_key_values
        self.prompt_keys = [layer.keys.masked_fill(padding, 0.0) for layer in cache.layers]
        self.prompt_values = [layer.values.masked_fill(padding, 0.0) for layer in cache.layers]
        # Additive mask over prompt positions: -inf on left padding.
        self.prompt_bias = torch.zeros(attention_mask.shape, dtype=self.logits.dtype, device=input_ids.device)
        self.prompt_bias.masked_fill_(attention_mask == 0, float("-inf"))
        prompts, rows = len(input_ids), len(row_prompt)
        self.shared = prompts <= self.MAX_SHARED_PROMPTS and rows >= self.MIN_SHARED_ROWS * prompts
        if not self.shared:  # give each row its own copy once, then treat rows as prompts
            self.prompt_keys = [k[row_prompt] for k in self.prompt_keys]
            self.prompt_values = [v[row_prompt] for v in self.prompt_values]
            self.prompt_bias = self.prompt_bias[row_prompt]
        self.row_prompt = row_prompt
        self.segment_sizes = torch.bincount(row_prompt, minlength=prompts).tolist()
        self.position = position_ids[:, -1][row_prompt] + 1
        # Generated keys/values per layer in zeroed blocks of BLOCK_SLOTS slots, one more
        # block when the last is full. Attention runs over whole blocks with unwritten slots
        # masked: batched matmuls over a strided slice, or copying the slice each step, were
        # several times slower on CPU.
        self.block_shape = (len(row_prompt), self.kv_heads, min(BLOCK_SLOTS, max_new_tokens),
                            self.prompt_keys[0].shape[-1])
        self.keys = [[] for _ in self.prompt_keys]  # per layer, its blocks
        self.values = [[] for _ in self.prompt_keys]
        self.generated = 0

    def select(self, keep: torch.Tensor) -> None:
        self.row_prompt, self.position = self.row_prompt[keep], self.position[keep]
        self.segment_sizes = torch.bincount(self.row_prompt, minlength=len(self.segment_sizes)).tolist()
        self.keys = [[k.index_select(0, keep) for k in blocks] for blocks in self.keys]
        self.values = [[v.index_select(0, keep) for v in blocks] for blocks in self.values]
        self.block_shape = (len(keep), *self.block_shape[1:])
        if not self.shared:
            self.prompt_keys = [k.index_select(0, keep) for k in self.prompt_keys]
            self.prompt_values = [v.index_select(0, keep) for v in self.prompt_values]
            self.prompt_bias = self.prompt_bias.index_select(0, keep)

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        slots = self.block_shape[2]
        capacity = slots * len(self.keys[0])
        if self.generated == capacity:
            for blocks in (*self.keys, *self.values):
                blocks.append(self.prompt_keys[0].new_zeros(self.block_shape))
            capacity += slots
        hidden = self.inner.embed_tokens(tokens)  # (rows, hidden)
        cos, sin = self.inner.rotary_emb(hidden, self.position[:, None])  # (rows, 1, head_dim)
        prompt_bias = self.prompt_bias if not self.shared else self.prompt_bias[self.row_prompt]
        own_bias = torch.zeros(capacity, dtype=prompt_bias.dtype, device=tokens.device)
        own_bias[self.generated + 1:] = float("-inf")  # slots not yet written
        bias = torch.cat([prompt_bias, own_bias.expand(len(tokens), -1)], dim=1)[:, None, None, :]
        for index, layer in enumerate(self.inner.layers):
            attended = self._attention(index, layer.self_attn, layer.input_layernorm(hidden),
                                       cos, sin, bias)
            hidden = hidden + attended
            hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
        self.generated += 1
        self.position = self.position + 1
        return self.model.lm_head(self.inner.norm(hidden)).float()

    def _attention(self, index: int, attn, x: torch.Tensor, cos, sin, bias) -> torch.Tensor:
        """One query per row over [its prompt's keys | its generated keys]; query heads are
        laid out (kv head, group) as in transformers' ``repeat_kv``."""
        rows = x.shape[0]
        block, slot = divmod(self.generated, self.block_shape[2])
        query = attn.q_proj(x).view(rows, self.kv_heads, self.group, -1)
        key = attn.k_proj(x).view(rows, self.kv_heads, 1, -1)
        value = attn.v_proj(x).view(rows, self.kv_heads, -1)
        query, key = apply_rotary_pos_emb(query, key, cos, sin, unsqueeze_dim=1)
        keys, values = self.keys[index], self.values[index]
        keys[block][:, :, slot] = key[:, :, 0]
        values[block][:, :, slot] = value
        prompt_scores = self._prompt_scores(query, self.prompt_keys[index])
        own_scores = [torch.matmul(query, k.transpose(2, 3)) for k in keys]
        scores = torch.cat([prompt_scores, *own_scores], -1) * attn.scaling + bias
        weights = torch.softmax(scores, -1, dtype=torch.float32).to(query.dtype)
        parts = weights.split([prompt_scores.shape[-1], *(k.shape[2] for k in keys)], -1)
        out = self._prompt_mix(parts[0], self.prompt_values[index])
        for part, v in zip(parts[1:], values):
            out = out + torch.matmul(part, v)
        return attn.o_proj(out.reshape(rows, -1))

    def _prompt_scores(self, query: torch.Tensor, prompt_keys: torch.Tensor) -> torch.Tensor:
        if not self.shared:
            return torch.einsum("bgrd,bgwd->bgrw", query, prompt_keys)
        # Rows stay grouped by prompt (prompt-major order, kept by compaction): a matmul per
        # prompt against its keys, never copying them to rows.
        if self._equal_segments():
            return self._per_prompt(query, prompt_keys.transpose(2, 3))
        return torch.cat([torch.einsum("bgrd,gwd->bgrw", part, prompt_keys[u])
                          for u, part in self._segments(query)])

    def _prompt_mix(self, weights: torch.Tensor, prompt_values: torch.Tensor) -> torch.Tensor:
        if not self.shared:
            return torch.einsum("bgrw,bgwd->bgrd", weights, prompt_values)
        if self._equal_segments():
            return self._per_prompt(weights, prompt_values)
        return torch.cat([torch.einsum("bgrw,gwd->bgrd", part, prompt_values[u])
                          for u, part in self._segments(weights)])

    def _equal_segments(self) -> bool:
        """Every prompt still has the same number of rows (no row finished yet, n a divisor
        or multiple of the chunk): then one batched matmul does all prompts at once."""
        return len(set(self.segment_sizes)) == 1

    def _per_prompt(self, rows: torch.Tensor, per_prompt: torch.Tensor) -> torch.Tensor:
        """``rows`` (R, kv heads, group, X) times each row's prompt's ``per_prompt`` matrix
        (prompts, kv heads, X, Y), as one matmul over (prompt, kv head): (R, kv heads, group, Y)."""
        prompts, heads = per_prompt.shape[:2]
        grouped = rows.view(prompts, -1, *rows.shape[1:]).transpose(1, 2)  # (P, H, S, G, X)
        size = grouped.shape[2:4]
        out = torch.matmul(grouped.reshape(prompts, heads, -1, rows.shape[-1]), per_prompt)
        return out.view(prompts, heads, *size, -1).transpose(1, 2).reshape(*rows.shape[:3], -1)

    def _segments(self, tensor: torch.Tensor):
        """(prompt, that prompt's rows of ``tensor``) for each prompt with rows left."""
        parts = tensor.split(self.segment_sizes)
        return [(u, part) for u, part in enumerate(parts) if len(part)]


# --- choosing tokens ---------------------------------------------------------------------

def choose_tokens(logits: torch.Tensor, uniforms: torch.Tensor, temperature: float,
                  top_p: float) -> torch.Tensor:
    """One token per row: argmax when ``temperature == 0``, else a draw from the tempered,
    nucleus-filtered softmax by inverse CDF with the row's own uniform in [0, 1)."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        probs = _nucleus(probs, top_p)
    cdf = probs.cumsum(dim=-1)
    # Scaled by the row's total so rounding in the cumsum can never push a draw off the end;
    # zero-probability tokens have empty CDF intervals and are never chosen.
    targets = uniforms.to(cdf.dtype)[:, None] * cdf[:, -1:]
    picked = torch.searchsorted(cdf, targets, right=True).squeeze(1)
    return picked.clamp(max=probs.shape[-1] - 1)


def _nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose mass reaches ``top_p`` (the top
    token always stays), zero the rest; the CDF sampler renormalises."""
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)
    return torch.zeros_like(probs).scatter(-1, order, sorted_probs)


# --- output ------------------------------------------------------------------------------

def _chunk_frame(tokenizer, chunk: _Chunk, tokens: torch.Tensor, lengths: torch.Tensor,
                 stopped: torch.Tensor) -> pd.DataFrame:
    length_list = lengths.tolist()
    ids = [row[:length] for row, length in zip(tokens.tolist(), length_list)]
    return pd.DataFrame({
        "prompt_index": chunk.prompt_index.numpy().astype("int64"),
        "sample_id": chunk.sample_id.numpy().astype("int64"),
        "completion": tokenizer.batch_decode(ids, skip_special_tokens=True),
        "finish_reason": ["stop" if s else "length" for s in stopped.tolist()],
        "completion_tokens": pd.array(length_list, dtype="int64"),
    })


class _TextStops:
    """Stop strings checked during decoding: every ``EVERY`` steps the last tokens of each
    live row are decoded and searched (a window long enough for the longest string: a
    character is at most 4 bytes, a token at least one), and a hit is confirmed on the
    row's whole text. Only saves work: :func:`_stop_frame` finds the exact stop afterwards,
    as vLLM would have stopped (the stop string completing first)."""

    EVERY = 8

    def __init__(self, tokenizer, strings: list[str]):
        self.tokenizer, self.strings = tokenizer, [s for s in strings if s]
        self.window = self.EVERY + 4 * max(map(len, self.strings), default=1) + 8

    def found(self, texts: list[str]) -> list[bool]:
        return [any(s in text for s in self.strings) for text in texts]

    def rows_hit(self, tokens: torch.Tensor, rows: torch.Tensor, generated: int) -> torch.Tensor:
        start = max(0, generated - self.window)
        tails = tokens[rows, start:generated].tolist()
        hit = self.found(self.tokenizer.batch_decode(tails, skip_special_tokens=True))
        if any(hit) and start > 0:
            picked = [i for i, h in enumerate(hit) if h]
            whole = tokens[rows[picked], :generated].tolist()
            for i, ok in zip(picked, self.found(self.tokenizer.batch_decode(
                    whole, skip_special_tokens=True))):
                hit[i] = ok
        return torch.tensor(hit, dtype=torch.bool, device=rows.device)


def first_stop_string(text: str, strings: list[str]) -> tuple[int, str] | None:
    """(start, string) of the stop string that completes first in ``text`` (ties: the first
    in ``strings``), or None: the one vLLM stops at (vllm.v1.engine.detokenizer's
    check_stop_strings)."""
    best = None
    for string in strings:
        if not string:
            continue
        start = text.find(string)
        if start >= 0 and (best is None or start + len(string) < best[0] + len(best[1])):
            best = (start, string)
    return best


def _tokens_until(tokenizer, ids: list[int], string: str) -> int:
    """The fewest leading tokens of ``ids`` whose text holds ``string``."""
    low, high = 1, len(ids)
    while low < high:
        middle = (low + high) // 2
        if string in tokenizer.decode(ids[:middle], skip_special_tokens=True):
            high = middle
        else:
            low = middle + 1
    return low


def _stop_frame(tokenizer, chunk: _Chunk, tokens: torch.Tensor, lengths: torch.Tensor,
                stopped: torch.Tensor, stop_strings: list[str]) -> pd.DataFrame:
    """:func:`_chunk_frame` with stop rules: the text before the first stop string, the
    reason each sample ended, and tokens counted as vLLM counts them."""
    rows = tokens.tolist()
    ids = [row[:length] for row, length in zip(rows, lengths.tolist())]
    texts = tokenizer.batch_decode(ids, skip_special_tokens=True)
    completions, finish, counts, reasons = [], [], [], []
    for row, row_ids, text, stop in zip(rows, ids, texts, stopped.tolist()):
        fired = first_stop_string(text, stop_strings)
        if fired is not None:
            start, string = fired
            completions.append(text[:start])
            finish.append("stop")
            counts.append(_tokens_until(tokenizer, row_ids, string))
            reasons.append(string)
        elif stop:
            completions.append(text)
            finish.append("stop")
            counts.append(len(row_ids) + 1)
            reasons.append(f"eos:{row[len(row_ids)]}")
        else:
            completions.append(text)
            finish.append("length")
            counts.append(len(row_ids))
            reasons.append("length")
    return pd.DataFrame({
        "prompt_index": chunk.prompt_index.numpy().astype("int64"),
        "sample_id": chunk.sample_id.numpy().astype("int64"),
        "completion": completions,
        "finish_reason": finish,
        "completion_tokens": pd.array(counts, dtype="int64"),
        STOP_REASON: reasons,
    })


def _log_progress(done: int, total: int, started: float) -> None:
    log.info("sampled sequences %s", progress_line(done, total, started))
