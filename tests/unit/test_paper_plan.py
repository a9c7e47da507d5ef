"""The paper-scale plan from configs/paper.yaml: models, n, prompts, GPUs, missing pins."""

from __future__ import annotations

import copy
import re

import pandas as pd
import pytest
import yaml

from rlvr_boundary.workflow.paper_plan import (
    benchmark_shards,
    load_study_config,
    model_gpus,
    model_sampling,
    paper_evaluations,
    paper_models,
    prompt_template,
    samples_per_problem,
    with_catalog,
    without_unpinned,
)
from rlvr_boundary.sampling.checkpoints import sample_problems, shard_problems
from workflow_runner import REPO

PAPER = load_study_config(REPO / "configs/paper.yaml", REPO / "configs/catalog.yaml")


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


def test_what_is_not_pinned_is_left_out_with_its_dependents():
    planned, left_out = without_unpinned(PAPER)
    assert left_out["models.qwen25_14b-simplerl-zoo"] == "revision not pinned"
    assert left_out["benchmarks.olympiadbench"] == "not pinned (sha256, hub.revision)"
    assert "qwen25_7b" in planned["models"] and "qwen25_14b" in planned["models"]
    assert "olympiadbench" not in planned["benchmarks"] and "math500" in planned["benchmarks"]
    assert set(planned["models"]) | {k.split(".", 1)[1] for k in left_out
                                     if k.startswith("models.")} == set(PAPER["models"])
    # A left-out base takes its RL and trained models (and their checkpoints) with it.
    config = copy.deepcopy(PAPER)
    config["models"]["qwen25_7b"]["revision"] = None
    config["models"]["ours"] = {"family": "qwen25_7b", "role": "rl", "parent": "qwen25_7b",
                                "source": "trained", "templates": {"default": "qwen-boxed"},
                                "train": {"data": "omni_math_rule", "prompts": 8}}
    config["models"]["ours-step00010"] = {"family": "qwen25_7b", "role": "rl",
                                          "source": "checkpoint", "checkpoint_of": "ours",
                                          "path": "x", "templates": {"default": "qwen-boxed"}}
    _, left_out = without_unpinned(config)
    assert left_out["models.qwen25_7b-simplerl-zoo"] == "depends on qwen25_7b, not run"
    assert left_out["models.ours"].startswith("depends on") or "not pinned" in left_out["models.ours"]
    assert left_out["models.ours-step00010"] == "depends on ours, not run"


def test_shards_cover_every_problem_once():
    problems = pd.DataFrame({"problem_id": [f"p{i}" for i in range(7)], "question": ["q"] * 7})
    parts = [shard_problems(problems, 3, s).problem_id.tolist() for s in range(3)]
    assert sum(parts, []) == problems.problem_id.tolist()


def test_unknown_backend_is_refused_before_loading_anything():
    problems = pd.DataFrame({"problem_id": ["a"], "question": ["q"]})
    with pytest.raises(ValueError, match="sampling.backend 'tgi'"):
        sample_problems("/nonexistent", problems, "{question}", 1, 0.6,
                        {"backend": "tgi", "top_p": 1.0, "max_new_tokens": 4}, 0)


CATALOG = yaml.safe_load((REPO / "configs/catalog.yaml").read_text())


def test_benchmarks_and_templates_come_from_the_catalog_by_name():
    own = {"models": {}, "benchmarks": ["math500", "aime24"]}
    merged = with_catalog(own, CATALOG)
    assert merged["benchmarks"]["math500"] == CATALOG["benchmarks"]["math500"]
    assert merged["prompt_templates"] == CATALOG["prompt_templates"]
    assert merged["rl_data"] == {}  # only RL data a model or the algorithm study trains on
    smoke = with_catalog({"models": {}, "benchmarks": {"aime24": {"n": 8, "limit": 2}}}, CATALOG)
    assert smoke["benchmarks"]["aime24"] == {**CATALOG["benchmarks"]["aime24"], "n": 8, "limit": 2}
    assert with_catalog(merged, CATALOG) == merged  # merging twice changes nothing
    study = {"models": {}, "benchmarks": [], "studies": {"algorithms": {"data": "omni_math_rule"}}}
    assert set(with_catalog(study, CATALOG)["rl_data"]) == {"omni_math_rule"}


@pytest.mark.parametrize("own, key", [
    ({"benchmarks": {"math500": {"n": 4, "sha256": "0" * 64}}}, "benchmarks.math500.sha256"),
    ({"benchmarks": {"aime24": {"file": "mine.jsonl"}}}, "benchmarks.aime24.file"),
    ({"benchmarks": [], "prompt_templates": {"qwen-boxed": "{question}"}},
     "prompt_templates.qwen-boxed"),
])
def test_a_study_cannot_repin_a_shipped_name(own, key):
    with pytest.raises(ValueError, match=f"config key '{re.escape(key)}'"):
        with_catalog({"models": {}, **own}, CATALOG)


def test_a_model_with_a_short_context_gets_its_own():
    vllm = {"backend": "vllm", "max_model_len": 32768, "max_new_tokens": 16384, "top_p": 0.95}
    math = model_sampling(PAPER, "qwen25_math_7b", vllm)
    assert (math["max_model_len"], math["max_new_tokens"]) == (4096, 3584)
    assert model_sampling(PAPER, "qwen25_7b", vllm) == vllm
    hf = {"backend": "hf", "max_new_tokens": 16384}  # hf has no engine context to set
    assert model_sampling(PAPER, "qwen25_math_7b", hf) == {"backend": "hf", "max_new_tokens": 3584}


def test_shards_never_outnumber_problems():
    smoke = {**PAPER, "benchmarks": {**PAPER["benchmarks"],
                                     "math500": {**PAPER["benchmarks"]["math500"], "limit": 5}}}
    assert PAPER["sampling"]["shards"] == 8
    assert benchmark_shards(smoke, "math500") == 5
    assert benchmark_shards(PAPER, "aime24") == 8  # 30 problems
    own = {"sampling": {"shards": 8}, "benchmarks": {"mine": {"n": 4}}}  # size unknown
    assert benchmark_shards(own, "mine") == 8


def test_shipped_configs_pin_each_hub_model_alike():
    """configs/own_models.yaml and paper_smoke.yaml repeat models of paper.yaml: one pin each."""
    pins = {}
    for path in sorted((REPO / "configs").glob("*.yaml")):
        for entry in (yaml.safe_load(path.read_text()).get("models") or {}).values():
            if entry.get("hub"):
                pins.setdefault(entry["hub"], set()).add(entry.get("revision"))
    assert {"Qwen/Qwen2.5-7B", "hkust-nlp/Qwen-2.5-7B-SimpleRL-Zoo"} <= set(pins)
    assert {hub: revs for hub, revs in pins.items() if len(revs) > 1} == {}
