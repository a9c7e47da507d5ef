"""RL jobs: the null control in-process, the multi-GPU launch command, the per-process batch."""

import json
import sys
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from rlvr_boundary.models.modeling import build_model, load_checkpoint, save_checkpoint
from rlvr_boundary.training.rl import per_device_batch
from rlvr_boundary.training.rl_job import launch_command, run, run_rule

ARCH = {"hidden_size": 64, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}


def test_null_control_saves_a_copy_of_the_base(tmp_path):
    model, tokenizer = build_model(ARCH, 32)
    save_checkpoint(model, tokenizer, tmp_path / "base")
    job = dict(base=str(tmp_path / "base"), prompts="unused", prompts_recorded=True,
               settings={"steps": 0, "gpus": 4},
               seed=0, threads=1, checkpoints=str(tmp_path / "ckpt"), checkpoint_steps=[],
               device="cpu", model=str(tmp_path / "rl"), history=str(tmp_path / "history.csv"))
    run(job, str(tmp_path / "job.json"))  # gpus > 1 on cpu still runs in this process
    assert not (tmp_path / "job.json").exists()
    base, _ = load_checkpoint(tmp_path / "base")
    copy, _ = load_checkpoint(tmp_path / "rl")
    for (name, a), (_, b) in zip(base.state_dict().items(), copy.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert list(pd.read_csv(tmp_path / "history.csv").columns) == ["step", "reward"]


def test_a_rule_job_without_checkpoints_still_makes_its_checkpoint_folder(tmp_path):
    model, tokenizer = build_model(ARCH, 32)
    save_checkpoint(model, tokenizer, tmp_path / "base")
    snakemake = SimpleNamespace(
        input=SimpleNamespace(prompts="unused"), threads=1,
        params=SimpleNamespace(rl={"steps": 0}, seed=0, device="cpu"),
        output=SimpleNamespace(checkpoints=str(tmp_path / "ckpt"), model=str(tmp_path / "rl"),
                               history=str(tmp_path / "history.csv")))
    run_rule(snakemake, str(tmp_path / "base"), checkpoint_steps=[], prompts_recorded=True)
    assert (tmp_path / "ckpt").is_dir() and (tmp_path / "rl" / "config.json").exists()
    assert (tmp_path / "history.csv").exists()


def test_multi_gpu_jobs_go_through_accelerate_launch():
    command = launch_command("job.json", 4)
    assert command[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert command[command.index("--num_processes") + 1] == "4"
    assert command[-3:] == ["-m", "rlvr_boundary.training.rl_job", "job.json"]
    json.dumps(command)  # plain strings, loggable


def test_rollout_budget_is_split_over_processes():
    assert per_device_batch(128, 1) == 128
    assert per_device_batch(128, 4) == 32
    with pytest.raises(ValueError, match="divisible by rl.gpus"):
        per_device_batch(128, 3)
