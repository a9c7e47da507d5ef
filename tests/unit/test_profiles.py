"""The Snakemake profiles, read the way Snakemake reads them: site settings come from the
environment, GPU rules get their GPU settings, every job's CPUs are its threads, and the
auto-loaded local profile cannot spoil a SLURM run."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from snakemake.profiles import ProfileConfigFileParser

REPO = Path(__file__).resolve().parents[2]
SLURM = REPO / "profiles" / "slurm" / "config.yaml"
DEFAULT = REPO / "profiles" / "default" / "config.yaml"
SITE_VARS = ["RLVR_SLURM_ACCOUNT", "RLVR_SLURM_PARTITION", "RLVR_SLURM_GPU_PARTITION",
             "RLVR_SLURM_GPU_MODEL", "RLVR_SLURM_STATUS_COMMAND", "SNAKEMAKE_PROFILE"]


def _parse(path: Path) -> dict:
    """The profile as Snakemake turns it into command-line arguments."""
    with open(path) as stream:
        return dict(ProfileConfigFileParser().parse(stream))


def _resources(entries: list[str]) -> dict[str, dict[str, str]]:
    """set-resources entries ('rule:key=value') as {rule: {key: value}}."""
    table: dict[str, dict[str, str]] = {}
    for entry in entries:
        rule, assignment = entry.split(":", 1)
        key, value = assignment.split("=", 1)
        table.setdefault(rule, {})[key] = value
    return table


def _workflow_rules() -> dict[str, str]:
    """{rule name: its source text} for every rule of the workflow."""
    rules = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        text = smk.read_text()
        starts = [(m.start(), m.group(1) or m.group(2)) for m in
                  re.finditer(r"^[ \t]*(?:rule (\w+):|use rule \w+ as (\w+) with:)", text,
                              re.MULTILINE)]
        for (start, name), (end, _) in zip(starts, starts[1:] + [(len(text), "")]):
            rules[name] = text[start:end]
    return rules


@pytest.fixture(autouse=True)
def no_site_settings(monkeypatch):
    for name in SITE_VARS:
        monkeypatch.delenv(name, raising=False)


def test_slurm_profile_defaults():
    profile = _parse(SLURM)
    assert profile["executor"] == "slurm"
    assert profile["slurm-status-command"] == "squeue"  # no slurmdbd needed
    assert profile["slurm-logdir"] == "logs/slurm"
    assert int(profile["retries"]) >= 1
    assert not any("slurm_account" in e or "slurm_partition" in e or "gpu_model" in e
                   for e in profile["default-resources"] + profile["set-resources"])


def test_site_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RLVR_SLURM_ACCOUNT", "proj42")
    monkeypatch.setenv("RLVR_SLURM_PARTITION", "cpu")
    monkeypatch.setenv("RLVR_SLURM_GPU_PARTITION", "a100")
    monkeypatch.setenv("RLVR_SLURM_GPU_MODEL", "a100")
    monkeypatch.setenv("RLVR_SLURM_STATUS_COMMAND", "sacct")
    profile = _parse(SLURM)
    assert "slurm_account=proj42" in profile["default-resources"]
    assert "slurm_partition=cpu" in profile["default-resources"]
    assert profile["slurm-status-command"] == "sacct"
    resources = _resources(profile["set-resources"])
    assert resources["train_rl"]["slurm_partition"] == "a100"
    assert resources["train_rl"]["gpu_model"] == "a100"
    assert "slurm_partition" not in resources["make_task_data"]


def test_gpu_rules_and_threads():
    rules = _workflow_rules()
    resources = _resources(_parse(SLURM)["set-resources"])
    assert set(resources) <= set(rules), "set-resources names a rule the workflow lacks"
    gpu_rules = {name for name, text in rules.items()
                 if re.search(r"\bgpu=GPUS\b|\*\*SAMPLING_RESOURCES", text)}
    gpu_rules |= {name for name, text in rules.items()
                  if re.match(r"use rule (\w+)", text) and
                  re.match(r"use rule (\w+)", text).group(1) in gpu_rules}
    assert {"pretrain_base", "pretrain_teacher", "train_rl", "distill_student", "sample_model",
            "build_distillation_set"} <= gpu_rules
    for rule in gpu_rules:
        # The GPU request itself comes from the rule (`gpu` = 1 with device: cuda).
        assert "gpu" not in resources[rule]
        assert resources[rule]["cpus_per_gpu"] == "threads", rule
        if rule != "sample_model":
            assert "attempt" in resources[rule]["runtime"], rule
    # Sampling's memory and runtime come from the study's plan (a checkpoint study's from
    # its config): the profile would override them.
    assert not {"mem_mb", "runtime"} & set(resources["sample_model"])
    # CPUs are a job's threads: nothing pins cpus_per_task to a number.
    assert not any("cpus_per_task" in r for r in resources.values())


def test_local_profile_keeps_out_of_slurm_runs(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["snakemake", "--cores", "2"])
    local = _parse(DEFAULT)
    assert local["cores"] == "all" and local["rerun-incomplete"] == "True"
    monkeypatch.setattr(sys, "argv", ["snakemake", "--profile", "profiles/slurm"])
    under_slurm = _parse(DEFAULT)
    assert "cores" not in under_slurm and "latency-wait" not in under_slurm
    # profiles/default wins per key over profiles/slurm: shared keys must agree.
    slurm = _parse(SLURM)
    for key in set(under_slurm) & set(slurm):
        assert under_slurm[key] == slurm[key], key
    monkeypatch.setattr(sys, "argv", ["snakemake"])
    monkeypatch.setenv("SNAKEMAKE_PROFILE", "/site/profiles/slurm-gpu")
    assert "cores" not in _parse(DEFAULT)


def test_localrules_file_names_existing_rules():
    rules = _workflow_rules()
    text = (REPO / "rules" / "localrules.smk").read_text()
    names = re.findall(r"^\s+(\w+),?$", text.split("localrules:", 1)[1], re.MULTILINE)
    assert names and set(names) <= set(rules)


class _Resources(dict):
    """A job's resources as the SLURM plugin reads them (`.get(key)` and `.key`)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _slurm_job(rule: str, threads: int, **rule_resources) -> SimpleNamespace:
    """A job of ``rule`` with the resources the profile gives it (default-resources, then
    the rule's own, then set-resources), expressions such as `threads` evaluated as
    Snakemake does for a first attempt."""
    profile = _parse(SLURM)
    resources = dict(entry.split("=", 1) for entry in profile["default-resources"])
    resources.update({key: str(value) for key, value in rule_resources.items()})
    resources.update(_resources(profile["set-resources"]).get(rule, {}))
    evaluated = _Resources()
    for key, value in resources.items():
        try:
            evaluated[key] = eval(value, {}, {"threads": threads, "attempt": 1})
        except (NameError, SyntaxError):
            evaluated[key] = value  # a name (partition, GPU model)
    return SimpleNamespace(name=rule, threads=threads, resources=evaluated,
                           is_group=lambda: False)


