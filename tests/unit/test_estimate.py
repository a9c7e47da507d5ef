"""The GPU-hour and disk estimate of a checkpoint study: its arithmetic, checked by how it
scales (n, problems, models, GPUs, steps), not against a stored total."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml

from rlvr_boundary.workflow.estimate import (
    assumptions,
    estimate,
    format_estimate,
    measured_rates,
    planned_config,
    sampling_jobs,
    size_class,
)
from workflow_runner import REPO

SHA = "0" * 64
REVISION = "a" * 40
ASSUMED = {"decode_tokens_per_gpu_second": {"7b": 1000.0, "14b": 400.0},
           "prefill_tokens_per_gpu_second": {"7b": 10000.0, "14b": 4000.0},
           "mean_completion_share": 0.5, "prompt_tokens": 100, "startup_seconds": 0,
           "train_flops_per_gpu_second": 1e14,
           "parameters_billion": {"7b": 7.0, "14b": 14.0}, "bytes_per_parameter": 2,
           "bytes_per_token": 4}


def study(**models) -> dict:
    """A planned checkpoint config: one benchmark of 10 problems, n = 4, two shards."""
    base = {"family": "f", "role": "base", "source": "hub", "hub": "Org/Base-7B",
            "revision": REVISION, "templates": {"default": "t"}}
    return {"scale": "paper", "seed": 0, "device": "cuda",
            "models": models or {"base": base},
            "benchmarks": {"bench": {"file": "b.jsonl", "sha256": SHA, "n": 4,
                                     "expected_rows": 10}},
            "rl_data": {"train_set": {"file": "t.jsonl", "sha256": SHA}},
            "prompt_templates": {"t": "{question}"},
            "sampling": {"backend": "vllm", "temperatures": [0.6], "max_new_tokens": 1000,
                         "shards": 2, "block_size": 128,
                         "tensor_parallel": {"7b": 1, "14b": 2}},
            "analysis": {"claim_temperature": 0.6}}


def hub_model(hub: str, **extra) -> dict:
    return {"family": "f", "role": "base", "source": "hub", "hub": hub, "revision": REVISION,
            "templates": {"default": "t"}, **extra}


def sampling(result: dict) -> dict:
    return result["rules"]["sample_model"]


def test_sampling_tokens_are_problems_times_n_times_the_mean_completion():
    result = estimate(study(), ASSUMED)
    assert sampling(result)["tokens"] == 10 * 4 * 0.5 * 1000
    assert sampling(result)["jobs"] == 2  # shards
    assert sampling(result)["gpu_hours"] == pytest.approx(10 * 4 * 0.5 * 1000 / 1000 / 3600)


@pytest.mark.parametrize("change", [
    lambda c: c["benchmarks"]["bench"].update(n=8),
    lambda c: c["benchmarks"]["bench"].update(expected_rows=20),
    lambda c: c["sampling"].update(max_new_tokens=2000),
    lambda c: c["sampling"].update(temperatures=[0.6, 1.0]),
    lambda c: c["models"].update(other=hub_model("Org/Other-7B")),
])
def test_doubling_n_problems_budget_temperatures_or_models_doubles_sampling(change):
    config = study()
    doubled = copy.deepcopy(config)
    change(doubled)
    one, two = estimate(config, ASSUMED), estimate(doubled, ASSUMED)
    assert sampling(two)["tokens"] == 2 * sampling(one)["tokens"]
    assert sampling(two)["gpu_hours"] == pytest.approx(2 * sampling(one)["gpu_hours"])
    assert two["sample_bytes"] == pytest.approx(2 * one["sample_bytes"])


def test_a_limit_samples_only_its_problems():
    config = study()
    config["benchmarks"]["bench"]["limit"] = 5
    assert sampling(estimate(config, ASSUMED))["tokens"] == 5 * 4 * 0.5 * 1000


def test_gpu_hours_follow_the_size_class_rate_and_start_up_counts_per_gpu():
    small = estimate(study(m=hub_model("Org/M-7B")), ASSUMED)
    big = estimate(study(m=hub_model("Org/M-14B", size="14b")), ASSUMED)
    # The same tokens at 400 instead of 1000 tokens per GPU-second (two GPUs, each slower).
    assert sampling(big)["tokens"] == sampling(small)["tokens"]
    assert sampling(big)["gpu_hours"] == pytest.approx(sampling(small)["gpu_hours"] * 1000 / 400)
    started = {**ASSUMED, "startup_seconds": 360}
    added = (sampling(estimate(study(m=hub_model("Org/M-14B", size="14b")), started))["gpu_hours"]
             - sampling(big)["gpu_hours"])
    assert added == pytest.approx(2 * 360 * 2 / 3600)  # two shards, two GPUs each


def test_total_is_the_sum_of_the_rules_and_disk_counts_each_checkpoint():
    config = study(a=hub_model("Org/A-7B"), b=hub_model("Org/B-14B"))
    config["studies"] = {"perplexity": {"samples_per_problem": 2}}
    config["models"]["b"].update(family="g")
    config["models"]["rl"] = {**hub_model("Org/A-7B-RL"), "role": "rl", "parent": "a"}
    result = estimate(config, ASSUMED)
    assert result["gpu_hours"] == pytest.approx(sum(r["gpu_hours"]
                                                    for r in result["rules"].values()))
    assert result["rules"]["score_checkpoint_perplexity"]["jobs"] == 1  # family f only
    # Responses of the base and its RL model (2 per problem), scored by both.
    assert result["rules"]["score_checkpoint_perplexity"]["tokens"] == \
        2 * 2 * 10 * 2 * (100 + 0.5 * 1000)
    assert result["checkpoint_bytes"] == (7 + 14 + 7) * 1e9 * 2
    assert result["sample_bytes"] == 2 * sampling(result)["tokens"] * 4  # samples + scored


def test_training_scales_with_steps_and_saves_each_checkpoint():
    train = {"data": "train_set", "prompts": 100, "trainer": "grpo", "steps": 10,
             "prompts_per_step": 8, "generations_per_prompt": 4, "temperature": 1.0,
             "top_p": 1.0, "max_new_tokens": 500, "learning_rate": 1e-6, "gpus": 2}
    config = study(base=hub_model("Org/Base-7B"))
    config["models"]["ours"] = {"family": "f", "role": "rl", "parent": "base",
                                "source": "trained", "templates": {"default": "t"},
                                "train": train, "checkpoint_steps": [5]}
    longer = copy.deepcopy(config)
    longer["models"]["ours"]["train"]["steps"] = 20
    one, two = estimate(config, ASSUMED), estimate(longer, ASSUMED)
    rule = "train_paper_rl"
    assert one["rules"][rule]["tokens"] == 10 * 8 * 4 * 0.5 * 500
    assert two["rules"][rule]["gpu_hours"] == pytest.approx(2 * one["rules"][rule]["gpu_hours"])
    rollouts = 10 * 8 * 4
    expected = (rollouts * 0.5 * 500 / 1000 + 8 * 7e9 * rollouts * (100 + 250) / 1e14) / 3600
    assert one["rules"][rule]["gpu_hours"] == pytest.approx(expected)
    # The fetched base once, the trained model's final and step-5 checkpoints.
    assert one["checkpoint_bytes"] == (7 + 2 * 7) * 1e9 * 2


def test_size_class_from_the_entry_a_parent_or_the_hub_id():
    config = study(a=hub_model("Qwen/Qwen2.5-7B"), b=hub_model("x/Llama-3.1-8B", size="8b"),
                   c=hub_model("x/no-size"))
    config["models"]["d"] = {**config["models"]["c"], "hub": "x/tuned", "parent": "a"}
    assert [size_class(config, m) for m in "abcd"] == ["7b", "8b", None, "7b"]
    result = estimate(config, ASSUMED)
    assert any(line.startswith("models.c:") for line in result["unknown"])
    assert any(line.startswith("models.b:") for line in result["unknown"])  # 8b has no rate
    assert "not estimated" in format_estimate(result, "test")


def test_a_study_overrides_the_catalog_assumptions_key_by_key():
    catalog = {"estimate": ASSUMED}
    merged = assumptions(catalog, {"estimate": {"decode_tokens_per_gpu_second": {"7b": 5.0},
                                                "startup_seconds": 9}})
    assert merged["decode_tokens_per_gpu_second"] == {"7b": 5.0, "14b": 400.0}
    assert merged["startup_seconds"] == 9 and merged["prompt_tokens"] == 100


def test_measured_rates_are_tokens_per_gpu_second_of_a_finished_run(tmp_path):
    config = study(a=hub_model("Org/A-14B", size="14b"))
    for shard, (tokens, seconds) in enumerate([([100, 300], 10.0), ([200, 200], 30.0)]):
        samples = tmp_path / f"results/samples/a/bench/T0.6/shard{shard}_block0.parquet"
        timing = tmp_path / f"benchmarks/sample_model/a/bench/T0.6/shard{shard}_block0.tsv"
        samples.parent.mkdir(parents=True, exist_ok=True)
        timing.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"completion_tokens": tokens}).to_parquet(samples)
        timing.write_text(f"s\th:m:s\n{seconds}\t0:00:10\n")
    rates = measured_rates(tmp_path, config)
    assert rates["decode_tokens_per_gpu_second"] == {"14b": 800 / (40.0 * 2)}
    assert rates["mean_completion_share"] == pytest.approx(200 / 1000)
    with pytest.raises(ValueError, match="no sampling job"):
        measured_rates(tmp_path / "empty", config)


def test_the_shipped_configs_plan_every_sampling_job_the_workflow_runs():
    """configs/paper.yaml: the catalog's assumptions cover every size class it uses, and one
    job per model, benchmark, temperature and shard is counted (n_overrides applied)."""
    catalog = yaml.safe_load((REPO / "configs/catalog.yaml").read_text())
    config, not_run = planned_config(REPO / "configs/paper.yaml", catalog)
    result = estimate(config, assumptions(catalog, config))
    assert result["unknown"] == []
    jobs = sampling_jobs(config)
    assert sampling(result)["jobs"] == sum(job["jobs"] for job in jobs)
    llama = [j for j in jobs if j["model"] == "llama31_8b" and j["benchmark"] == "math500"]
    assert [j["n"] for j in llama] == [1024]
    assert "models.qwen25_14b-simplerl-zoo" in not_run
