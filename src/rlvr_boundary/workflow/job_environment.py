"""The machine a GPU job ran on, recorded by the job itself, and the study's provenance.json
merged from those records (checkpoint studies: rules/checkpoint_provenance.smk).

A SLURM login node, where Snakemake builds the DAG and merges the records, has no GPU: what a
sampling or training job ran on can only be read inside that job. Each such job writes a small
JSON next to its output (``<output>.environment.json``): GPU names and count, NVIDIA driver,
CUDA (``torch.version.cuda``), torch, transformers, vLLM and TRL versions, hostname, the
config's sha256 and the job's seeds. Fields that do not apply read ``"none"`` (a CPU job, vLLM
not installed), never a guess. Nothing here imports torch before it is asked for the GPUs,
and nothing initialises CUDA unless torch reports a device.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
from pathlib import Path

from .provenance import config_hash, git_commit
from .versions import installed_versions

NONE = "none"
# The packages whose versions decide what a GPU job computes (distribution names).
JOB_PACKAGES = ("torch", "transformers", "vllm", "trl", "accelerate", "rlvr-boundary")


def package_version(name: str) -> str:
    """The installed version of a distribution, or "none" (not installed: e.g. vLLM in an
    hf-backend job). Read from its metadata: nothing is imported."""
    return installed_versions([name], missing=NONE)[name]


def nvidia_driver() -> str:
    """The NVIDIA driver version from ``nvidia-smi`` (installed with the driver); "none" on
    a machine without it (a CPU node)."""
    try:
        run = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return NONE
    versions = sorted({line.strip() for line in run.stdout.splitlines() if line.strip()})
    return ", ".join(versions) if run.returncode == 0 and versions else NONE


def gpu_environment(driver=nvidia_driver) -> dict:
    """The GPUs this process sees (the job's own, CUDA_VISIBLE_DEVICES as set for it): names,
    count, NVIDIA driver and torch's CUDA version; names "none" and count 0 where torch finds
    no CUDA device. ``driver`` is asked only when there is a GPU."""
    try:
        import torch
    except ImportError:
        return {"gpu_count": 0, "gpu_names": NONE, "nvidia_driver": NONE, "cuda": NONE}
    cuda = torch.version.cuda or NONE
    if not torch.cuda.is_available():
        return {"gpu_count": 0, "gpu_names": NONE, "nvidia_driver": NONE, "cuda": cuda}
    count = torch.cuda.device_count()
    return {"gpu_count": count,
            "gpu_names": [torch.cuda.get_device_name(i) for i in range(count)],
            "nvidia_driver": driver(), "cuda": cuda}


def job_environment(rule: str, wildcards: dict, config: dict, seeds: dict,
                    settings: dict | None = None, driver=nvidia_driver) -> dict:
    """What one job ran on and with: call it in the job, after its work (CUDA is then
    already initialised where the job used it)."""
    return {
        "rule": rule,
        "wildcards": {key: str(value) for key, value in wildcards.items()},
        "hostname": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID", NONE),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", NONE),
        **gpu_environment(driver),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: package_version(name) for name in JOB_PACKAGES},
        "config_sha256": config_hash(config),
        "seeds": seeds,
        "settings": settings or {},
    }


# What makes two jobs' machines the same, in the order the report lists it.
MACHINE_KEYS = ("hostname", "gpu_names", "gpu_count", "nvidia_driver", "cuda", "torch",
                "transformers", "vllm", "trl")


def machine_of(record: dict) -> dict:
    names = record["gpu_names"]
    return {"hostname": record["hostname"],
            "gpu_names": names if isinstance(names, str) else ", ".join(names),
            "gpu_count": record["gpu_count"], "nvidia_driver": record["nvidia_driver"],
            "cuda": record["cuda"],
            **{name: record["packages"].get(name, NONE)
               for name in ("torch", "transformers", "vllm", "trl")}}


def machines(records: dict[str, dict]) -> list[dict]:
    """The distinct machine and software setups the jobs ran on, each with how many jobs of
    which rules ran there, in the order first seen (``records``: output path -> record)."""
    seen: dict[tuple, dict] = {}
    for path in sorted(records):
        record = records[path]
        machine = machine_of(record)
        key = tuple(str(machine[k]) for k in MACHINE_KEYS)
        entry = seen.setdefault(key, {**machine, "jobs": 0, "rules": {}})
        entry["jobs"] += 1
        entry["rules"][record["rule"]] = entry["rules"].get(record["rule"], 0) + 1
    return list(seen.values())


def read_records(paths: list[str]) -> dict[str, dict]:
    return {str(path): json.loads(Path(path).read_text()) for path in paths}


def checkpoint_provenance(config: dict, seeds: dict, registry_rows: list[dict],
                          records: dict[str, dict], workflow_dir: str | Path,
                          workflow_machine: dict | None = None) -> dict:
    """provenance.json of a checkpoint study: the config and its sha256, seeds, the workflow's
    commit, each checkpoint's identity, every GPU job's record and the distinct machines they
    ran on. ``workflow_machine`` is where this merge runs (e.g. a login node)."""
    stale = sorted(path for path, record in records.items()
                   if record.get("config_sha256") != config_hash(config))
    return {
        "config_sha256": config_hash(config),
        "config": config,
        "seeds": seeds,
        "git": git_commit(workflow_dir),
        "checkpoints": {row["model"]: row["revision_or_sha256"] for row in registry_rows},
        "machines": machines(records),
        # Jobs whose outputs were made under another config (a change that reran nothing).
        "jobs_under_other_config": stale,
        "jobs": records,
        "workflow_machine": workflow_machine or {
            "hostname": socket.gethostname(), "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": {name: package_version(name) for name in JOB_PACKAGES}},
    }


def record_job(snakemake, seeds: dict, settings: dict | None = None) -> None:
    """In a rule script, after its work: this job's record into the rule's `environment`
    output, where the rule has one (checkpoint studies; the tiny world's jobs have none)."""
    if "environment" not in snakemake.output.keys():
        return
    from .job_io import write_json

    write_json(job_environment(snakemake.rule, dict(snakemake.wildcards.items()),
                               snakemake.config, seeds, settings), snakemake.output.environment)
