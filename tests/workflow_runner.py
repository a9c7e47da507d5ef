"""Running the workflow from tests: copies of the workflow and snakemake subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST_CONFIG = "configs/test.yaml"
# What a workflow copy needs; results and .snakemake state are per copy.
WORKFLOW_FILES = ["Snakefile", "config.yaml", "rules", "scripts", "schemas", "configs", "envs", "src",
                  "data", "report"]


def snakemake_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args]


def copy_workflow(destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, destination / name)
    return destination


def run_snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 2400):
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(snakemake_cmd(*args), cwd=workdir, capture_output=True, text=True,
                            env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n"
                             f"{result.stderr[-8000:]}")
    return result


def run_test_study(workdir: Path) -> Path:
    copy_workflow(workdir)
    run_snakemake(workdir, "--cores", "2", "--configfile", TEST_CONFIG)
    return workdir
