"""Paper-scale RL that fits on GPUs, checked on CPU with tiny checkpoints: gradient
checkpointing and micro-batches in a real GRPO run, the GPU run's TRL arguments (bf16,
vLLM), gathering sharded weights, and a two-process `accelerate launch` with a shipped
accelerate config file. FSDP itself, bf16 and vLLM rollouts need GPUs (docs/cluster.md,
"Memory for RL training", says what is and is not tested)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
import transformers.modeling_utils

from rlvr_boundary.models.modeling import load_checkpoint, save_checkpoint
from rlvr_boundary.training import rl
from rlvr_boundary.training.rl_job import launch_command
from rlvr_boundary.training.rl_settings import training_precision, validate_settings
from tiny_hub import byte_tokenizer, tiny_model

REPO = Path(__file__).resolve().parents[2]
SETTINGS = {"steps": 2, "prompts_per_step": 4, "generations_per_prompt": 4, "temperature": 1.0,
            "top_p": 1.0, "max_new_tokens": 12, "learning_rate": 3e-3, "reward_metric": "answer"}

pytestmark = pytest.mark.usefixtures("one_thread")


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_grpo_with_gradient_checkpointing_and_micro_batches(base_path, prompts, tmp_path,
                                                           monkeypatch):
    """Checkpointing is on in the model TRL trains and each decoder layer's forward runs
    through torch's checkpoint; 16 completions a step are trained on in passes of 4 (4
    accumulated), still one optimizer step per step."""
    checkpointed, arguments = [], []
    original_checkpoint, original_arguments = transformers.modeling_utils.checkpoint, rl._trainer_args

    def spy_checkpoint(function, *args, **kwargs):
        checkpointed.append(getattr(getattr(function, "func", function), "__self__", None))
        return original_checkpoint(function, *args, **kwargs)

    def spy_arguments(*args, **kwargs):
        arguments.append(original_arguments(*args, **kwargs))
        return arguments[-1]

    monkeypatch.setattr(transformers.modeling_utils, "checkpoint", spy_checkpoint)
    monkeypatch.setattr(rl, "_trainer_args", spy_arguments)
    settings = {**SETTINGS, "gradient_checkpointing": True, "micro_batch_size": 4}
    model, _, history = rl.train_rl(base_path, prompts, settings, seed=3, threads=1,
                                    checkpoint_dir=tmp_path / "ckpt", checkpoint_steps=[1])
    args = arguments[0]
    assert args.gradient_checkpointing and not args.bf16  # CPU: fp32
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps,
            args.steps_per_generation) == (4, 4, 4)
    assert model.is_gradient_checkpointing
    layers = list(model.model.layers)
    assert checkpointed and all(any(m is layer for m in checkpointed) for layer in layers)
    # 2 steps x 4 passes, each layer checkpointed in every pass's forward at least once.
    assert sum(m is layers[0] for m in checkpointed) >= 2 * 4
    assert list(history.step) == [1, 2] and (history.grad_norm > 0).any()
    base, _ = load_checkpoint(base_path)
    assert any(not torch.equal(a, b) for a, b in zip(_state(base).values(), _state(model).values()))
    assert (tmp_path / "ckpt" / "step-00001" / "config.json").exists()


def test_without_checkpointing_nothing_is_checkpointed(base_path, prompts, tmp_path, monkeypatch):
    """The control: the tiny world's default (off) never calls torch's checkpoint."""
    calls = []
    original = transformers.modeling_utils.checkpoint
    monkeypatch.setattr(transformers.modeling_utils, "checkpoint",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    model, _, history = rl.train_rl(base_path, prompts, {**SETTINGS, "steps": 1}, seed=3, threads=1,
                                    checkpoint_dir=tmp_path, checkpoint_steps=[])
    assert not calls and not model.is_gradient_checkpointing and len(history) == 1


def test_micro_batches_must_divide_a_process_share():
    assert rl.micro_batches(128, None) == (128, 1)
    assert rl.micro_batches(128, 1) == (1, 128)
    assert rl.micro_batches(16, 64) == (16, 1)  # never more than the share
    with pytest.raises(ValueError, match="micro_batch_size 3 does not divide"):
        rl.micro_batches(16, 3)


@pytest.mark.parametrize("precision,bf16,device,expected", [
    ("auto", False, "cuda", "bfloat16"), ("auto", False, "cpu", "float32"),
    ("float32", False, "cuda", "float32"), ("bfloat16", False, "cpu", "float32"),
    ("float32", True, "cuda", None), ("auto", True, "cuda", "bfloat16")])
def test_precision_is_resolved_for_the_device(precision, bf16, device, expected):
    settings = {**SETTINGS, "precision": precision, **({"bf16": True} if bf16 else {})}
    if expected is None:
        with pytest.raises(ValueError, match="give precision only"):
            validate_settings(settings)
        return
    assert training_precision(validate_settings(settings), device) == expected


def _gpu_run_arguments(monkeypatch, tmp_path, **settings):
    """TRL's arguments of a run on cuda, built on this CPU machine (transformers would
    refuse bf16 without a GPU; the arguments themselves are what a GPU job gets)."""
    import transformers.training_args as training_args

    monkeypatch.setattr(training_args, "is_torch_bf16_gpu_available", lambda: True)
    monkeypatch.setenv("WORLD_SIZE", "8")  # one of 8 processes
    cfg = validate_settings({**SETTINGS, "prompts_per_step": 128, "generations_per_prompt": 8,
                             "precision": "auto", "gradient_checkpointing": True,
                             "micro_batch_size": 1, **settings})
    return rl._trainer_args(cfg, str(tmp_path), 0, "cuda")


def test_a_gpu_run_trains_in_bf16_with_vllm_colocated(monkeypatch, tmp_path):
    args = _gpu_run_arguments(monkeypatch, tmp_path, use_vllm=True, vllm_gpu_memory_utilization=0.25,
                              vllm_tensor_parallel_size=2, vllm_max_model_length=8704,
                              vllm_enable_sleep_mode=True)
    assert type(args).__name__ == "GRPOConfig" and not args.use_cpu
    assert args.bf16 and not args.fp16 and args.gradient_checkpointing
    assert (args.use_vllm, args.vllm_mode, args.vllm_gpu_memory_utilization,
            args.vllm_tensor_parallel_size, args.vllm_max_model_length,
            args.vllm_enable_sleep_mode) == (True, "colocate", 0.25, 2, 8704, True)
    # 1,024 rollouts a step: 128 per GPU, in 128 passes of one, one generation per step.
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps,
            args.steps_per_generation) == (1, 128, 128)


def test_a_gpu_run_can_use_a_vllm_server(monkeypatch, tmp_path):
    args = _gpu_run_arguments(monkeypatch, tmp_path, trainer="rloo", use_vllm=True, vllm_mode="server",
                              vllm_server_base_url="http://node7:8000", precision="float32")
    assert type(args).__name__ == "RLOOConfig" and not args.bf16
    assert (args.use_vllm, args.vllm_mode, args.vllm_server_base_url) == (True, "server",
                                                                           "http://node7:8000")


def test_vllm_arguments_only_where_asked():
    cfg = validate_settings(SETTINGS)
    assert rl.vllm_arguments(cfg) == {"use_vllm": False}
    colocated = rl.vllm_arguments(validate_settings({**SETTINGS, "use_vllm": True}))
    assert colocated == {"use_vllm": True, "vllm_mode": "colocate", "vllm_gpu_memory_utilization": 0.3,
                         "vllm_tensor_parallel_size": 1, "vllm_enable_sleep_mode": False}
    with pytest.raises(ValueError, match="vllm_mode"):
        validate_settings({**SETTINGS, "use_vllm": True, "vllm_mode": "remote"})


def test_vllm_context_defaults_to_the_longest_prompt_plus_the_completion(base_path, prompts,
                                                                          monkeypatch, tmp_path):
    seen = []

    def stop(model, tokenizer, prompts_, cfg, *args, **kwargs):
        seen.append(cfg)
        raise RuntimeError("stop before TRL")

    monkeypatch.setattr(rl, "make_trainer", stop)
    with pytest.raises(RuntimeError, match="stop before TRL"):
        rl.train_rl(base_path, prompts, {**SETTINGS, "use_vllm": True}, 0, 1, tmp_path, [])
    longest = max(len(prompt) for prompt in prompts) + 1  # bos + one id per character
    assert seen[0]["vllm_max_model_length"] == longest + SETTINGS["max_new_tokens"]


@pytest.mark.parametrize("main", [True, False])
def test_sharded_weights_are_gathered_into_a_plain_model(tmp_path, main):
    """full_model's FSDP branch with the gather faked: the main process gets a new model
    holding the gathered weights (tied embeddings tied again), the others None."""
    tokenizer = byte_tokenizer()
    trained = tiny_model(tokenizer, seed=4)
    state = _state(trained)
    accelerator = SimpleNamespace(get_state_dict=lambda model: dict(state) if main else {},
                                  is_main_process=main, unwrap_model=lambda model: model)
    trainer = SimpleNamespace(is_fsdp_enabled=True, model=trained, accelerator=accelerator)
    model = rl.full_model(trainer)
    if not main:
        assert model is None
        return
    assert model is not trained and type(model) is type(trained)
    for name, tensor in _state(model).items():
        assert torch.equal(tensor, state[name]), name
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert not any(t.is_meta for t in [*model.parameters(), *model.buffers()])
    ids = torch.tensor([[1, 2, 3]])
    assert torch.equal(model(ids).logits, trained(ids).logits)  # a working model, not just weights
    save_checkpoint(model, tokenizer, tmp_path / "gathered")  # saves like any model
    loaded, _ = load_checkpoint(tmp_path / "gathered")
    assert torch.equal(loaded.lm_head.weight, trained.lm_head.weight)


def test_two_processes_through_the_shipped_accelerate_config(tmp_path):
    """The multi-GPU launch the rule makes, run for real with 2 processes: `accelerate
    launch --config_file configs/accelerate/fsdp.yaml --num_processes 2`. Without GPUs
    accelerate runs them as MULTI_CPU (it enables FSDP on GPUs only), so this checks the
    launch, the split of the step's rollouts, checkpointing and saving by the main process,
    not the sharding."""
    tokenizer = byte_tokenizer()
    save_checkpoint(tiny_model(tokenizer, seed=0), tokenizer, tmp_path / "base")
    pd.DataFrame({"prompt": [f"What is {i}+{i}? " for i in range(1, 5)],
                  "reference_answer": [str(2 * i) for i in range(1, 5)]}
                 ).to_parquet(tmp_path / "prompts.parquet")
    settings = {**SETTINGS, "prompts_per_step": 2, "generations_per_prompt": 2, "max_new_tokens": 8,
                "prompts": 4, "reward_metric": "math_verify", "gpus": 2, "gradient_checkpointing": True,
                "micro_batch_size": 1}
    job = dict(base=str(tmp_path / "base"), prompts=str(tmp_path / "prompts.parquet"),
               prompts_recorded=False, settings=settings, seed=0, threads=1,
               checkpoints=str(tmp_path / "ckpt"), checkpoint_steps=[1], device="cpu",
               model=str(tmp_path / "rl"), history=str(tmp_path / "history.csv"))
    (tmp_path / "job.json").write_text(json.dumps(job))
    command = launch_command(str(tmp_path / "job.json"), 2, str(REPO / "configs/accelerate/fsdp.yaml"))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert result.stderr.count("grpo: 2 steps x 2 prompts x 2 generations") == 2  # two processes
    assert list(pd.read_csv(tmp_path / "history.csv").step) == [1, 2]
    trained, _ = load_checkpoint(tmp_path / "rl")
    early, _ = load_checkpoint(tmp_path / "ckpt" / "step-00001")
    assert trained.config.vocab_size == early.config.vocab_size == len(tokenizer)


@pytest.mark.parametrize("trainer", ["dapo", "rloo", "reinforce_pp", "remax", "ppo"])
def test_every_trainer_accumulates_micro_batches(base_path, prompts, tmp_path, trainer):
    """The paper scale's micro_batch_size (1 by default) with each of the other trainers:
    one optimizer step per step, each step's 16 completions in 4 passes of 4."""
    settings = {**SETTINGS, "steps": 1, "trainer": trainer, "micro_batch_size": 4,
                **({"loss_type": "dapo"} if trainer == "dapo" else {})}
    model, _, history = rl.train_rl(base_path, prompts, settings, seed=3, threads=1,
                                    checkpoint_dir=tmp_path, checkpoint_steps=[])
    assert list(history.step) == [1] and history.reward.notna().all()


def test_micro_batches_give_the_step_of_the_whole_batch(base_path, prompts, tmp_path):
    """Same rollouts (same seed), trained on at once or in 4 accumulated passes: the same
    gradient (its norm, logged before clipping) and the same reward."""
    runs = [rl.train_rl(base_path, prompts, {**SETTINGS, "steps": 1, "micro_batch_size": micro},
                        seed=3, threads=1, checkpoint_dir=tmp_path, checkpoint_steps=[])[2]
            for micro in (None, 4)]
    whole, passes = runs
    assert whole.reward.tolist() == passes.reward.tolist()
    assert whole.grad_norm.iloc[0] > 0
    assert passes.grad_norm.iloc[0] == pytest.approx(whole.grad_norm.iloc[0], rel=1e-4)
