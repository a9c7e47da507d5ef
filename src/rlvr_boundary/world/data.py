"""Seeded, disjoint splits of the tiny world, written as parquet files.

Benchmarks are drawn first, then RL prompts, then the training split, each excluding
every problem already drawn, so no benchmark problem is ever trained on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .task import MODULUS, OPERATORS, Problem, random_problem

SPLIT_COLUMNS = ["problem_id", "prompt", "answer", "depth", "reference"]


def universe_size(depth: int) -> int:
    return MODULUS * (len(OPERATORS) * MODULUS) ** depth


def draw_problems(rng: np.random.Generator, depths: list[int], count: int,
                  taken: set[str], name: str) -> list[Problem]:
    """``count`` distinct problems not in ``taken`` (updated in place), depths uniform."""
    available = sum(universe_size(d) for d in depths) - sum(
        1 for prompt in taken if _depth_of(prompt) in depths)
    if count > available:
        raise ValueError(f"{name}: asked for {count} distinct problems of depths {depths}, "
                         f"but only {available} remain after the other splits")
    problems = []
    while len(problems) < count:
        problem = random_problem(rng, int(rng.choice(depths)))
        if problem.prompt not in taken:
            taken.add(problem.prompt)
            problems.append(problem)
    return problems


def _depth_of(prompt: str) -> int:
    return sum(prompt.count(op) for op in OPERATORS)


def problems_frame(problems: list[Problem], prefix: str) -> pd.DataFrame:
    return pd.DataFrame({
        "problem_id": [f"{prefix}-{i:05d}" for i in range(len(problems))],
        "prompt": [p.prompt for p in problems],
        "answer": [str(p.answer) for p in problems],
        "depth": [p.depth for p in problems],
        "reference": [p.completion() for p in problems],
    }, columns=SPLIT_COLUMNS)


def make_splits(seed: int, benchmarks: dict, rl_prompts: dict, train: dict) -> dict[str, pd.DataFrame]:
    """All splits: one frame per benchmark, ``rl_prompts`` and ``train``."""
    rng = np.random.default_rng(seed)
    taken: set[str] = set()
    splits = {}
    for name, spec in benchmarks.items():
        splits[f"benchmark_{name}"] = problems_frame(
            draw_problems(rng, spec["depths"], spec["problems"], taken, f"benchmarks.{name}"), name)
    splits["rl_prompts"] = problems_frame(
        draw_problems(rng, rl_prompts["depths"], rl_prompts["problems"], taken, "data.rl_prompts"), "rl")
    splits["train"] = problems_frame(
        draw_problems(rng, train["depths"], train["problems"], taken, "data.train"), "train")
    return splits
