"""configs/own_models.yaml, the file docs/own_models.md shows, run to its report on CPU.

Its Hub models are tiny checkpoints saved in an offline cache under the file's own ids and
revisions, so the file runs as shipped; only what makes it a CPU smoke run is overridden
(the hf backend, a few problems, short completions). Benchmarks, pins and templates come
from the catalog, as for a user."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from tiny_hub import save_in_cache
from workflow_runner import REPO, copy_workflow, run_snakemake

OWN = yaml.safe_load((REPO / "configs/own_models.yaml").read_text())
CLAIMS = [f"C{i}" for i in range(1, 9)]
# What makes the shipped file a CPU smoke run; nothing about models, benchmarks or templates.
SMOKE = {"device": "cpu",
         "sampling": {"backend": "hf", "max_new_tokens": 8, "shards": 1, "dtype": "float32",
                      "mem_mb": 2000, "runtime_minutes": 10},
         "grading": {"threads": 1}, "threads": {"sample": 1},
         "analysis": {"bootstrap_resamples": 200}, "plots": {"formats": ["png"], "dpi": 60}}


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("own")
    cache = tmp_path / "hub"
    for seed, entry in enumerate(OWN["models"].values()):
        save_in_cache(cache, entry["hub"], entry["revision"], seed=seed)
    config = {**OWN, **SMOKE, "hub": {"cache_dir": str(cache)},
              "sampling": {**OWN["sampling"], **SMOKE["sampling"]},
              "benchmarks": {name: {**spec, "n": 4, "limit": 3}
                             for name, spec in OWN["benchmarks"].items()},
              "studies": {"perplexity": {"samples_per_problem": 2, "batch_size": 8}}}
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "mine.yaml").write_text(yaml.safe_dump(config))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        run_snakemake(workdir, "--cores", "2", "--configfile", "mine.yaml")
    return workdir


def test_the_shipped_file_names_only_models_benchmarks_and_sampling():
    """Pins, files and templates are the project's: the user's file holds none of them."""
    assert set(OWN) <= {"scale", "models", "benchmarks", "sampling", "studies"}
    assert all(set(spec) <= {"n", "limit", "analog"} for spec in OWN["benchmarks"].values())
    assert {entry["role"] for entry in OWN["models"].values()} == {"base", "rl"}


def test_own_models_get_the_whole_report(own_run):
    claims = json.loads((own_run / "results/report/claims.json").read_text())
    overall = {row["id"]: row for row in claims if row["scope"] == "overall"}
    assert sorted(overall) == CLAIMS
    # What a base and one RL model cannot answer is named, never silently missing.
    assert overall["C6"]["evidence"] == "study `algorithms` is not in this configuration"
    assert overall["C7"]["evidence"].startswith("no model with role `distilled`")
    assert overall["C5"]["evidence"].startswith("no annotation file yet")
    for claim in ("C1", "C2", "C3", "C4"):
        assert overall[claim]["verdict"] in ("holds", "does not hold", "inconclusive"), claim
    scoped = [row for row in claims if row["id"] in ("C1", "C2") and "benchmark=" in row["scope"]]
    assert {row["scope"].rsplit("=", 1)[1] for row in scoped} == set(OWN["benchmarks"])
    assert all(row["ci_low"] is not None and row["ci_high"] is not None for row in scoped)


def test_the_catalog_supplied_benchmarks_and_templates(own_run):
    manifest = json.loads((own_run / "results/benchmarks/math500/manifest.json").read_text())
    catalog = yaml.safe_load((REPO / "configs/catalog.yaml").read_text())
    assert manifest["source_sha256"] == catalog["benchmarks"]["math500"]["sha256"]
    counts = pd.read_parquet(own_run / "results/tables/counts.parquet")
    assert set(counts.model) == set(OWN["models"]) and set(counts.n) == {4}
    log = (own_run / "logs/sample_model/base/math500/T0.6/shard0_block0.log").read_text()
    assert "stop token ids [151645, 151643]" in log  # qwen-boxed's stop rules
    registry = pd.read_csv(own_run / "results/tables/models.csv", keep_default_na=False)
    base = OWN["models"]["base"]
    assert registry.set_index("model").revision_or_sha256["base"].startswith(
        f"{base['hub']}@{base['revision']} sha256:")
