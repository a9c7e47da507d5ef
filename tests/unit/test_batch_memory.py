"""The hf backend's rows per chunk on a GPU, from its free memory and the model's KV cache
(sampling.batch_memory), checked with made-up memory numbers: no GPU needed."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import torch
from transformers import LlamaConfig, Qwen2Config

from rlvr_boundary.sampling import batch_memory
from rlvr_boundary.sampling.batch_memory import (
    SAFETY, chunk_bytes, cuda_batch_size, fitting_rows, kv_bytes_per_token, row_bytes,
    steady_floor)
from rlvr_boundary.sampling import generate
from rlvr_boundary.sampling.generate import sample_completions
from tiny_models import tiny_world_model

GB = 10**9
# A tiny Llama: 2 layers x 2 KV heads x head dim 16 (64 / 4 heads).
TINY = LlamaConfig(vocab_size=100, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096)
# Qwen2.5-7B's shape: 28 layers x 4 KV heads x head dim 128, a 152,064-token vocabulary.
QWEN_7B = Qwen2Config(vocab_size=152064, hidden_size=3584, intermediate_size=18944,
                      num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4)


def _model(config, device: str, dtype=torch.bfloat16):
    return SimpleNamespace(config=config, device=torch.device(device), dtype=dtype)


def test_kv_cache_bytes_per_token():
    # layers x KV heads x head dim x 2 (keys, values) x dtype bytes
    assert kv_bytes_per_token(TINY, 2) == 2 * 2 * 16 * 2 * 2 == 256
    assert kv_bytes_per_token(TINY, 4) == 512
    assert kv_bytes_per_token(QWEN_7B, 2) == 28 * 4 * 128 * 2 * 2 == 57344
    # No num_key_value_heads (multi-head attention): every head keeps its keys and values.
    mha = SimpleNamespace(num_hidden_layers=3, num_attention_heads=8, hidden_size=256)
    assert kv_bytes_per_token(mha, 2) == 3 * 8 * 32 * 2 * 2


def test_steady_floor():
    assert [steady_floor(r) for r in [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 191, 192, 255]] == \
        [1, 2, 3, 4, 4, 6, 6, 8, 8, 12, 12, 128, 192, 192]


@pytest.mark.parametrize("free_gb", [3, 10, 40, 70])
@pytest.mark.parametrize("n", [1, 16, 256])
def test_the_rows_chosen_fit_the_free_memory_and_no_steady_step_more_would(free_gb, n):
    memory = row_bytes(QWEN_7B, 2, prompt_tokens=700, max_new_tokens=4096)
    rows = fitting_rows(int(free_gb * GB), memory, n, upper=10**6)
    assert chunk_bytes(memory, rows, n) <= SAFETY * free_gb * GB
    bigger = next(r for r in range(rows + 1, 4 * rows + 3) if steady_floor(r) == r)
    assert chunk_bytes(memory, bigger, n) > SAFETY * free_gb * GB


def test_a_worked_example_and_the_configured_size_as_upper_bound():
    # Qwen2.5-7B in bf16, 512-token prompts, 4,096 new tokens, 60 GB free: a row's KV cache
    # is 57,344 B x 4,608 = 264 MB, its sampling buffers 152,064 x 48 B = 7.3 MB; 0.8 x 60 GB
    # holds 173 rows (with the prompts' prefill), rounded down to 128.
    memory = row_bytes(QWEN_7B, 2, prompt_tokens=512, max_new_tokens=4096)
    assert memory.per_row == 57344 * 4608 + 152064 * 48 + 12 * 4096
    assert fitting_rows(60 * GB, memory, n=256, upper=2048) == 128
    assert fitting_rows(60 * GB, memory, n=256, upper=100) == 100  # configured: the most
    # Fewer new tokens, more rows; less memory, fewer.
    assert fitting_rows(60 * GB, row_bytes(QWEN_7B, 2, 512, 1024), 256, 2048) == 384
    assert fitting_rows(20 * GB, memory, n=256, upper=2048) == 48
    # Not one row fits: one row (the sampler's own out-of-memory error then says so).
    assert fitting_rows(GB // 10, memory, n=256, upper=2048) == 1


def test_on_cuda_the_free_memory_decides_and_the_choice_is_logged(monkeypatch, caplog):
    calls = []

    def free(device):
        calls.append(device)
        return 2 * GB

    monkeypatch.setattr(batch_memory, "free_cuda_bytes", free)
    encoded = [[1] * 300, [1] * 512, [2] * 10]
    with caplog.at_level(logging.INFO, logger=batch_memory.__name__):
        rows = cuda_batch_size(_model(QWEN_7B, "cuda"), encoded, n=64, max_new_tokens=4096,
                               configured=2048)
    assert calls == [torch.device("cuda")]
    assert rows == fitting_rows(2 * GB, row_bytes(QWEN_7B, 2, 512, 4096), 64, 2048) == 3
    assert "batch of 3 rows on cuda (sampling.batch_size 2048 the most)" in caplog.text
    assert "KV cache 57344 bytes/token x (512 prompt + 4096 new tokens)" in caplog.text
    # The tiny world's model on a GPU: the configured size, far below what fits.
    assert cuda_batch_size(_model(TINY, "cuda", torch.float32), encoded, 8, 64, 512) == 512
    # Not even one row: a warning.
    caplog.clear()
    assert cuda_batch_size(_model(QWEN_7B, "cuda"), encoded, 1, 4096, 2048, free_bytes=GB // 10) == 1
    assert "expect CUDA out of memory" in caplog.text


def test_on_a_cpu_the_configured_size_is_used_as_is(monkeypatch):
    monkeypatch.setattr(batch_memory, "free_cuda_bytes", lambda device: pytest.fail("asked"))
    assert cuda_batch_size(_model(QWEN_7B, "cpu"), [[1] * 512], 256, 4096, 2048) == 2048
    assert cuda_batch_size(_model(TINY, "cpu", torch.float32), [[1] * 9], 4, 8, 7) == 7


def test_the_sampler_asks_for_the_rows_per_chunk(monkeypatch):
    # sample_completions cuts its rows into chunks of what cuda_batch_size returns (here,
    # on a CPU, forced to 3 of the configured 64): same samples, as any chunking gives.
    model, tokenizer = tiny_world_model(seed=3)
    asked = []

    def three(model, encoded, n, max_new_tokens, configured, free_bytes=None):
        asked.append((len(encoded), n, max_new_tokens, configured))
        return 3

    prompts = ["1+2=", "3+4=", "5+6="]
    expected = sample_completions(model, tokenizer, prompts, 4, 1.0, 1.0, 6, seed=5, batch_size=64)
    chunks = []
    original = generate._chunks
    monkeypatch.setattr(generate, "cuda_batch_size", three)
    monkeypatch.setattr(generate, "_chunks", lambda *a: chunks.append(a) or original(*a))
    samples = sample_completions(model, tokenizer, prompts, 4, 1.0, 1.0, 6, seed=5, batch_size=64)
    assert asked == [(3, 4, 6, 64)] and chunks == [(3, 4, 3)]
    assert samples.equals(expected)
