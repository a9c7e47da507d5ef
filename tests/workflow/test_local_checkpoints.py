"""One DAG at every scale: the tiny world's own trained checkpoints, given as local folders,
go through the checkpoint path (hf backend on CPU, a benchmark file, math graders) to the same
analyses and claims report as the tiny world, with C5 from a committed annotation file."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
import yaml

from helpers import dry_run_jobs
from workflow_runner import REPO, copy_workflow, run_snakemake

BENCHMARK_FILE = "data/tiny_math/t_easy.jsonl"
# The base's correct samples on the RL model's solved t_easy problems, as exported by this
# run, with `valid` filled by the tiny world's exact step checker (an annotator who never
# errs): data/annotations/README.md says how such a file is made by hand.
ANNOTATIONS = "data/annotations/example_tiny_t_easy.csv"
CLAIMS = [f"C{i}" for i in range(1, 9)]


def local_checkpoint_config(study, annotations: list[str]) -> dict:
    folder = study / "results/models"
    entries = {"tdeep-base": ("base", {}), "tdeep-rl-narrow": ("rl", {"recipe": "narrow"}),
               "tdeep-distilled": ("distilled", {})}
    models = {model: {"family": "tdeep", "role": role, "source": "local",
                      "path": str(folder / model), "templates": {"default": "plain"},
                      **({"parent": "tdeep-base"} if role != "base" else {}), **extra}
              for model, (role, extra) in entries.items()}
    return {
        "scale": "paper", "device": "cpu", "models": models,
        "prompt_templates": {"plain": "{question}"},
        "benchmarks": {"t_easy": {
            "file": BENCHMARK_FILE, "format": "problem_answer", "expected_rows": 12, "n": 16,
            "sha256": hashlib.sha256((REPO / "tests/data" / "t_easy.jsonl").read_bytes()).hexdigest()}},
        "sampling": {"backend": "hf", "temperatures": [1.0], "top_p": 1.0, "max_new_tokens": 24,
                     "shards": 1, "dtype": "float32", "batch_size": 512, "mem_mb": 2000,
                     "runtime_minutes": 10},
        # Tiny-world answers are plain digits after '|': the lenient rules read the last number.
        "analysis": {"claim_metric": "lenient", "claim_temperature": 1.0,
                     "bootstrap_resamples": 200, "cot_annotations": annotations},
        "studies": {"perplexity": {"samples_per_problem": 4, "batch_size": 64},
                    "temperatures": {"values": [0.7], "families": ["tdeep"],
                                     "samples_per_problem": 4, "batch_size": 64}},
        "grading": {"threads": 1}, "threads": {"sample": 1},
        "plots": {"formats": ["png"], "dpi": 60},
    }


def run_local_checkpoints(study, workdir, annotations: list[str]):
    copy_workflow(workdir)
    (workdir / BENCHMARK_FILE).parent.mkdir(parents=True, exist_ok=True)
    (workdir / BENCHMARK_FILE).write_bytes((REPO / "tests/data/t_easy.jsonl").read_bytes())
    config = local_checkpoint_config(study, annotations)
    (workdir / "local.yaml").write_text(yaml.safe_dump(config))
    run_snakemake(workdir, "--cores", "2", "--configfile", "local.yaml")
    return workdir


@pytest.fixture(scope="module")
def local_run(test_study, tmp_path_factory):
    return run_local_checkpoints(test_study, tmp_path_factory.mktemp("local") / "wf", [ANNOTATIONS])


def test_the_benchmark_file_is_the_test_worlds_own(test_study):
    # tests/data/t_easy.jsonl holds the test configuration's t_easy problems.
    problems = pd.read_parquet(test_study / "results/data/benchmarks/t_easy.parquet")
    lines = [json.loads(line) for line in (REPO / "tests/data/t_easy.jsonl").read_text().splitlines()]
    assert [(x["problem"], x["answer"]) for x in lines] == list(zip(problems.prompt, problems.answer))


def test_every_claim_has_a_value_and_verdict_or_names_its_missing_input(local_run):
    claims = json.loads((local_run / "results/report/claims.json").read_text())
    overall = {row["id"]: row for row in claims if row["scope"] == "overall"}
    assert sorted(overall) == CLAIMS
    for claim, row in overall.items():
        if claim == "C6":
            assert row["verdict"] == "not computed"
            assert row["evidence"] == "study `algorithms` is not in this configuration"
            continue
        assert row["verdict"] in ("holds", "does not hold", "inconclusive"), row
    scoped = [row for row in claims if "benchmark=" in row["scope"] and row["id"] in ("C1", "C2", "C7")]
    assert scoped and all(row["ci_low"] is not None and row["ci_high"] is not None for row in scoped)
    # Not degenerate: the trained models solve problems, and RL differs from its base.
    passk = pd.read_csv(local_run / "results/tables/passk.csv")
    at_one = passk[(passk.metric == "lenient") & (passk.k == 1)
                   & (passk.temperature == 1.0)].set_index("model").pass_at_k
    assert 0 < at_one["tdeep-base"] < 1 and at_one["tdeep-rl-narrow"] != at_one["tdeep-base"]


def test_c5_comes_from_the_annotation_file(local_run):
    cot = pd.read_csv(local_run / "results/tables/cot_validity.csv")
    assert (cot["mode"] == "annotated").all() and cot["model_solved"].sum() > 0
    claims = json.loads((local_run / "results/report/claims.json").read_text())
    c5 = [row for row in claims if row["id"] == "C5" and row["scope"] != "overall"]
    assert c5 and c5[0]["value"] == pytest.approx(cot["share"].iloc[0])


def test_the_analyses_of_every_scale_ran(local_run):
    results = local_run / "results"
    coverage = pd.read_csv(results / "tables/coverage.csv")
    assert set(coverage.other_model) == {"tdeep-rl-narrow", "tdeep-distilled"}
    assert (results / "tables/accuracy_histogram.csv").exists()
    shift = pd.read_csv(results / "tables/perplexity_shift.csv")
    assert set(shift.model) == {"tdeep-rl-narrow"} and shift.value.notna().all()
    exported = pd.read_csv(results / "annotations/t_easy/to_annotate.csv", keep_default_na=False)
    annotated = pd.read_csv(REPO / ANNOTATIONS, keep_default_na=False)
    key = ["rl_model", "problem_id", "sample_id"]
    assert exported[key].astype(str).values.tolist() == annotated[key].astype(str).values.tolist()
    assert (results / "annotations/t_easy/pages/index.html").exists()
    temperature = pd.read_csv(results / "tables/temperature_study.csv")
    assert set(temperature.rl_model) == {"tdeep-rl-narrow"}
    assert set(temperature.comparison) >= {"same temperature"}
    entropy = pd.read_csv(results / "tables/entropy/tdeep.csv")
    assert sorted(set(entropy.temperature)) == [0.7, 1.0] and entropy.mean_entropy.gt(0).all()
    assert (results / "figures/passk_curves_tdeep.png").stat().st_size > 0


def test_a_family_without_an_rl_model_plans_no_perplexity_for_it(test_study, tmp_path):
    # One's own models may have a base alone: it is sampled and counted, but perplexity
    # (a base against its RL models) and C5's export concern only families with RL models.
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / BENCHMARK_FILE).parent.mkdir(parents=True, exist_ok=True)
    (workdir / BENCHMARK_FILE).write_bytes((REPO / "tests/data/t_easy.jsonl").read_bytes())
    config = local_checkpoint_config(test_study, [])
    config["models"]["twide-base"] = {"family": "twide", "role": "base", "source": "local",
                                      "path": str(test_study / "results/models/twide-base"),
                                      "templates": {"default": "plain"}}
    (workdir / "local.yaml").write_text(yaml.safe_dump(config))
    jobs = dry_run_jobs(workdir, configfile="local.yaml")
    perplexity = [job for job in jobs if job["rule"] == "score_checkpoint_perplexity"]
    assert [job["output"] for job in perplexity] == [["results/tables/perplexity/tdeep.csv"]]
    # Four models at T = 1.0; the temperature study's tdeep base and RL model also at 0.7.
    assert sum(job["rule"] == "sample_model" for job in jobs) == 4 + 2
