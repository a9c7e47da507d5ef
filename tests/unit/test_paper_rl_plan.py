"""How a paper-scale RL run is planned to fit: its settings' paper defaults (schema and
code agree), the accelerate config files (read by accelerate itself), the multi-GPU launch a
dry run of configs/paper.yaml plans, and the memory tables of docs/cluster.md (computed by
rlvr_boundary.training.memory)."""

from __future__ import annotations

import copy
import os
import re

import pytest
import yaml
from snakemake.utils import validate

from rlvr_boundary.training import memory
from rlvr_boundary.training.rl_job import launch_command
from rlvr_boundary.training.rl_settings import OPTIONAL_SETTINGS, PAPER_DEFAULTS
from rlvr_boundary.workflow.paper_plan import (
    accelerate_config_file,
    algorithm_study_models,
    load_study_config,
    training_settings,
)
from workflow_runner import REPO, run_snakemake

PAPER = load_study_config(REPO / "configs/paper.yaml", REPO / "configs/catalog.yaml")
ACCELERATE = sorted((REPO / "configs/accelerate").glob("*.yaml"))
EXAMPLE = "qwen25_7b-grpo-ours"


def _commented_example() -> dict:
    """The trained model configs/paper.yaml ships commented out (no RL data is shipped)."""
    lines = (REPO / "configs/paper.yaml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"# {EXAMPLE}:")
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith("  #   "):
            break
        block.append(line)
    return yaml.safe_load("\n".join(line[4:] for line in block))


def trained_paper_config() -> dict:
    """configs/paper.yaml with RL data pinned (a local file standing in for it): its
    commented-out trained model back in, and its algorithm study on that data."""
    config = copy.deepcopy(PAPER)
    gsm8k = config["benchmarks"]["gsm8k"]
    config["rl_data"] = {"math_train": {"file": gsm8k["file"], "format": "gsm8k",
                                        "sha256": gsm8k["sha256"]}}
    config["models"].update(_commented_example())
    config["studies"]["algorithms"]["data"] = "math_train"
    return config


# ---------------------------------------------------------------- settings and schema

def test_a_paper_run_gets_the_paper_defaults():
    config = trained_paper_config()
    settings = training_settings(config, EXAMPLE)
    for key, value in PAPER_DEFAULTS.items():
        assert settings[key] == value, key
    assert settings["reward_metric"] == "math_verify"
    entry = config["models"][EXAMPLE]
    entry["train"] = {key: value for key, value in entry["train"].items()
                      if key not in PAPER_DEFAULTS}
    assert {key: training_settings(config, EXAMPLE)[key] for key in PAPER_DEFAULTS} == PAPER_DEFAULTS


def test_schema_defaults_are_the_codes():
    """The paper schema documents each RL job key with the default the code applies, and
    fills them into a trained model's train block the same."""
    schema = yaml.safe_load((REPO / "schemas/paper.schema.yaml").read_text())
    keys = schema["$defs"]["rl_job"]["properties"]
    code = {**OPTIONAL_SETTINGS, **PAPER_DEFAULTS}
    for key, spec in keys.items():
        assert key in code, key
        assert spec.get("description"), key
        if "default" in spec:
            assert spec["default"] == code[key], key
    assert {"precision", "gradient_checkpointing", "micro_batch_size", "gpus", "distributed",
            "use_vllm", "vllm_mode", "vllm_gpu_memory_utilization"} <= set(keys)
    config = trained_paper_config()
    config["models"][EXAMPLE]["train"] = {key: value for key, value in
                                          config["models"][EXAMPLE]["train"].items()
                                          if key not in ("precision", "micro_batch_size")}
    validate(config, str(REPO / "schemas/paper.schema.yaml"))
    filled = config["models"][EXAMPLE]["train"]
    assert (filled["precision"], filled["micro_batch_size"], filled["vllm_gpu_memory_utilization"]) == (
        "auto", 1, 0.3)


@pytest.mark.parametrize("edit,message", [
    ({"gpus": 3}, "do not split over gpus=3"),
    ({"micro_batch_size": 3}, "micro_batch_size 3 does not divide the 128"),
    ({"vllm_tensor_parallel_size": 3}, "vllm_tensor_parallel_size 3 does not divide gpus=8"),
    ({"precision": "fp8"}, "precision 'fp8'"),
    ({"distributed": "zero3"}, r"train.distributed: 'zero3' names no accelerate config file"),
])
def test_a_run_that_cannot_launch_fails_when_the_dag_is_built(edit, message):
    config = trained_paper_config()
    config["models"][EXAMPLE]["train"].update(edit)
    with pytest.raises(ValueError, match=message):
        training_settings(config, EXAMPLE)
        accelerate_config_file(config, EXAMPLE, REPO)


def test_the_accelerate_file_is_used_with_several_gpus_only():
    config = trained_paper_config()
    assert accelerate_config_file(config, EXAMPLE, REPO) == str(REPO / "configs/accelerate/fsdp.yaml")
    config["models"][EXAMPLE]["train"]["distributed"] = "ddp"
    assert accelerate_config_file(config, EXAMPLE, REPO) == str(REPO / "configs/accelerate/ddp.yaml")
    config["models"][EXAMPLE]["train"]["distributed"] = None  # accelerate's own defaults
    assert accelerate_config_file(config, EXAMPLE, REPO) is None
    config["models"][EXAMPLE]["train"].update(distributed="fsdp", gpus=1)
    assert accelerate_config_file(config, EXAMPLE, REPO) is None
    config["models"][EXAMPLE]["train"]["gpus"] = 8
    assert accelerate_config_file({**config, "device": "cpu"}, EXAMPLE, REPO) is None


# ---------------------------------------------------------------- accelerate config files

@pytest.mark.parametrize("path", ACCELERATE, ids=lambda p: p.stem)
def test_accelerate_config_files_are_valid(path, monkeypatch):
    """Each shipped file as `accelerate launch --config_file <file> --num_processes 8`
    reads it: accelerate's own loader (unknown keys are errors), launch checks and process
    environment, and for FSDP the plugin built from that environment."""
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_multi_gpu_env

    loaded = load_config_from_file(str(path))
    assert loaded.num_processes == -1  # the rule's --num_processes decides
    assert loaded.num_machines == 1 and loaded.mixed_precision == "no"  # `precision` decides
    args = launch_command_parser().parse_args(
        ["--config_file", str(path), "--num_processes", "8", "-m", "rlvr_boundary.training.rl_job", "job.json"])
    args, _, _ = _validate_launch_command(args)
    env = prepare_multi_gpu_env(args)
    assert env["ACCELERATE_MIXED_PRECISION"] == "no" and args.num_processes == 8
    if loaded.distributed_type == DistributedType.MULTI_GPU:
        assert args.multi_gpu and "ACCELERATE_USE_FSDP" not in env
        return
    assert loaded.distributed_type == DistributedType.FSDP and args.use_fsdp
    for key in [k for k in os.environ if k.startswith("FSDP_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("FSDP_") or key == "ACCELERATE_USE_FSDP":
            monkeypatch.setenv(key, value)
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
    assert plugin.state_dict_type.name == "FULL_STATE_DICT"  # rank 0 saves whole weights
    # transformers refuses FSDP's and its own activation checkpointing at once.
    assert plugin.activation_checkpointing is False
    assert (plugin.cpu_offload is not None and type(plugin.cpu_offload).__name__ == "CPUOffloadPolicy") \
        == (path.stem == "fsdp_offload")


def test_the_launch_command_names_the_file_and_the_gpus():
    command = launch_command("h.csv.job.json", 8, "/repo/configs/accelerate/fsdp.yaml")
    assert command[1:6] == ["-m", "accelerate.commands.launch", "--config_file",
                            "/repo/configs/accelerate/fsdp.yaml", "--num_processes"]
    assert command[6] == "8" and "--multi_gpu" not in command
    assert command[-3:] == ["-m", "rlvr_boundary.training.rl_job", "h.csv.job.json"]


# ---------------------------------------------------------------- the planned DAG

def _dry_run_jobs(stdout: str, rule: str) -> list[dict]:
    jobs = []
    for block in stdout.split("\nrule ")[1:]:
        if block.split(":", 1)[0] != rule:
            continue
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", block, re.MULTILINE))
        fields["input"] = fields["input"].split(", ")
        fields["resources"] = dict(item.split("=", 1) for item in fields["resources"].split(", "))
        jobs.append(fields)
    return jobs


def test_dry_run_plans_the_accelerate_launch(tmp_path):
    """`snakemake -n` on configs/paper.yaml with its RL data pinned: the algorithm study's
    six runs (8 GPUs, fsdp) each take configs/accelerate/fsdp.yaml as an input and ask 8
    GPUs, and launch `accelerate launch --config_file <it> --num_processes 8`; a 1-GPU run
    has no accelerate file."""
    config = trained_paper_config()
    config["models"][EXAMPLE]["train"]["gpus"] = 1
    path = tmp_path / "paper_trained.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_snakemake(REPO, "-n", "--configfile", str(path), timeout=300)
    jobs = {job["wildcards"].split("=", 1)[1]: job for job in _dry_run_jobs(result.stdout, "train_paper_rl")}
    planned = copy.deepcopy(config)
    validate(planned, str(REPO / "schemas/paper.schema.yaml"))  # the study's defaults
    study = algorithm_study_models(planned)
    trained = {m for m, entry in study.items() if entry["source"] == "trained"}
    assert set(jobs) == trained | {EXAMPLE} and len(trained) == 6
    fsdp = str(REPO / "configs/accelerate/fsdp.yaml")
    for model in trained:
        job = jobs[model]
        assert job["resources"]["gpu"] == "8" and fsdp in job["input"], model
        command = launch_command(f"results/training/{model}.csv.job.json",
                                 int(job["resources"]["gpu"]), fsdp)
        assert command[command.index("--config_file") + 1] == fsdp
        assert command[command.index("--num_processes") + 1] == "8"
    assert jobs[EXAMPLE]["resources"]["gpu"] == "1"
    assert not [f for f in jobs[EXAMPLE]["input"] if "configs/accelerate" in f]


# ---------------------------------------------------------------- memory (docs/cluster.md)

def test_parameter_counts_match_the_model_cards():
    published = {"1.5b": 1.54e9, "7b": 7.61e9, "8b": 8.03e9, "14b": 14.7e9, "32b": 32.5e9}
    for size, count in published.items():
        assert memory.SHAPES[size].parameters == pytest.approx(count, rel=0.01), size


def test_memory_terms():
    shape = memory.SHAPES["7b"]
    p = shape.parameters / memory.GIB
    one = memory.memory_gib(shape, memory.Run("ddp", 1))
    assert one["states"] == pytest.approx(18 * p)  # 16 bytes of states + autocast's bf16 copy
    for gpus in (2, 4, 8):
        sharded = memory.memory_gib(shape, memory.Run("fsdp", gpus))
        assert sharded["states"] == pytest.approx(16 * p / gpus) and sharded["gathered"] > 0
    assert memory.memory_gib(shape, memory.Run("fsdp_offload", 8))["states"] == 0
    two = memory.memory_gib(shape, memory.Run("fsdp", 8), micro_batch=2)
    assert two["activations"] == pytest.approx(2 * memory.memory_gib(shape, memory.Run("fsdp", 8))["activations"])
    # A 7B model's states alone overflow one 80 GB GPU; sharded over 8 its run fits.
    assert one["total"] > memory.GPU_GIB
    assert memory.memory_gib(shape, memory.SUGGESTED["7b"])["total"] < memory.GPU_GIB


def test_each_suggested_layout_fits_and_the_shipped_config_uses_it():
    for size, run in memory.SUGGESTED.items():
        weights, sequences = memory.vllm_room(memory.SHAPES[size], run)
        assert memory.memory_gib(memory.SHAPES[size], run)["total"] <= memory.GPU_GIB, size
        assert weights < run.vllm_share * memory.GPU_GIB and sequences >= 1, size
        assert run.strategy == "ddp" or (REPO / f"configs/accelerate/{run.strategy}.yaml").is_file()
    # configs/paper.yaml trains 7b models only (the algorithm study): as suggested.
    study = PAPER["studies"]["algorithms"]
    assert PAPER["models"][study["base"]]["size"] == "7b"
    settings = {**OPTIONAL_SETTINGS, **PAPER_DEFAULTS, **study["train"]}
    run = memory.SUGGESTED["7b"]
    assert (settings["distributed"], settings["gpus"], settings["vllm_gpu_memory_utilization"],
            settings["vllm_tensor_parallel_size"]) == (run.strategy, run.gpus, run.vllm_share, run.vllm_tp)
    assert settings["max_new_tokens"] == memory.COMPLETION_TOKENS
    assert settings["micro_batch_size"] == memory.MICRO_BATCH


def test_docs_tables_are_the_computed_ones():
    docs = (REPO / "docs/cluster.md").read_text()
    section = docs.split("## Memory for RL training", 1)[1].split("\n## ", 1)[0]
    for table in memory.tables().split("\n\n"):
        assert table in section, table.splitlines()[0]
