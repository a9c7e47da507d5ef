"""The paper-scale workflow (`scale: paper`): the shipped config's DAG, and the whole chain
fetch -> sample -> grade -> count -> pass@k -> claims run for real on tiny checkpoints
saved in a Hugging Face cache (HF_HUB_OFFLINE: the Hub code reads them, nothing downloads)."""

from __future__ import annotations

import json
import re
from collections import Counter

import pandas as pd
import pytest
import yaml

from rlvr_boundary.workflow.paper_plan import (
    load_study_config,
    paper_evaluations,
    samples_per_problem,
    without_unpinned,
)
from tiny_hub import save_in_cache
from workflow_runner import REPO, copy_workflow, run_snakemake

PAPER = load_study_config(REPO / "configs/paper.yaml", REPO / "configs/catalog.yaml")
GSM8K_SHA = PAPER["benchmarks"]["gsm8k"]["sha256"]
BASE_COMMIT, RL_COMMIT = "1" * 40, "2" * 40


def _jobs(dry_run_output: str) -> list[dict]:
    """Each job of a dry run: rule, wildcards and resources as printed."""
    jobs = []
    for block in dry_run_output.split("\nrule ")[1:]:
        job = {"rule": block.split(":", 1)[0]}
        for key in ("wildcards", "resources"):
            match = re.search(rf"^\s+{key}: (.*)$", block, re.MULTILINE)
            if match:
                job[key] = dict(item.split("=", 1) for item in match.group(1).split(", "))
        jobs.append(job)
    return jobs


