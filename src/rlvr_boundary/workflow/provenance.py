"""provenance.json: what produced these results, exactly."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from pathlib import Path

from ..models import cpu
from .job_io import sha256_file
from .versions import installed_versions

PACKAGES = ["torch", "transformers", "trl", "accelerate", "datasets", "tokenizers", "snakemake",
            "pandas", "pyarrow", "numpy", "matplotlib", "math-verify", "rlvr-boundary"]


def package_versions() -> dict[str, str | None]:
    return installed_versions(PACKAGES)


def git_commit(folder: str | Path) -> dict:
    def git(*args):
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True)
    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(git("status", "--porcelain").stdout.strip())}


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def provenance(config: dict, seeds: dict, registry_rows: list[dict], files: list[str],
               workflow_dir: str | Path) -> dict:
    return {
        "config_sha256": config_hash(config),
        "config": config,
        "seeds": seeds,
        "git": git_commit(workflow_dir),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # Which fp32 CPU product kernels the models used: the bits depend on it (rlvr_boundary.models.onednn).
        "cpu": {"vendor": cpu.vendor(), "onednn_linears_on_cpu": cpu.wants_onednn()},
        "packages": package_versions(),
        "checkpoints": {row["model"]: row["revision_or_sha256"] for row in registry_rows},
        "files": {path: sha256_file(path) for path in sorted(files)},
    }
