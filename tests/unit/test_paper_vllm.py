"""The paper-scale sampler's vLLM backend on vLLM's CPU build, against the hf backend, on a
tiny checkpoint read from a local Hub cache. Runs where vllm is importable (`make test`
runs it in .venv-vllm through test_vllm_env.py); skips elsewhere."""

from __future__ import annotations

import importlib.util
import os

import pandas as pd
import pytest

from rlvr_boundary.sampling.checkpoints import sample_problems
from tiny_hub import save_in_cache

pytestmark = pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                reason="vllm is not installed here (make test: .venv-vllm)")
TEMPLATE = "<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
PROBLEMS = pd.DataFrame({"problem_id": ["a", "b", "c"],
                         "question": ["What is $1+1$?", "Solve $x^2=4$.", "Find \\frac{3}{4}."]})


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB (docs/tiny_world.md)
    return str(save_in_cache(tmp_path_factory.mktemp("hub"), "org/tiny", "4" * 40, seed=0))


def _settings(backend: str) -> dict:
    return {"backend": backend, "top_p": 1.0, "max_new_tokens": 12, "max_model_len": 256,
            "dtype": "float32"}


def test_greedy_vllm_cpu_equals_hf(snapshot):
    vllm = sample_problems(snapshot, PROBLEMS, TEMPLATE, 2, 0.0, _settings("vllm-cpu"), 0)
    hf = sample_problems(snapshot, PROBLEMS, TEMPLATE, 2, 0.0, _settings("hf"), 0)
    assert list(vllm.columns) == list(hf.columns)
    assert vllm.problem_id.tolist() == hf.problem_id.tolist() == ["a", "a", "b", "b", "c", "c"]
    assert vllm.completion.tolist() == hf.completion.tolist()
    assert vllm.completion_tokens.tolist() == hf.completion_tokens.tolist()


def test_a_context_too_short_is_refused_before_sampling(snapshot):
    settings = {**_settings("vllm-cpu"), "max_model_len": 40}
    with pytest.raises(ValueError, match="exceeds the engine's max_model_len"):
        sample_problems(snapshot, PROBLEMS, TEMPLATE, 2, 1.0, settings, 0)