def test_paper_config_builds_the_whole_dag_with_gpus(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    result = run_snakemake(workdir, "-n", "--configfile", "configs/paper.yaml")
    jobs = _jobs(result.stdout)
    rules = Counter(job["rule"] for job in jobs)
    # The unpinned (4 RL models, OlympiadBench) are left out and listed; the rest is planned.
    assert "Not run, not pinned" in result.stderr and "benchmarks.olympiadbench" in result.stderr
    planned, left_out = without_unpinned(PAPER)
    models, benchmarks = len(planned["models"]), len(planned["benchmarks"])
    assert (len(PAPER["models"]), len(PAPER["benchmarks"]), len(left_out)) == (12, 7, 5)
    shards = PAPER["sampling"]["shards"]
    assert rules["fetch_model"] == models == 8
    assert rules["prepare_benchmark"] == benchmarks == 6
    # Every model on every benchmark, and the temperature study's extra temperatures.
    evaluations = paper_evaluations(planned)
    assert len(evaluations) > models * benchmarks
    # A job per shard and block of 128 samples: n = 1,024 (AIME, AMC, Llama's) is 8 blocks.
    block_size = PAPER["sampling"]["block_size"]
    blocks = [-(-samples_per_problem(planned, m, b) // block_size) for m, b, _ in evaluations]
    assert rules["sample_model"] == sum(blocks) * shards
    assert max(blocks) == 8 and min(blocks) == 1
    assert rules["grade_samples"] == len(evaluations)
    assert rules["count_correct"] == rules["register_models"] == 1
    # The same analyses as the tiny world: boundary, perplexity, temperature, C5's export.
    families_with_rl = {entry["family"] for entry in planned["models"].values()
                        if entry["role"] == "rl"}
    assert rules["export_cot_annotations"] == benchmarks
    assert rules["score_checkpoint_perplexity"] == len(families_with_rl) == 1
    for rule in ("analyze_boundary", "summarize_perplexity", "measure_checkpoint_entropy",
                 "analyze_temperature", "estimate_passk", "write_claims_report"):
        assert rules[rule] == 1, rule
    assert "C6: not run: RL data not pinned" in result.stderr
    # Self-contained: no tiny-world job leaks in from config.yaml.
    assert not {"make_task_data", "pretrain_base", "train_rl", "distill_student"} & set(rules)
    # Each sampling job holds its model's tensor-parallel GPUs.
    sizes = {model: entry["size"] for model, entry in planned["models"].items()}
    gpus = {job["wildcards"]["model"]: int(job["resources"]["gpu"])
            for job in jobs if job["rule"] == "sample_model"}
    assert gpus == {m: PAPER["sampling"]["tensor_parallel"][sizes[m]] for m in planned["models"]}
    assert {gpus["qwen25_7b"], gpus["qwen25_14b"], gpus["qwen25_32b"]} == {1, 2, 4}


def _tiny_paper_config(tmp_path, workdir) -> dict:
    cache = tmp_path / "hub"
    save_in_cache(cache, "rlvr-test/tiny-base", BASE_COMMIT, seed=0)
    save_in_cache(cache, "rlvr-test/tiny-rl", RL_COMMIT, seed=1)
    distilled = save_in_cache(tmp_path / "local", "rlvr-test/tiny-distilled", "3" * 40, seed=2)
    template = {"default": "qwen-boxed"}
    return {
        "scale": "paper", "device": "cpu", "hub": {"cache_dir": str(cache)},
        "models": {
            "tiny": {"family": "tiny", "role": "base", "hub": "rlvr-test/tiny-base",
                     "revision": BASE_COMMIT, "size": "tiny", "templates": template},
            "tiny-rl": {"family": "tiny", "role": "rl", "parent": "tiny", "recipe": "test_recipe",
                        "hub": "rlvr-test/tiny-rl", "revision": RL_COMMIT, "size": "tiny",
                        "templates": template},
            "tiny-distilled": {"family": "tiny", "role": "distilled", "parent": "tiny",
                               "source": "local", "path": str(distilled), "templates": template},
            # Trained here: GRPO from `tiny` on GSM8K problems with the math-verify reward.
            "tiny-grpo": {"family": "tiny", "role": "rl", "parent": "tiny", "recipe": "ours",
                          "source": "trained", "templates": template,
                          "train": {"data": "gsm8k_train", "prompts": 4, "trainer": "grpo",
                                    "steps": 2, "prompts_per_step": 2, "generations_per_prompt": 2,
                                    "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 8,
                                    "learning_rate": 0.0001}},
        },
        "rl_data": {"gsm8k_train": {"file": "data/math_eval/gsm8k/test.jsonl", "format": "gsm8k",
                                    "sha256": GSM8K_SHA}},
        # C6 with pinned RL data: two algorithms from `tiny`, GRPO's step-1 checkpoint a
        # model of its own (the training-length study).
        "studies": {"algorithms": {
            "base": "tiny", "data": "gsm8k_train", "algorithms": ["grpo", "rloo"],
            "benchmarks": ["math500"], "checkpoint_steps": [1, 2],
            "train": {"prompts": 4, "prompts_per_step": 2, "generations_per_prompt": 2,
                      "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 8,
                      "learning_rate": 0.0001},
            "settings": {"grpo": {"trainer": "grpo"}, "rloo": {"trainer": "rloo"}}}},
        # Shipped benchmarks and templates by name: files, pins and texts from the catalog.
        "benchmarks": {"math500": {"n": 4, "limit": 3}, "aime24": {"n": 8, "limit": 2}},
        "sampling": {"backend": "hf", "max_new_tokens": 8, "shards": 2, "dtype": "float32",
                     "mem_mb": 2000, "runtime_minutes": 10},
        "grading": {"threads": 2},
        "threads": {"sample": 1},
        "analysis": {"bootstrap_resamples": 200},
        "plots": {"formats": ["png"]},
    }


@pytest.fixture(scope="module")
def tiny_paper_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("paper")
    workdir = copy_workflow(tmp_path / "wf")
    config = _tiny_paper_config(tmp_path, workdir)
    (workdir / "paper_tiny.yaml").write_text(yaml.safe_dump(config))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        run_snakemake(workdir, "--cores", "2", "--configfile", "paper_tiny.yaml")
    return workdir, config


def test_tiny_paper_run_fetches_pinned_snapshots_with_manifests(tiny_paper_run):
    workdir, config = tiny_paper_run
    manifest = json.loads((workdir / "results/models/tiny/manifest.json").read_text())
    assert manifest["revision"] == BASE_COMMIT and manifest["path"].endswith(BASE_COMMIT)
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(manifest["files"])
    registry = pd.read_csv(workdir / "results/tables/models.csv", keep_default_na=False)
    identity = dict(zip(registry.model, registry.revision_or_sha256))
    assert identity["tiny"] == f"rlvr-test/tiny-base@{BASE_COMMIT} sha256:{manifest['digest']}"
    sources = dict(zip(registry.model, registry.source))
    assert sources["tiny-distilled"] == "local" and sources["tiny-grpo"] == "trained"


def test_tiny_paper_run_trains_an_rl_model_with_the_math_verify_reward(tiny_paper_run):
    workdir, _ = tiny_paper_run
    history = pd.read_csv(workdir / "results/training/tiny-grpo.csv")
    assert history.step.tolist() == [1, 2] and history.reward.between(0, 1).all()
    prompts = pd.read_parquet(workdir / "results/trained/tiny-grpo.prompts.parquet")
    assert len(prompts) == 1319 and prompts.prompt.str.startswith("<|im_start|>system").all()
    assert "reward math_verify" in (workdir / "logs/train_paper_rl/tiny-grpo.log").read_text()
    trained = json.loads((workdir / "results/models/tiny-grpo/manifest.json").read_text())
    assert trained["source"] == "trained" and "model.safetensors" in trained["files"]


def test_tiny_paper_run_counts_every_sample_under_both_graders(tiny_paper_run):
    workdir, _ = tiny_paper_run
    counts = pd.read_parquet(workdir / "results/tables/counts.parquet")
    assert set(counts.metric) == {"math_verify", "lenient"}
    per_benchmark = counts.groupby("benchmark").agg(n=("n", "max"), problems=("problem_id", "nunique"))
    assert per_benchmark.to_dict("index") == {"aime24": {"n": 8, "problems": 2},
                                              "math500": {"n": 4, "problems": 3}}
    assert (counts.groupby(["model", "benchmark", "metric"]).size() == counts.groupby(
        ["model", "benchmark", "metric"]).problem_id.nunique()).all()
    samples = pd.read_parquet(workdir / "results/samples/tiny/math500/T0.6/shard0_block0.parquet")
    assert list(samples.columns) == ["benchmark", "problem_id", "sample_id", "completion",
                                     "finish_reason", "completion_tokens", "stop_reason"]
    grading = pd.read_csv(workdir / "results/tables/grading.csv")
    # The 4 main models on both benchmarks, the algorithm study's 3 models on math500 only.
    assert len(grading) == 4 * 2 + 3 and set(grading.samples) == {12, 16}
    # 8 new tokens from an untrained model: every sample is cut short, and counted as such.
    assert (grading.truncated == grading.samples).all()
    stops = pd.read_csv(workdir / "results/tables/stop_reasons.csv")
    assert set(stops.stop_reason) == {"length"} and (stops.share == 1).all()
    assert stops.groupby(["model", "benchmark"]).samples.sum().sum() == grading.samples.sum()


def test_tiny_paper_run_reports_claims_and_curves(tiny_paper_run):
    workdir, _ = tiny_paper_run
    passk = pd.read_csv(workdir / "results/tables/passk.csv")
    ks = passk.groupby("benchmark").k.apply(lambda k: sorted(set(k))).to_dict()
    assert ks == {"aime24": [1, 2, 4, 8], "math500": [1, 2, 4]}
    claims = json.loads((workdir / "results/report/claims.json").read_text())
    scopes = {(row["id"], row["scope"]) for row in claims}
    assert ("C1", "family=tiny/regime=test_recipe/benchmark=math500") in scopes
    assert ("C7", "family=tiny/benchmark=aime24") in scopes
    assert ("C2", "family=tiny/regime=ours/benchmark=aime24") in scopes
    assert "math-verify" in (workdir / "results/report/claims.md").read_text()
    assert (workdir / "results/figures/passk_curves_tiny.png").stat().st_size > 0
    again = run_snakemake(workdir, "-n", "--configfile", "paper_tiny.yaml")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_tiny_paper_run_trains_the_algorithm_study_and_reports_c6(tiny_paper_run):
    workdir, _ = tiny_paper_run
    registry = pd.read_csv(workdir / "results/tables/models.csv", keep_default_na=False)
    study = registry[registry.study != ""].set_index("model")
    assert study.study.to_dict() == {"tiny-rl-grpo": "algorithms", "tiny-rl-rloo": "algorithms",
                                     "tiny-rl-grpo-step00001": "length"}
    assert study.loc["tiny-rl-grpo-step00001", "checkpoint_of"] == "tiny-rl-grpo"
    gap = pd.read_csv(workdir / "results/tables/sampling_efficiency_gap.csv")
    assert set(gap.model) == {"tiny-rl-grpo", "tiny-rl-rloo"} and set(gap.benchmark) == {"math500"}
    length = pd.read_csv(workdir / "results/tables/training_length.csv")
    assert sorted(set(length.step)) == [0, 1, 2]
    claims = json.loads((workdir / "results/report/claims.json").read_text())
    c6 = [row for row in claims if row["id"] == "C6"]
    assert len(c6) > 1 and all(row["verdict"] != "not computed" for row in c6)
    # Study models never enter the main claims.
    assert not any("tiny-rl-rloo" in row["scope"] for row in claims if row["id"] in ("C1", "C2"))


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["models"]["qwen25_7b"].update(revison="x"), "revison"),
    (lambda c: c["models"]["qwen25_7b"]["templates"].update(default="qwen-box"),
     "unknown template 'qwen-box'"),
    (lambda c: c["analysis"].update(claim_temperature=1.0), "claim_temperature 1.0"),
])
def test_a_bad_paper_config_fails_before_any_job(tmp_path, edit, message):
    workdir = copy_workflow(tmp_path / "wf")
    config = load_study_config(REPO / "configs/paper.yaml", REPO / "configs/catalog.yaml")
    config.setdefault("analysis", {})
    edit(config)
    (workdir / "bad.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(workdir, "-n", "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
