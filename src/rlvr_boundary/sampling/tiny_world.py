"""One sampling job's work in the tiny world: shard ``s`` of every benchmark a model is
sampled on at one temperature.

A tiny-world benchmark samples in a few seconds while a job spends several importing torch
and transformers and loading the model, so one job takes all of a model's benchmarks at a
temperature. Each benchmark keeps its own seed and is sampled on its own, so the samples are
those that one job per benchmark would draw.
"""

from __future__ import annotations

import logging

import pandas as pd

from .checkpoints import shard_problems
from .generate import sample_completions

log = logging.getLogger(__name__)


def sample_benchmarks(model, tokenizer, benchmarks: dict[str, pd.DataFrame], seeds: dict[str, int],
                      shard: int, shards: int, n: int, temperature: float, top_p: float,
                      max_new_tokens: int, batch_size: int) -> pd.DataFrame:
    """``n`` samples per problem of shard ``shard`` of each benchmark, each benchmark drawn
    with ``seeds[name]``; one frame, a ``benchmark`` and a ``problem_id`` column first."""
    frames = []
    for name, benchmark in benchmarks.items():
        problems = shard_problems(benchmark, shards, shard)
        log.info("%s shard %d: %d problems x n=%d at T=%s", name, shard, len(problems), n, temperature)
        samples = sample_completions(model, tokenizer, problems.prompt.tolist(), n, temperature,
                                     top_p, max_new_tokens, seeds[name], batch_size)
        samples.insert(0, "problem_id", problems.problem_id.to_numpy()[samples.pop("prompt_index")])
        samples.insert(0, "benchmark", name)
        frames.append(samples)
    return pd.concat(frames, ignore_index=True)