def _sbatch_line(job) -> str:
    """The sbatch command snakemake-executor-plugin-slurm issues for ``job``: its
    get_submit_command plus the GPU request it appends (set_gres_string), as
    Executor.run_job does."""
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    params = {"run_uuid": "uuid", "slurm_logfile": "logs/slurm/x.log",
              "comment_str": f"rule_{job.name}", "account": "", "partition": "",
              "workdir": "/work"}
    return get_submit_command(job, params) + set_gres_string(job)


def test_tensor_parallel_sampling_is_one_slurm_task_with_all_its_gpus(monkeypatch):
    # A checkpoint's sampling job asks gpu=N, its tensor-parallel size (rules/sample.smk).
    from snakemake_executor_plugin_slurm_jobstep import get_cpu_setting, get_gpu_setting

    job = _slurm_job("sample_model", threads=4, gpu=2)
    sbatch = _sbatch_line(job)
    assert " --gpus=2" in sbatch, sbatch
    # No task geometry: SLURM's default, one task. --ntasks-per-gpu=1 would make two
    # one-GPU tasks, each running the whole job on one GPU.
    assert "--ntasks" not in sbatch, sbatch
    assert "--cpus-per-gpu=4" in sbatch, sbatch  # the rule's threads per GPU
    # Inside the allocation the job step is `srun -n1 <cpus> <gpus>`: one task, both GPUs.
    assert get_gpu_setting(job) == "--gpus=2"
    assert get_cpu_setting(job, True) == "--cpus-per-gpu=4"

    # With a GPU model from the site: --gpus=<model>:2, still one task.
    monkeypatch.setenv("RLVR_SLURM_GPU_MODEL", "a100")
    sbatch = _sbatch_line(_slurm_job("sample_model", threads=4, gpu=2))
    assert " --gpus=a100:2" in sbatch and "--ntasks" not in sbatch, sbatch

    # Why the profile says tasks_per_gpu: 0 and never `tasks: 1` on a GPU rule: the
    # plugin turns `tasks` into --ntasks-per-gpu (one task per GPU).
    job.resources.pop("tasks_per_gpu")
    job.resources["tasks"] = 1
    assert "--ntasks-per-gpu=1" in _sbatch_line(job)
    # Every GPU rule gets it: it is a default resource (read only for GPU jobs).
    assert "tasks_per_gpu=0" in _parse(SLURM)["default-resources"]
    cpu_job = _slurm_job("make_task_data", threads=2)
    assert "--ntasks=1" in _sbatch_line(cpu_job) and "--gpus" not in _sbatch_line(cpu_job)


def test_multi_gpu_training_is_one_slurm_task_with_all_its_gpus():
    # train_paper_rl asks gpu = train.gpus (rules/checkpoints.smk); `accelerate launch`
    # starts the one process per GPU inside the job's single task.
    from snakemake_executor_plugin_slurm_jobstep import get_cpu_setting, get_gpu_setting

    job = _slurm_job("train_paper_rl", threads=8, gpu=8)
    sbatch = _sbatch_line(job)
    assert " --gpus=8" in sbatch and "--ntasks" not in sbatch, sbatch
    assert "--cpus-per-gpu=8" in sbatch, sbatch
    assert get_gpu_setting(job) == "--gpus=8" and get_cpu_setting(job, True) == "--cpus-per-gpu=8"
    assert "tasks" not in _resources(_parse(SLURM)["set-resources"])["train_paper_rl"]
