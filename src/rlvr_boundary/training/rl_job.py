"""One RL training job, in-process or across GPUs.

A job is a plain dict (base, prompts file and whether it has a sha256 record, settings, seed,
threads, output paths, and the accelerate config file of a multi-GPU run), so the same code
runs inside the Snakemake job (one process) or, with ``settings["gpus"] > 1`` on GPUs, in
one process per GPU started by ``accelerate launch --config_file <file> --num_processes
<gpus>`` (TRL's multi-GPU route; the file sets the strategy, e.g.
configs/accelerate/fsdp.yaml). Only the main process writes the model and the history.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pandas as pd

from ..models.modeling import load_checkpoint, resolve_device, save_checkpoint
from ..workflow.job_io import compute_threads, write_csv
from ..workflow.recorded import read_recorded_parquet

log = logging.getLogger(__name__)


def launch_command(job_file: str, gpus: int, config_file: str | None = None) -> list[str]:
    """``accelerate launch`` with one process per GPU, running this module on ``job_file``:
    with ``config_file`` (an accelerate config: FSDP, DDP, ...) as that file says, else
    accelerate's plain multi-GPU (DDP) defaults."""
    strategy = ["--config_file", str(config_file)] if config_file else ["--multi_gpu"]
    return [sys.executable, "-m", "accelerate.commands.launch", *strategy,
            "--num_processes", str(gpus), "-m", "rlvr_boundary.training.rl_job", job_file]


def read_prompts(job: dict) -> pd.DataFrame:
    """The job's prompts file. The tiny world's ``rl_prompts.parquet`` (``prompts_recorded``)
    is checked against the sha256 make_task_data recorded, so a file edited since stops the
    job naming it (:class:`~rlvr_boundary.workflow.recorded.RecordedFileChanged`); a trained
    model's prompts (make_rl_prompts) have no record."""
    if job["prompts_recorded"]:
        return read_recorded_parquet(job["prompts"])
    return pd.read_parquet(job["prompts"])


def run_job(job: dict) -> None:
    """Train (or, with steps = 0, copy the base as a null control) and save."""
    settings = job["settings"]
    if int(os.environ.get("WORLD_SIZE", 1)) > 1:
        # One of `accelerate launch`'s processes: join the group first, so that "cuda" is
        # this process's own GPU when the model is loaded (not GPU 0 for every process).
        from accelerate import PartialState

        PartialState()
    os.makedirs(job["checkpoints"], exist_ok=True)  # an output folder, even with no checkpoints
    if settings["steps"] == 0:
        log.info("rl steps = 0: saving an untrained copy of the base")
        model, tokenizer = load_checkpoint(job["base"])
        history = pd.DataFrame(columns=["step", "reward"])
    else:
        table = read_prompts(job).head(settings["prompts"])  # an edited file stops it here
        from .rl import train_rl  # heavy import (TRL), only where training happens

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
    command = launch_command(job_file, gpus, job.get("accelerate_config"))
    log.info("launching on %d GPUs: %s", gpus, " ".join(command))
    subprocess.run(command, check=True)


def run_rule(snakemake, base: str, checkpoint_steps, *, prompts_recorded: bool) -> None:
    """A train_rl or train_paper_rl rule job: its params and outputs as a job, then :func:`run`
    (with the rule's ``accelerate`` input, if any, as the multi-GPU launch's config file);
    ``prompts_recorded``: the prompts file has a sha256 record (:func:`read_prompts`)."""
    params, out = snakemake.params, snakemake.output
    accelerate_config = getattr(snakemake.input, "accelerate", None) or None
    job = dict(base=base, prompts=snakemake.input.prompts, prompts_recorded=prompts_recorded,
               settings=params.rl, seed=params.seed, threads=compute_threads(snakemake),
               checkpoints=out.checkpoints,
               checkpoint_steps=list(checkpoint_steps), device=resolve_device(params.device),
               model=out.model,
               history=out.history,
               accelerate_config=str(accelerate_config) if accelerate_config else None)
    run(job, f"{out.history}.job.json")


if __name__ == "__main__":  # one process of `accelerate launch`
    logging.basicConfig(level=logging.INFO)
    with open(sys.argv[1]) as handle:
        run_job(json.load(handle))
