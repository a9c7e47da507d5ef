"""The shipped configs/paper.yaml, every model and benchmark, run to its report on CPU.

Each pinned Hub model is a tiny checkpoint saved in an offline cache under the config's own
id and revision; only what makes it a CPU smoke run is overridden (the hf backend, 3
problems per benchmark, n = 4, short completions). What is not pinned (four RL models,
OlympiadBench) is left out of the plan, and the report says so: the rest reaches it."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from tiny_hub import save_in_cache
from workflow_runner import REPO, copy_workflow, run_snakemake

SHIPPED = yaml.safe_load((REPO / "configs/paper.yaml").read_text())
NOT_PINNED = {"qwen25_14b-simplerl-zoo", "qwen25_32b-simplerl-zoo", "llama31_8b-simplerl-zoo",
              "qwen25_math_7b-oat-zero"}


@pytest.fixture(scope="module")
def shipped_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("shipped")
    cache = tmp_path / "hub"
    for seed, entry in enumerate(SHIPPED["models"].values()):
        if entry.get("revision"):
            save_in_cache(cache, entry["hub"], entry["revision"], seed=seed)
    # Short completions for every model (Qwen2.5-Math's own budget, too).
    models = {m: {**entry, **({"max_new_tokens": 8} if "max_new_tokens" in entry else {})}
              for m, entry in SHIPPED["models"].items()}
    config = {**SHIPPED, "models": models, "device": "cpu", "hub": {"cache_dir": str(cache)},
              "sampling": {**SHIPPED["sampling"], "backend": "hf", "max_new_tokens": 8,
                           "shards": 1, "dtype": "float32", "mem_mb": 2000,
                           "runtime_minutes": 10},
              "benchmarks": {name: {"n": 4, "limit": 3} for name in SHIPPED["benchmarks"]},
              "n_overrides": {}, "grading": {**SHIPPED["grading"], "threads": 1},
              "threads": {"sample": 1},
              "analysis": {**SHIPPED["analysis"], "bootstrap_resamples": 200},
              "studies": {"perplexity": {"samples_per_problem": 2, "batch_size": 8},
                          "temperatures": {**SHIPPED["studies"]["temperatures"],
                                           "samples_per_problem": 2, "batch_size": 8},
                          "algorithms": SHIPPED["studies"]["algorithms"]},
              "plots": {"formats": ["png"], "dpi": 60}}
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "paper_cpu.yaml").write_text(yaml.safe_dump(config))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        result = run_snakemake(workdir, "--cores", "2", "--configfile", "paper_cpu.yaml")
    return workdir, result


def test_the_report_lists_what_was_not_run(shipped_run):
    workdir, result = shipped_run
    report = (workdir / "results/report/claims.md").read_text()
    line = next(line for line in report.splitlines() if line.startswith("Not run, not pinned"))
    for model in NOT_PINNED:
        assert f"`models.{model}` (revision not pinned)" in line
    assert "`benchmarks.olympiadbench` (not pinned" in line
    claims = json.loads((workdir / "results/report/claims.json").read_text())
    c6 = next(row for row in claims if row["id"] == "C6" and row["scope"] == "overall")
    assert c6["evidence"].startswith("not run: RL data not pinned")


def test_every_pinned_model_and_benchmark_reached_the_counts(shipped_run):
    workdir, _ = shipped_run
    counts = pd.read_parquet(workdir / "results/tables/counts.parquet")
    pinned = {m for m, entry in SHIPPED["models"].items() if entry.get("revision")}
    assert set(counts.model) == pinned == set(SHIPPED["models"]) - NOT_PINNED
    assert set(counts.benchmark) == set(SHIPPED["benchmarks"]) - {"olympiadbench"}
    claims = json.loads((workdir / "results/report/claims.json").read_text())
    c1 = [row for row in claims if row["id"] == "C1" and "benchmark=" in row["scope"]]
    assert c1 and all("family=qwen25_7b/" in row["scope"] for row in c1)
    c7 = [row for row in claims if row["id"] == "C7" and "benchmark=" in row["scope"]]
    assert c7 and all("family=qwen25_math_7b/" in row["scope"] for row in c7)


def test_truncated_samples_are_graded_as_the_paper_did(shipped_run):
    workdir, _ = shipped_run
    assert SHIPPED["grading"]["grade_truncated"] is True
    grading = pd.read_csv(workdir / "results/tables/grading.csv")
    # 8 new tokens: nearly every sample is cut short; graded all the same, so none has the
    # status `truncated` and the truncated ones' correct answers are counted.
    assert grading.truncated.sum() > 0
    scored = pd.read_parquet(workdir / "results/scored/qwen25_7b/aime24/T0.6.parquet")
    assert (scored.finish_reason == "length").any()
    assert not (scored.grade_status_math_verify == "truncated").any()
    assert {"truncated_correct_math_verify", "truncated_correct_lenient"} <= set(grading.columns)
    assert grading.truncated_graded.all()
    report = (workdir / "results/report/claims.md").read_text()
    assert "are graded like the others, as the paper's evaluation did" in report
    assert "## Where the samples stopped" in report and "`length`" in report
