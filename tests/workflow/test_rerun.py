"""Editing config or code reruns exactly the steps it invalidates, nothing more."""

from __future__ import annotations

import os
import shutil
import time

import pandas as pd
import yaml

from workflow_runner import TEST_CONFIG, run_snakemake
from helpers import dry_run_jobs, planned_jobs

TRAINING = {"make_task_data", "pretrain_base", "pretrain_teacher", "train_rl",
            "build_distillation_set", "distill_student"}


def _edit_code(path):
    """An edit of the code itself (a comment or docstring changes nothing: see
    tests/workflow/test_code_inputs.py)."""
    with open(path, "a") as handle:
        handle.write("\n_EDITED_BY_A_TEST = True\n")
    later = time.time() + 5
    os.utime(path, (later, later))


def _edit_config(workdir, section, key, value):
    """Set ``key`` of ``section`` (dotted for a nested one: "studies.perplexity")."""
    path = workdir / TEST_CONFIG
    config = yaml.safe_load(path.read_text())
    node = config
    for part in section.split("."):
        node = node[part]
    node[key] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_finished_study_is_up_to_date(study_copy):
    assert planned_jobs(study_copy) == {}


# What a figure change must never redo: models, samples, grades, counts, scores.
EXPENSIVE = TRAINING | {"sample_model", "grade_samples", "count_correct", "estimate_passk",
                        "score_perplexity", "measure_entropy"}
# Rules that draw figures (some also write a small table of their own).
FIGURE_RULES = {"plot_passk_curves", "plot_algorithm_study", "estimate_training_length",
                "analyze_boundary", "summarize_perplexity", "analyze_temperature",
                "plot_real_figures"}


def test_plot_option_reruns_only_figures(study_copy):
    _edit_config(study_copy, "plots", "dpi", 61)
    jobs = set(planned_jobs(study_copy)) - {"all"}
    assert FIGURE_RULES <= jobs
    assert not jobs & EXPENSIVE, jobs & EXPENSIVE


def test_plotting_code_reruns_only_figures(study_copy):
    _edit_code(study_copy / "src/rlvr_boundary/report/plots.py")
    jobs = set(planned_jobs(study_copy)) - {"all"}
    assert "plot_passk_curves" in jobs
    assert not jobs & EXPENSIVE, jobs & EXPENSIVE


def test_grading_code_reruns_grading_and_what_follows(study_copy):
    _edit_code(study_copy / "src/rlvr_boundary/grading/counting.py")
    jobs = planned_jobs(study_copy)
    assert {"grade_samples", "count_correct", "estimate_passk", "write_claims_report"} <= set(jobs)
    assert not set(jobs) & (TRAINING | {"sample_model"})


def test_sampling_code_reruns_what_samples_not_pretraining(study_copy):
    _edit_code(study_copy / "src/rlvr_boundary/sampling/generate.py")
    jobs = planned_jobs(study_copy)
    assert "sample_model" in jobs and "grade_samples" in jobs
    # The teacher's traces for distillation and RL's rollouts on CPU are sampled with the
    # same code, so those steps legitimately rerun; pretraining does not.
    assert {"build_distillation_set", "train_rl"} <= set(jobs)
    assert not set(jobs) & {"make_task_data", "pretrain_base", "pretrain_teacher"}


def test_sample_count_reruns_sampling_not_training(study_copy):
    _edit_config(study_copy, "sampling", "n", 8)
    jobs = planned_jobs(study_copy)
    assert "sample_model" in jobs
    assert not set(jobs) & TRAINING


def test_more_shards_resample_every_evaluation_not_training(study_copy):
    # The test config samples in one shard (each sampling job is mostly start-up); more
    # shards split every model x temperature's sampling job into that many jobs.
    evaluations = len(list((study_copy / "results/scored").rglob("*.parquet")))
    sampling_jobs = len(list((study_copy / "results/samples").rglob("shard0_block0.parquet")))
    assert sampling_jobs < evaluations  # a job samples all of a model's benchmarks
    _edit_config(study_copy, "sampling", "shards", 3)
    jobs = planned_jobs(study_copy)
    assert jobs["sample_model"] == 3 * sampling_jobs
    assert jobs["grade_samples"] == evaluations
    assert not set(jobs) & TRAINING


def test_raising_n_samples_only_the_new_block(study_copy):
    # n is cut into blocks of sampling.block_size (16 in the test config), each a job with
    # its own seed: n 16 -> 32 adds block 1 of every sampling job and redraws no block 0.
    block0 = sorted(str(p.relative_to(study_copy))
                    for p in (study_copy / "results/samples").rglob("shard0_block0.parquet"))
    _edit_config(study_copy, "sampling", "n", 32)
    jobs = dry_run_jobs(study_copy)
    sampled = sorted(job["output"][0] for job in jobs if job["rule"] == "sample_model")
    assert sampled == [path.replace("_block0", "_block1") for path in block0]
    rules = {job["rule"] for job in jobs}
    assert "grade_samples" in rules and not rules & TRAINING


