"""TRL 1.16's colocated vLLM rollouts as a paper-scale run sets them up, on vLLM's CPU build
with a tiny checkpoint: the engine starts inside the training process with the run's
settings. Runs where vllm is importable (`make test` runs it in .venv-vllm through
test_vllm_env.py); skips elsewhere. A training step is not run: vLLM CPU repacks its linear
weights and TRL's weight sync fails there (docs/cluster.md, "Memory for RL training")."""

from __future__ import annotations

import importlib.util
import os

import pytest

from rlvr_boundary.models.modeling import load_checkpoint, save_checkpoint
from rlvr_boundary.training import rl
from rlvr_boundary.training.rl_settings import validate_settings
from tiny_hub import byte_tokenizer, tiny_model

pytestmark = pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                reason="vllm is not installed here (make test: .venv-vllm)")


@pytest.fixture
def engine_cleanup():
    """TRL's colocated engine joins a process group in this process: leave none behind."""
    yield
    from vllm.distributed.parallel_state import cleanup_dist_env_and_memory

    cleanup_dist_env_and_memory()


def test_a_colocated_engine_starts_with_the_runs_settings(tmp_path, engine_cleanup):
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB (docs/tiny_world.md)
    tokenizer = byte_tokenizer()
    save_checkpoint(tiny_model(tokenizer, seed=0), tokenizer, tmp_path / "base")
    model, tokenizer = load_checkpoint(tmp_path / "base")
    cfg = validate_settings({"steps": 1, "prompts_per_step": 2, "generations_per_prompt": 2,
                             "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 8,
                             "learning_rate": 1e-3, "reward_metric": "math_verify",
                             "use_vllm": True, "vllm_gpu_memory_utilization": 0.4,
                             "vllm_max_model_length": 64, "gradient_checkpointing": True,
                             "micro_batch_size": 1})
    trainer = rl.make_trainer(model, tokenizer, ["What is 1+1? ", "What is 2+2? "], cfg, 0,
                              str(tmp_path / "out"), "cpu", answers=["2", "4"])
    assert trainer.args.use_vllm and trainer.vllm_generation.mode == "colocate"
    engine = trainer.vllm_generation.llm.llm_engine.vllm_config
    assert engine.model_config.model == str(tmp_path / "base")  # the base the policy starts from
    assert engine.cache_config.gpu_memory_utilization == 0.4
    assert engine.model_config.max_model_len == 64
    assert engine.parallel_config.tensor_parallel_size == 1
    # The step's 4 completions of this process, generated at once though trained 1 by 1.
    assert engine.scheduler_config.max_num_seqs == 4
