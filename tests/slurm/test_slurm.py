"""The test configuration through `--profile profiles/slurm` on a real one-node SLURM.

Every rule that is not a localrule must go through sbatch, with the threads of a local
run as its CPUs, GPU-declared rules with their GPU request and partition, and the
counts and pass@k tables must be byte-identical to the local run's (`test_study`).
Skipped, with the reason, where SLURM or root is missing; under CI=true that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from local_cluster import LocalCluster, unavailable_reason
from workflow_runner import REPO, TEST_CONFIG, copy_workflow

pytestmark = pytest.mark.workflow

# The rules the profile treats as GPU rules (they declare `gpu` from the config's device).
GPU_RULES = {"pretrain_base", "pretrain_teacher", "train_rl", "distill_student",
             "sample_model", "build_distillation_set", "score_perplexity", "measure_entropy"}
# One of them is given a (fake) GPU although the test config runs on the CPU, so that a
# GPU request is really made; its job still computes on the CPU.
FORCED_GPU_RULE = "build_distillation_set"
RUN_LIMIT_S = 1200


def _require_slurm() -> None:
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the SLURM test cannot run: {reason}")
    pytest.skip(reason)


def _profile_with_forced_gpu(workdir: Path) -> None:
    """The repository's profiles, with one extra resource: gpu=1 for FORCED_GPU_RULE."""
    shutil.copytree(REPO / "profiles", workdir / "profiles")
    path = workdir / "profiles" / "slurm" / "config.yaml"
    profile = yaml.safe_load(path.read_text())
    profile["set-resources"][FORCED_GPU_RULE]["gpu"] = 1
    path.write_text(yaml.safe_dump(profile, sort_keys=False))


def _run_with_profile(cluster: LocalCluster, workdir: Path, *args: str,
                      limit_s: int = RUN_LIMIT_S) -> subprocess.CompletedProcess:
    """`snakemake --profile profiles/slurm ARGS` in ``workdir`` on ``cluster``, with the
    partitions of the site settings and no other site setting."""
    env = {**cluster.env, "PYTHONHASHSEED": "0",
           "RLVR_SLURM_PARTITION": "cpu", "RLVR_SLURM_GPU_PARTITION": "gpu"}
    for name in ["RLVR_SLURM_ACCOUNT", "RLVR_SLURM_GPU_MODEL", "RLVR_SLURM_STATUS_COMMAND",
                 "SNAKEMAKE_PROFILE"]:
        env.pop(name, None)
    # SIGINT, not SIGTERM: the plugin cancels its SLURM jobs only on SIGINT.
    command = ["timeout", "-s", "INT", "-k", "30", str(limit_s),
               sys.executable, "-m", "snakemake", "--profile", "profiles/slurm",
               "--slurm-init-seconds-before-status-checks", "2", *args]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)


def _jobs_in_log(text: str) -> tuple[list[str], list[str]]:
    """(rules of submitted jobs, rules of local jobs) as Snakemake announced them."""
    remote = re.findall(r"^rule (\w+):$", text, flags=re.MULTILINE)
    local = re.findall(r"^localrule (\w+):$", text, flags=re.MULTILINE)
    return remote, local


def _rule_of(job: dict[str, str]) -> str:
    # The plugin's job comment: rule_<name>[_wildcards_...]
    match = re.match(r"rule_(\w+?)(_wildcards_|$)", job.get("Comment", ""))
    assert match, job
    return match.group(1)