def test_raised_n_equals_n_drawn_from_scratch(study_copy):
    """One model's 32 samples per problem, drawn as 16 then 16 more, are the bytes of 32
    drawn from scratch; a sample keeps its id."""
    model = "tdeep-base"
    scored = sorted(str(p.relative_to(study_copy))
                    for p in (study_copy / f"results/scored/{model}").rglob("*.parquet"))
    before = pd.read_parquet(study_copy / scored[0])
    _edit_config(study_copy, "sampling", "n", 32)
    run_snakemake(study_copy, *scored, "--cores", "2", "--configfile", TEST_CONFIG)
    raised = {path: (study_copy / path).read_bytes() for path in scored}
    shutil.rmtree(study_copy / f"results/samples/{model}")
    shutil.rmtree(study_copy / f"results/scored/{model}")
    run_snakemake(study_copy, *scored, "--cores", "2", "--configfile", TEST_CONFIG)
    assert {path: (study_copy / path).read_bytes() for path in scored} == raised
    after = pd.read_parquet(study_copy / scored[0])
    per_problem = after.groupby("problem_id").sample_id.agg(["nunique", "min", "max"])
    assert (per_problem["nunique"] == 32).all() and (per_problem["max"] == 31).all()
    first = after[after.sample_id < 16].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, before.reset_index(drop=True))


def test_configured_thread_count_reruns_the_jobs_that_compute_with_it(study_copy):
    # CPU bytes are defined per thread count: the configured one is a param of every job
    # that computes with it (tests/unit/test_job_io.py: fewer --cores do not lower it).
    _edit_config(study_copy, "threads", "sample", 2)
    jobs = planned_jobs(study_copy)
    assert {"sample_model", "build_distillation_set", "score_perplexity",
            "measure_entropy"} <= set(jobs)
    assert not set(jobs) & {"make_task_data", "pretrain_base", "pretrain_teacher", "train_rl"}


def test_added_temperature_samples_only_it(study_copy):
    # A sampling job's params are the settings that change its samples, not the list of
    # temperatures (rules/common.smk, sampling_job): the existing ones are left alone.
    config = yaml.safe_load((study_copy / TEST_CONFIG).read_text())
    _edit_config(study_copy, "sampling", "temperatures", [*config["sampling"]["temperatures"], 1.5])
    jobs = dry_run_jobs(study_copy)
    rules = {job["rule"] for job in jobs}
    assert {"sample_model", "grade_samples", "count_correct", "estimate_passk",
            "write_claims_report"} <= rules
    for job in jobs:
        if job["rule"] in ("sample_model", "grade_samples"):
            assert "/T1.5" in job["output"][0], job  # .../T1.5/shard0_block0.parquet, .../T1.5.parquet
            assert not (study_copy / job["output"][0]).exists(), job
    # Nothing upstream of the samples, and no scoring (it reads the claim's temperature).
    assert not rules & (TRAINING | {"score_perplexity", "measure_entropy"})


def test_sampling_batch_size_reruns_nothing(study_copy):
    # Rows generated together change speed, not samples (tests/unit/test_batch_invariance.py),
    # so sampling.batch_size is no param. provenance.json records the whole config: it alone
    # is rewritten (a local job of a second).
    config = yaml.safe_load((study_copy / TEST_CONFIG).read_text())
    _edit_config(study_copy, "sampling", "batch_size", config["sampling"]["batch_size"] // 2 + 1)
    assert set(planned_jobs(study_copy)) <= {"write_provenance", "all"}


def test_perplexity_batch_size_reruns_nothing(study_copy):
    # Scoring batches hold one length each: on a CPU the scores are the same bits at any
    # batch size (tests/unit/test_perplexity.py), so it is no param there; provenance.json,
    # which records the whole config, alone is rewritten.
    _edit_config(study_copy, "studies.perplexity", "batch_size", 17)
    assert set(planned_jobs(study_copy)) <= {"write_provenance", "all"}


def test_rl_option_reruns_rl_not_pretraining(study_copy):
    _edit_config(study_copy, "rl", "learning_rate", 0.0002)
    jobs = planned_jobs(study_copy)
    assert "train_rl" in jobs
    assert not set(jobs) & {"make_task_data", "pretrain_base", "pretrain_teacher",
                            "build_distillation_set", "distill_student"}
