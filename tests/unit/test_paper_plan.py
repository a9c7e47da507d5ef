"""The paper-scale plan from configs/paper.yaml: models, n, prompts, GPUs, missing pins."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml

from rlvr_boundary.workflow.paper_plan import (
    model_gpus,
    paper_evaluations,
    paper_models,
    prompt_template,
    samples_per_problem,
    unpinned,
)
from rlvr_boundary.sampling.checkpoints import sample_problems, shard_problems
from workflow_runner import REPO

PAPER = yaml.safe_load((REPO / "configs/paper.yaml").read_text())


def test_models_keep_roles_parents_and_recipes():
    models = paper_models(PAPER)
    assert models["qwen25_7b-simplerl-zoo"].role == "rl"
    assert models["qwen25_7b-simplerl-zoo"].parent == "qwen25_7b"
    assert models["qwen25_7b-simplerl-zoo"].regime == "simplerl_zoo"
    assert models["qwen25_math_7b-oat-zero"].regime == "oat_zero"
    assert models["r1_distill_qwen_7b"].role == "distilled"


def test_a_parent_must_be_a_model_of_the_config():
    config = copy.deepcopy(PAPER)
    config["models"]["qwen25_7b-simplerl-zoo"]["parent"] = "qwen3_7b"
    with pytest.raises(ValueError, match="parent: 'qwen3_7b' is not a model"):
        paper_models(config)


def test_samples_per_problem_follow_the_paper_and_family_overrides():
    assert samples_per_problem(PAPER, "qwen25_7b", "math500") == 128
    assert samples_per_problem(PAPER, "qwen25_7b", "aime24") == 1024
    assert samples_per_problem(PAPER, "llama31_8b-simplerl-zoo", "math500") == 1024


def test_prompt_templates_are_per_model_and_checked():
    assert "<|im_start|>" in prompt_template(PAPER, "qwen25_7b", "gsm8k")
    assert prompt_template(PAPER, "llama31_8b", "gsm8k").startswith("Question:")
    config = copy.deepcopy(PAPER)
    config["models"]["qwen25_7b"]["templates"] = {"default": "qwen-box"}
    with pytest.raises(ValueError, match="unknown template 'qwen-box'"):
        prompt_template(config, "qwen25_7b", "gsm8k")


def test_gpus_follow_tensor_parallel_size_and_backend():
    assert [model_gpus(PAPER, m) for m in ("qwen25_7b", "qwen25_14b", "qwen25_32b")] == [1, 2, 4]
    on_hf = {**PAPER, "sampling": {**PAPER["sampling"], "backend": "hf"}}
    assert model_gpus(on_hf, "qwen25_32b") == 1
    assert model_gpus({**PAPER, "device": "cpu"}, "qwen25_32b") == 0


def test_evaluations_and_missing_pins():
    evaluations = paper_evaluations(PAPER)
    at_claim = [e for e in evaluations if e[2] == "0.6"]
    assert len(at_claim) == len(PAPER["models"]) * len(PAPER["benchmarks"])
    # The temperature study: its families' base and RL models on its benchmarks, also at
    # its other temperatures.
    study = PAPER["studies"]["temperatures"]
    others = {(m, b, t) for m, b, t in evaluations if t != "0.6"}
    chosen = [m for m, e in PAPER["models"].items()
              if e["family"] in study["families"] and e["role"] in ("base", "rl")]
    assert others == {(m, b, str(float(t))) for m in chosen for b in study["benchmarks"]
                      for t in study["values"] if float(t) != 0.6}
    missing = unpinned(PAPER)
    assert "models.qwen25_7b.revision" not in missing
    assert "benchmarks.olympiadbench.hub.revision" in missing
    assert "rl_data.omni_math_rule.hub.revision" in missing


def test_shards_cover_every_problem_once():
    problems = pd.DataFrame({"problem_id": [f"p{i}" for i in range(7)], "question": ["q"] * 7})
    parts = [shard_problems(problems, 3, s).problem_id.tolist() for s in range(3)]
    assert sum(parts, []) == problems.problem_id.tolist()


def test_unknown_backend_is_refused_before_loading_anything():
    problems = pd.DataFrame({"problem_id": ["a"], "question": ["q"]})
    with pytest.raises(ValueError, match="sampling.backend 'tgi'"):
        sample_problems("/nonexistent", problems, "{question}", 1, 0.6,
                        {"backend": "tgi", "top_p": 1.0, "max_new_tokens": 4}, 0)