def test_slurm_profile_matches_local_run(test_study, tmp_path):
    _require_slurm()
    workdir = copy_workflow(tmp_path / "study")
    _profile_with_forced_gpu(workdir)
    with LocalCluster({"cpu": True, "gpu": False}) as cluster:
        result = _run_with_profile(cluster, workdir, "--configfile", TEST_CONFIG)
        log = result.stdout + result.stderr
        assert result.returncode == 0, f"{log[-6000:]}\n{cluster.logs()}"
        jobs = cluster.jobs()

    # Byte-identical to the local run.
    for table in ["results/tables/counts.parquet", "results/tables/passk.csv"]:
        assert (workdir / table).read_bytes() == (test_study / table).read_bytes(), table

    # Every non-local job went through sbatch, once; the cheap ones ran locally.
    remote, local = _jobs_in_log(log)
    assert re.search(r"Using profiles? profiles/slurm and workflow specific profile", log), log[:2000]
    assert "sample_model" in remote and "grade_samples" in remote
    assert {"all", "plot_passk_curves", "write_claims_report"} <= set(local)
    assert not set(remote) & set(local)
    assert sorted(_rule_of(job) for job in jobs) == sorted(remote)
    assert {job["JobState"] for job in jobs} == {"COMPLETED"}

    for job in jobs:
        rule = _rule_of(job)
        # CPUs = the rule's threads (1 in the test config), as in the local run.
        assert job["NumCPUs"] == "1", job
        tres = job.get("TresPerJob", "") + job.get("TresPerNode", "")
        if rule == FORCED_GPU_RULE:
            assert "gpu:1" in tres, job
        else:
            assert "gpu:" not in tres or tres.endswith("gpu:0"), job
        assert job["Partition"] == ("gpu" if rule in GPU_RULES else "cpu"), job
        # One task per job, GPU jobs included (profile: tasks_per_gpu 0, no --ntasks-per-gpu;
        # a gpu=2 job: test_a_tensor_parallel_job_is_one_task_with_both_gpus).
        assert job.get("NumTasks") in ("1", "N/A"), job

    # Logs of successful jobs are kept under logs/slurm.
    assert len(list((workdir / "logs" / "slurm").rglob("*.log"))) == len(jobs)


# A sampling job of a tensor-parallel checkpoint, as the profile sees it (the rule's name
# picks its set-resources): it asks two GPUs and appends, from every task that runs it, the
# GPUs and the task count SLURM gave that task.
TWO_GPU_SNAKEFILE = """\
localrules: all


rule all:
    input:
        "gpus.txt",


rule sample_model:
    output:
        "gpus.txt",
    threads: 1
    resources:
        gpu=2,
        mem_mb=200,
        runtime=5,
    shell:
        'echo "$CUDA_VISIBLE_DEVICES $SLURM_STEP_NUM_TASKS" >> {output}'
"""


def test_a_tensor_parallel_job_is_one_task_with_both_gpus(tmp_path):
    _require_slurm()
    workdir = tmp_path / "tp"
    workdir.mkdir()
    shutil.copytree(REPO / "profiles", workdir / "profiles")
    (workdir / "Snakefile").write_text(TWO_GPU_SNAKEFILE)
    with LocalCluster({"cpu": True, "gpu": False}) as cluster:
        assert cluster.gpus >= 2
        result = _run_with_profile(cluster, workdir, "--verbose", limit_s=300)
        log = result.stdout + result.stderr
        assert result.returncode == 0, f"{log[-6000:]}\n{cluster.logs()}"
        jobs = cluster.jobs()

    # The sbatch line the plugin ran: both GPUs, the rule's threads per GPU, no task count.
    sbatch = [line for line in log.splitlines() if line.startswith("sbatch call:")]
    assert len(sbatch) == 1, log[-6000:]
    assert " --gpus=2 " in sbatch[0] and "--cpus-per-gpu=1" in sbatch[0], sbatch[0]
    assert "--ntasks" not in sbatch[0], sbatch[0]
    # What SLURM made of it: one job of one task holding both GPUs ...
    assert len(jobs) == 1 and jobs[0]["JobState"] == "COMPLETED", jobs
    assert jobs[0]["NumTasks"] == "1" and jobs[0]["TresPerJob"] == "gres:gpu:2", jobs[0]
    # ... and what ran: one task (one line written), which saw both GPUs.
    assert (workdir / "gpus.txt").read_text().split("\n") == ["0,1 1", ""]


def test_missing_slurm_is_a_stated_skip_and_under_ci_a_failure(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "unavailable_reason", lambda: "no slurmd here")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no slurmd here"):
        _require_slurm()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true.*no slurmd here"):
        _require_slurm()
