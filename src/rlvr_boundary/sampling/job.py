"""One sampling job, whatever the model: one block of samples (:mod:`.blocks`) for shard ``s``
of each benchmark of a group at one temperature, each benchmark drawn with its own seed,
into one samples table with a ``benchmark`` column (grading splits it again).

The study's plan says what a job covers (rules/sample.smk): in the tiny world a group is
every benchmark a model is sampled on there, because a job is mostly start-up; for a
checkpoint it is one benchmark, so that adding a benchmark never reruns the others. The
engine follows the model: the tiny world's own checkpoints are sampled with their prompts
as the world wrote them, Hub-layout checkpoints with the model's prompt template and the
configured backend (:mod:`.checkpoints`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..workflow.load_failures import model_loading

ENGINES = ("tiny_world", "checkpoint")


def model_path(model_input: str, subfolder: str = "") -> str:
    """Where a model's weights are: its folder (an intermediate checkpoint is a step
    subfolder of its run's folder), or the path the manifest of a fetched model names."""
    if model_input.endswith(".json"):
        return json.loads(Path(model_input).read_text())["path"]
    return os.path.join(model_input, subfolder)


def verified_model_path(model_input: str, subfolder: str = "") -> str:
    """:func:`model_path`, its files first checked against every sha256 recorded for them
    (:func:`~rlvr_boundary.models.integrity.verify_checkpoint`): the manifest's for a
    fetched model, the folder's checksum file for one trained here, Hub cache blob names.
    Whatever then loads the path (transformers, or a vLLM engine that reads it itself)
    reads verified weights; a changed file stops the job naming it."""
    from ..models.integrity import verify_checkpoint

    path = model_path(model_input, subfolder)
    verify_checkpoint(path, model_input if model_input.endswith(".json") else None)
    return path


def sample_job(model_input: str, benchmark_files: list[str], job: dict, shard: int,
               temperature: float, threads: int, gpus: int = 0) -> pd.DataFrame:
    """The samples of one job. ``job`` comes from the plan: ``engine``, ``benchmarks``
    (name -> seed, and for checkpoints template, limit and shards, in the order of
    ``benchmark_files``), ``block`` (:meth:`.blocks.Block.param`: the sample ids it draws),
    ``sampling`` (the config's block), ``device`` and, for a tiny intermediate checkpoint,
    ``subfolder``. Sample ids are the block's: ``start`` onwards."""
    if job["engine"] not in ENGINES:
        raise ValueError(f"unknown sampling engine {job['engine']!r}: one of {ENGINES}")
    # A failure loading the model repeats in every job of it: recorded, later jobs refuse
    # (workflow.load_failures; a no-op outside a sampling job).
    with model_loading("verifying the checkpoint's files"):
        path = verified_model_path(model_input, job.get("subfolder", ""))
    specs = job["benchmarks"]
    if job["engine"] == "tiny_world":
        samples = _sample_tiny_world(path, dict(zip(specs, benchmark_files)), job, shard,
                                     temperature, threads)
    else:
        samples = _sample_checkpoint(path, benchmark_files, job, shard, temperature, gpus)
    samples["sample_id"] += job["block"]["start"]
    return samples


def _sample_checkpoint(path: str, benchmark_files: list[str], job: dict, shard: int,
                       temperature: float, gpus: int) -> pd.DataFrame:
    from .benchmarks import read_normalised
    from .checkpoints import sample_problems, shard_problems

    frames = []
    for (name, spec), file in zip(job["benchmarks"].items(), benchmark_files):
        problems = read_normalised(file)
        if spec.get("limit"):
            problems = problems.head(spec["limit"])
        problems = shard_problems(problems, spec.get("shards", job["sampling"]["shards"]), shard)
        samples = sample_problems(path, problems, spec["template"], job["block"]["samples"],
                                  temperature, job["sampling"], spec["seed"], job["device"], gpus)
        samples.insert(0, "benchmark", name)
        frames.append(samples)
    return pd.concat(frames, ignore_index=True)


def _sample_tiny_world(path: str, files: dict[str, str], job: dict, shard: int,
                       temperature: float, threads: int) -> pd.DataFrame:
    from ..models.modeling import load_checkpoint, set_determinism
    from ..workflow.recorded import read_recorded_parquet
    from .tiny_world import sample_benchmarks

    seeds = {name: spec["seed"] for name, spec in job["benchmarks"].items()}
    # Threads and the global streams; each benchmark's draws come from its own seed.
    set_determinism(seeds[next(iter(seeds))], threads)
    benchmarks = {name: read_recorded_parquet(file) for name, file in files.items()}
    with model_loading():
        model, tokenizer = load_checkpoint(path, job["device"])
    sampling = job["sampling"]
    return sample_benchmarks(model, tokenizer, benchmarks, seeds, shard, sampling["shards"],
                             job["block"]["samples"], temperature, sampling["top_p"],
                             sampling["max_new_tokens"], sampling["batch_size"])
