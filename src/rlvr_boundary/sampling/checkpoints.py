"""Sampling a real checkpoint on a real benchmark, with any backend, into the sample schema.

Backends: ``vllm`` (GPU; its own environment, envs/sample-vllm.yaml), ``vllm-cpu`` (the
same code on vLLM's CPU build) and ``hf`` (transformers via :mod:`sampling`, CPU or one
GPU). All return ``problem_id, sample_id, completion, finish_reason, completion_tokens,
stop_reason``, so grading and pass@k never know which backend ran.

Stopping follows the paper's evaluation code, math_eval.py of LeapLabTHU/limit-of-RLVR
(math/examples/math_eval/math_eval.py, ``main``): per prompt template a list of stop
strings (``stop_words``) and stop token ids (``stop_token_ids``; 151645 and 151643,
Qwen2's ``<|im_end|>`` and ``<|endoftext|>``), passed to both backends besides the model's
eos; the completion kept is the text before the first stop string, stripped, as
math_eval.py post-processes it (:func:`paper_cut`). ``stop_reason`` records which stop
ended each sample (:func:`~rlvr_boundary.grading.counting.stop_reason_counts` counts them). Prompts are tokenised once here,
never with two BOS tokens (:func:`encode_prompts`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..workflow.load_failures import model_loading
from .benchmarks import apply_template

log = logging.getLogger(__name__)
BACKENDS = ("vllm", "vllm-cpu", "hf")
TEMPLATE_KEYS = ("text", "stop", "stop_token_ids")


def template_rules(template: str | Mapping, extra_stop: Sequence[str] | None = None
                   ) -> tuple[str, list[str], list[int]]:
    """(text, stop strings, stop token ids) of a prompt template given as a plain string
    (no stop rules of its own) or as ``{text, stop, stop_token_ids}``
    (:func:`~rlvr_boundary.workflow.paper_plan.prompt_template` with ``stops=True``);
    ``extra_stop`` (``sampling.stop``) is appended; repeats are dropped, order kept."""
    if isinstance(template, str):
        text, stop, ids = template, [], []
    elif isinstance(template, Mapping):
        unknown = sorted(set(template) - set(TEMPLATE_KEYS))
        if unknown or "text" not in template:
            raise ValueError(f"a prompt template is a string or a mapping with keys "
                             f"{TEMPLATE_KEYS} ('text' required); got keys {sorted(template)}")
        text = template["text"]
        stop = list(template.get("stop") or [])
        ids = [int(i) for i in template.get("stop_token_ids") or []]
    else:
        raise TypeError(f"a prompt template is a string or a mapping, not {type(template).__name__}")
    stop = [word for word in dict.fromkeys([*stop, *(extra_stop or [])]) if word]
    return text, stop, list(dict.fromkeys(ids))


def paper_cut(completion: str, stop: Sequence[str]) -> str:
    """The completion as math_eval.py grades it: stripped, then cut before each stop word in
    turn (``code.split(stop_word)[0].strip()``; LeapLabTHU/limit-of-RLVR,
    math/examples/math_eval/math_eval.py). Without stop words, unchanged."""
    if not stop:
        return completion
    code = completion.strip()
    for word in stop:
        if word in code:
            code = code.split(word)[0].strip()
    return code


def encode_prompts(tokenizer, prompts: Sequence[str]) -> list[list[int]]:
    """Token ids of each prompt with the tokenizer's special tokens, but never two BOS at
    the start: a template that begins with the BOS text (``deepseek-r1``) plus the BOS the
    tokenizer adds itself would give two; then the added one is dropped."""
    if not len(prompts):
        return []
    encoded = [list(ids) for ids in tokenizer(list(prompts), add_special_tokens=True)["input_ids"]]
    bos = tokenizer.bos_token_id
    if bos is None:
        return encoded
    return [ids[1:] if len(ids) > 1 and ids[0] == ids[1] == bos else ids for ids in encoded]


def shard_problems(problems: pd.DataFrame, shards: int, shard: int) -> pd.DataFrame:
    """Shard ``shard`` of ``shards``: a contiguous range of problems (here and in the tiny
    world's :mod:`.tiny_world`)."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of 0..{shards - 1}")
    return problems.iloc[np.array_split(np.arange(len(problems)), shards)[shard]]


def sample_problems(model_path: str, problems: pd.DataFrame, template: str | Mapping, n: int,
                    temperature: float, settings: dict, seed: int, device: str = "cpu",
                    gpus: int = 1) -> pd.DataFrame:
    """n samples per problem from the model at ``model_path`` with ``settings`` (the
    config's ``sampling`` block: backend, top_p, max_new_tokens, max_model_len, dtype, stop,
    batch_size). ``template``: the prompt text with ``{question}``, or
    ``{text, stop, stop_token_ids}`` with the template's stop rules (``sampling.stop`` is
    added to them). ``device`` (hf backend): ``auto`` is resolved here, in the job; dtype
    ``auto`` is float32 on a CPU and bfloat16 on a GPU."""
    backend = settings["backend"]
    if backend not in BACKENDS:
        raise ValueError(f"sampling.backend {backend!r}: choose one of {BACKENDS}")
    text, stop, stop_ids = template_rules(template, settings.get("stop"))
    prompts = [apply_template(text, q) for q in problems.question]
    log.info("%s backend: %d problems x n=%d at T=%s, up to %d new tokens; stop strings %s, "
             "stop token ids %s", backend, len(prompts), n, temperature,
             settings["max_new_tokens"], stop, stop_ids)
    if backend == "hf":
        samples = _sample_hf(model_path, prompts, n, temperature, settings, seed, device,
                             stop, stop_ids)
    else:
        samples = _sample_vllm(model_path, prompts, n, temperature, settings, seed, gpus,
                               stop, stop_ids)
    samples["completion"] = [paper_cut(c, stop) for c in samples.completion]
    samples.insert(0, "problem_id", problems.problem_id.to_numpy()[samples.pop("prompt_index")])
    truncated = int((samples.finish_reason == "length").sum())
    log.info("%d samples, %d truncated at max_new_tokens; stops: %s", len(samples), truncated,
             samples.stop_reason.value_counts().to_dict())
    return samples


def eos_token_ids(model, tokenizer) -> list[int]:
    """The ids vLLM ends a sample at without being asked: the tokenizer's eos and the
    model's generation config's (one id or a list)."""
    ids = [tokenizer.eos_token_id]
    config_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids += config_eos if isinstance(config_eos, (list, tuple)) else [config_eos]
    return list(dict.fromkeys(int(i) for i in ids if i is not None))


def _sample_hf(model_path, prompts, n, temperature, settings, seed, device, stop,
               stop_ids) -> pd.DataFrame:
    from ..models.modeling import load_checkpoint, resolve_device, resolve_dtype
    from .generate import DEFAULT_BATCH_SIZE, sample_completions

    with model_loading():
        device = resolve_device(device)
        dtype = resolve_dtype(settings.get("dtype"), device)
        log.info("hf backend on %s in %s", device, dtype)
        model, tokenizer = load_checkpoint(model_path, device, dtype)
    return sample_completions(model, tokenizer, prompts, n, temperature, settings["top_p"],
                              settings["max_new_tokens"], seed,
                              settings.get("batch_size", DEFAULT_BATCH_SIZE),
                              prompt_ids=encode_prompts(tokenizer, prompts),
                              stop_token_ids=[*eos_token_ids(model, tokenizer), *stop_ids],
                              stop_strings=stop)


def _sample_vllm(model_path, prompts, n, temperature, settings, seed, gpus, stop,
                 stop_ids) -> pd.DataFrame:
    from ..models.modeling import resolve_dtype
    from .vllm_engine import make_llm, sample_completions_vllm

    engine = dict(settings.get("engine") or {})
    on_cpu = settings["backend"] == "vllm-cpu"
    # The job's param (paper_plan.model_tensor_parallel) is the split its samples are
    # recorded under: GPUs held otherwise (a --set-resources override) would change them.
    split = settings.get("tensor_parallel_size", max(1, gpus))
    if split != max(1, gpus):
        raise ValueError(f"the job holds {gpus} GPU(s), its tensor_parallel_size param is "
                         f"{split}: sample with the GPUs sampling.tensor_parallel gives the "
                         f"model's size class")
    if on_cpu:
        engine.setdefault("enforce_eager", True)  # no CUDA graphs on CPU
    with model_loading("starting the vLLM engine"):  # its memory profiling included
        llm = make_llm(model_path, seed, int(settings["max_model_len"]),
                       tensor_parallel_size=split,
                       dtype=resolve_dtype(settings.get("dtype"), "cpu" if on_cpu else "cuda"),
                       **engine)
    try:
        return sample_completions_vllm(llm, prompts, n, temperature, settings["top_p"],
                                       settings["max_new_tokens"], stop or None,
                                       stop_ids or None,
                                       prompt_ids=encode_prompts(llm.get_tokenizer(), prompts),
                                       stop_reasons=True)
    finally:
        # Stop the engine's worker processes now rather than at interpreter exit.
        llm.llm_engine.engine_core.shutdown()
