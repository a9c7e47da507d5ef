"""Sampling with vLLM: the same output schema as :func:`sampling.sample_completions`.

One ``LLM.generate`` call per job with ``SamplingParams(n=...)``: vLLM batches and
schedules the prompts itself. Randomness comes from the engine seed (``LLM(seed=...)``,
one per job) and NOT from a per-request ``SamplingParams(seed=...)``: a per-request seed
made the n samples of one request correlated (sampled accuracy swung 0.935-0.959 by seed
around the exact 0.966; docs/tiny_world.md), and pass@k assumes independent samples.

Before any generation the backend refuses to start when the engine's context is shorter
than the longest prompt plus ``max_new_tokens`` (an early version of the paper's code
silently truncated this way). vLLM is imported lazily: the module loads without it.
"""

from __future__ import annotations

import logging

import pandas as pd

from .generate import SAMPLE_COLUMNS, STOP_REASON

log = logging.getLogger(__name__)

FINISH_REASONS = {"stop": "stop", "length": "length"}


def check_context_fits(prompt_lengths: list[int], max_new_tokens: int, max_model_len: int) -> None:
    """Refuse to sample when the longest prompt plus max_new_tokens exceeds the context."""
    if not prompt_lengths:
        return
    longest = max(prompt_lengths)
    if longest + max_new_tokens > max_model_len:
        raise ValueError(
            f"longest prompt ({longest} tokens) + max_new_tokens ({max_new_tokens}) = "
            f"{longest + max_new_tokens} exceeds the engine's max_model_len ({max_model_len}): "
            "samples would be cut short silently; raise max_model_len or lower max_new_tokens")


def sampling_params(n: int, temperature: float, top_p: float, max_new_tokens: int,
                    stop: list[str] | None = None, stop_token_ids: list[int] | None = None):
    """vLLM SamplingParams; greedy (temperature 0) asks for one sample and repeats it.
    No per-request seed (see the module docstring). ``stop``: stop strings and
    ``stop_token_ids``: ids ending a sample besides the model's eos (the paper's
    math_eval.py stops on both, per prompt template; :mod:`.checkpoints`)."""
    from vllm import SamplingParams

    if temperature < 0 or not 0 < top_p <= 1 or n < 1 or max_new_tokens < 1:
        raise ValueError(f"bad sampling settings n={n} T={temperature} top_p={top_p} "
                         f"max_new_tokens={max_new_tokens}")
    stops = {"stop": stop, "stop_token_ids": list(stop_token_ids) if stop_token_ids else None}
    if temperature == 0:
        return SamplingParams(n=1, temperature=0.0, max_tokens=max_new_tokens, **stops)
    return SamplingParams(n=n, temperature=temperature, top_p=top_p, max_tokens=max_new_tokens,
                          **stops)


def make_llm(model_path: str, seed: int, max_model_len: int, tensor_parallel_size: int = 1,
             dtype: str = "auto", enforce_eager: bool = False, **engine_args):
    """The engine for one sampling job; ``tensor_parallel_size`` = the GPUs the job holds."""
    from vllm import LLM

    return LLM(model=model_path, seed=seed, max_model_len=max_model_len,
               tensor_parallel_size=tensor_parallel_size, dtype=dtype,
               enforce_eager=enforce_eager, **engine_args)


def stop_reason(sample) -> str:
    """Which stop ended a vLLM CompletionOutput: its stop string, ``eos:<id>`` (a stop token
    id, or the tokenizer's eos, which vLLM reports as None and keeps as the last token id)
    or ``length``."""
    if sample.finish_reason == "length":
        return "length"
    if isinstance(sample.stop_reason, str):
        return sample.stop_reason
    if sample.stop_reason is not None:
        return f"eos:{int(sample.stop_reason)}"
    return f"eos:{int(sample.token_ids[-1])}" if len(sample.token_ids) else "eos:"


def outputs_to_frame(outputs, n: int, stop_reasons: bool = False) -> pd.DataFrame:
    """vLLM RequestOutputs (one per prompt, in prompt order) as SAMPLE_COLUMNS rows,
    ordered by prompt then sample; a single greedy output is repeated n times.
    ``stop_reasons``: add the ``stop_reason`` column (:func:`stop_reason`)."""
    rows = []
    for prompt_index, request in enumerate(outputs):
        samples = list(request.outputs)
        if len(samples) == 1 and n > 1:
            samples = samples * n
        if len(samples) != n:
            raise ValueError(f"prompt {prompt_index}: {len(samples)} outputs, expected {n}")
        for sample_id, sample in enumerate(samples):
            reason = FINISH_REASONS.get(sample.finish_reason)
            if reason is None:
                raise ValueError(f"prompt {prompt_index}: finish_reason {sample.finish_reason!r}")
            rows.append((prompt_index, sample_id, sample.text, reason, len(sample.token_ids))
                        + ((stop_reason(sample),) if stop_reasons else ()))
    frame = pd.DataFrame(rows, columns=SAMPLE_COLUMNS + ([STOP_REASON] if stop_reasons else []))
    return frame.astype({"prompt_index": "int64", "sample_id": "int64", "completion_tokens": "int64"})


def sample_completions_vllm(llm, prompts: list[str], n: int, temperature: float, top_p: float,
                            max_new_tokens: int, stop: list[str] | None = None,
                            stop_token_ids: list[int] | None = None,
                            prompt_ids: list[list[int]] | None = None,
                            stop_reasons: bool = False) -> pd.DataFrame:
    """``n`` completions per prompt from an engine made by :func:`make_llm`. ``prompt_ids``:
    the prompts already tokenised (the engine then gets exactly these ids, e.g. without a
    second BOS); ``stop_reasons``: add the ``stop_reason`` column."""
    params = sampling_params(n, temperature, top_p, max_new_tokens, stop, stop_token_ids)
    columns = SAMPLE_COLUMNS + ([STOP_REASON] if stop_reasons else [])
    if not prompts:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("prompt_index", "sample_id",
                                                                  "completion_tokens")
                                          else object) for c in columns})
    if prompt_ids is None:
        tokenizer = llm.get_tokenizer()
        # The same tokens the engine will see (special tokens as the tokenizer adds them).
        lengths = [len(ids) for ids in tokenizer(list(prompts), add_special_tokens=True)["input_ids"]]
        requests = list(prompts)
    else:
        if len(prompt_ids) != len(prompts):
            raise ValueError(f"{len(prompt_ids)} prompt_ids for {len(prompts)} prompts")
        lengths = [len(ids) for ids in prompt_ids]
        requests = [{"prompt_token_ids": [int(i) for i in ids]} for ids in prompt_ids]
    check_context_fits(lengths, max_new_tokens, int(llm.llm_engine.model_config.max_model_len))
    outputs = llm.generate(requests, params, use_tqdm=False)
    frame = outputs_to_frame(outputs, n, stop_reasons)
    log.info("vLLM: %d prompts x %d samples, %d truncated", len(prompts), n,
             int((frame.finish_reason == "length").sum()))
    return frame
