"""Sampling a real checkpoint on a real benchmark, with any backend, into the sample schema.

Backends: ``vllm`` (GPU; its own environment, envs/sample-vllm.yaml), ``vllm-cpu`` (the
same code on vLLM's CPU build) and ``hf`` (transformers via :mod:`sampling`, CPU or one
GPU). All return ``problem_id, sample_id, completion, finish_reason, completion_tokens``,
so grading and pass@k never know which backend ran.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .benchmarks import apply_template

log = logging.getLogger(__name__)
BACKENDS = ("vllm", "vllm-cpu", "hf")


def shard_problems(problems: pd.DataFrame, shards: int, shard: int) -> pd.DataFrame:
    """Shard ``shard`` of ``shards``: a contiguous range of problems (here and in the tiny
    world's :mod:`.tiny_world`)."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of 0..{shards - 1}")
    return problems.iloc[np.array_split(np.arange(len(problems)), shards)[shard]]


def sample_problems(model_path: str, problems: pd.DataFrame, template: str, n: int,
                    temperature: float, settings: dict, seed: int, device: str = "cpu",
                    gpus: int = 1) -> pd.DataFrame:
    """n samples per problem from the model at ``model_path`` with ``settings`` (the
    config's ``sampling`` block: backend, top_p, max_new_tokens, max_model_len, dtype, stop,
    batch_size)."""
    backend = settings["backend"]
    if backend not in BACKENDS:
        raise ValueError(f"sampling.backend {backend!r}: choose one of {BACKENDS}")
    prompts = [apply_template(template, q) for q in problems.question]
    log.info("%s backend: %d problems x n=%d at T=%s, up to %d new tokens", backend,
             len(prompts), n, temperature, settings["max_new_tokens"])
    if backend == "hf":
        samples = _sample_hf(model_path, prompts, n, temperature, settings, seed, device)
    else:
        samples = _sample_vllm(model_path, prompts, n, temperature, settings, seed, gpus)
    samples.insert(0, "problem_id", problems.problem_id.to_numpy()[samples.pop("prompt_index")])
    truncated = int((samples.finish_reason == "length").sum())
    log.info("%d samples, %d truncated at max_new_tokens", len(samples), truncated)
    return samples


def _sample_hf(model_path, prompts, n, temperature, settings, seed, device) -> pd.DataFrame:
    from ..models.modeling import load_checkpoint
    from .generate import DEFAULT_BATCH_SIZE, sample_completions

    model, tokenizer = load_checkpoint(model_path, device, settings.get("dtype", "float32"))
    return sample_completions(model, tokenizer, prompts, n, temperature, settings["top_p"],
                              settings["max_new_tokens"], seed,
                              settings.get("batch_size", DEFAULT_BATCH_SIZE))


def _sample_vllm(model_path, prompts, n, temperature, settings, seed, gpus) -> pd.DataFrame:
    from .vllm_engine import make_llm, sample_completions_vllm

    engine = dict(settings.get("engine") or {})
    if settings["backend"] == "vllm-cpu":
        engine.setdefault("enforce_eager", True)  # no CUDA graphs on CPU
    llm = make_llm(model_path, seed, int(settings["max_model_len"]),
                   tensor_parallel_size=max(1, gpus), dtype=settings.get("dtype", "auto"),
                   **engine)
    try:
        return sample_completions_vllm(llm, prompts, n, temperature, settings["top_p"],
                                       settings["max_new_tokens"], settings.get("stop"))
    finally:
        # Stop the engine's worker processes now rather than at interpreter exit.
        llm.llm_engine.engine_core.shutdown()
