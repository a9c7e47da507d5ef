"""One RL training job, in-process or across GPUs.

A job is a plain dict (base, prompts file, settings, seed, threads, output paths), so the
same code runs inside the Snakemake job (one process) or, with ``settings["gpus"] > 1``,
in one process per GPU started by ``accelerate launch`` (TRL's multi-GPU route). Only the
main process writes the model and the history.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pandas as pd

from ..models.modeling import load_checkpoint, resolve_device, save_checkpoint
from ..workflow.job_io import write_csv

log = logging.getLogger(__name__)


def launch_command(job_file: str, gpus: int) -> list[str]:
    """``accelerate launch`` with one process per GPU, running this module on ``job_file``."""
    return [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(gpus),
            "--multi_gpu", "-m", "rlvr_boundary.training.rl_job", job_file]


def run_job(job: dict) -> None:
    """Train (or, with steps = 0, copy the base as a null control) and save."""
    settings = job["settings"]
    os.makedirs(job["checkpoints"], exist_ok=True)  # an output folder, even with no checkpoints
    if settings["steps"] == 0:
        log.info("rl steps = 0: saving an untrained copy of the base")
        model, tokenizer = load_checkpoint(job["base"])
        history = pd.DataFrame(columns=["step", "reward"])
    else:
        from .rl import train_rl  # heavy import (TRL), only where training happens

        table = pd.read_parquet(job["prompts"]).head(settings["prompts"])
        # Real math prompts carry their reference answers (the math_verify reward).
        answers = table.reference_answer.tolist() if "reference_answer" in table else None
        model, tokenizer, history = train_rl(job["base"], table.prompt.tolist(), settings,
                                             job["seed"], job["threads"], job["checkpoints"],
                                             job["checkpoint_steps"], job["device"], answers)
    if int(os.environ.get("RANK", 0)) == 0:
        write_csv(history, job["history"])
        save_checkpoint(model, tokenizer, job["model"])


def run(job: dict, job_file: str) -> None:
    """In this process, or across ``settings["gpus"]`` GPUs through accelerate."""
    gpus = int(job["settings"].get("gpus", 1))
    if gpus <= 1 or job["device"] != "cuda":
        run_job(job)
        return
    with open(job_file, "w") as handle:
        json.dump(job, handle)
    log.info("launching on %d GPUs: %s", gpus, " ".join(launch_command(job_file, gpus)))
    subprocess.run(launch_command(job_file, gpus), check=True)


def run_rule(snakemake, base: str, checkpoint_steps) -> None:
    """A train_rl or train_paper_rl rule job: its params and outputs as a job, then :func:`run`."""
    params, out = snakemake.params, snakemake.output
    job = dict(base=base, prompts=snakemake.input.prompts, settings=params.rl, seed=params.seed,
               threads=snakemake.threads, checkpoints=out.checkpoints,
               checkpoint_steps=list(checkpoint_steps), device=resolve_device(params.device),
               model=out.model,
               history=out.history)
    run(job, f"{out.history}.job.json")


if __name__ == "__main__":  # one process of `accelerate launch`
    logging.basicConfig(level=logging.INFO)
    with open(sys.argv[1]) as handle:
        run_job(json.load(handle))
