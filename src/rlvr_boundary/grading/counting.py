"""Grading samples and counting correct ones per problem.

Every sample gets a ``grade_status_<metric>`` from the closed set
:data:`~rlvr_boundary.world.task.GRADE_STATUSES` for every metric; counts tables are what all
later analyses read, so imported results flow through the same estimation rules.
"""

from __future__ import annotations

import pandas as pd

from ..world.task import GRADE_STATUSES, GRADERS, parse_prompt

SAMPLE_COLUMNS = ["problem_id", "sample_id", "completion", "finish_reason", "completion_tokens"]
COUNT_COLUMNS = ["model", "benchmark", "temperature", "metric", "problem_id", "n", "c"]


def check_samples(samples: pd.DataFrame, benchmark: pd.DataFrame, n: int | None = None) -> None:
    """Refuse a malformed samples table before grading it."""
    missing = set(SAMPLE_COLUMNS) - set(samples.columns)
    if missing:
        raise ValueError(f"samples table lacks columns {sorted(missing)}")
    unknown = set(samples.problem_id) - set(benchmark.problem_id)
    if unknown:
        raise ValueError(f"samples name {len(unknown)} problems not in the benchmark, e.g. {sorted(unknown)[:3]}")
    if samples.duplicated(["problem_id", "sample_id"]).any():
        raise ValueError("samples table has duplicate (problem_id, sample_id) rows")
    bad = set(samples.finish_reason) - {"stop", "length"}
    if bad:
        raise ValueError(f"unknown finish_reason values {sorted(bad)}")
    per_problem = samples.groupby("problem_id").size()
    if n is not None and (per_problem != n).any():
        raise ValueError(f"expected {n} samples per problem, found {sorted(set(per_problem))}")


def benchmark_samples(samples: pd.DataFrame, name: str) -> pd.DataFrame:
    """One benchmark's rows of a sampling job's table (a job samples every benchmark of
    its model at one temperature: :mod:`..sampling.tiny_world`), without its ``benchmark``
    column."""
    if "benchmark" not in samples.columns:
        raise ValueError("samples table lacks a 'benchmark' column (written before sampling "
                         "jobs covered several benchmarks? rerun sample_model)")
    return samples[samples.benchmark == name].drop(columns="benchmark").reset_index(drop=True)


def grade_samples(samples: pd.DataFrame, benchmark: pd.DataFrame, claim_metric: str) -> pd.DataFrame:
    """One row per sample with a status per metric, ``correct`` (the claims' metric) and
    ``answer_correct``. Identical (problem, completion, finish) triples are graded once."""
    check_samples(samples, benchmark)
    problems = {row.problem_id: parse_prompt(row.prompt) for row in benchmark.itertuples()}
    keys = ["problem_id", "completion", "finish_reason"]
    unique = samples[keys].drop_duplicates()
    for metric, grader in GRADERS.items():
        unique[f"grade_status_{metric}"] = [
            grader(problems[p], text, finish)
            for p, text, finish in zip(unique.problem_id, unique.completion, unique.finish_reason)]
        assert set(unique[f"grade_status_{metric}"]) <= set(GRADE_STATUSES)
    scored = samples.merge(unique, on=keys, how="left", validate="many_to_one")
    scored["correct"] = scored[f"grade_status_{claim_metric}"] == "correct"
    scored["answer_correct"] = scored["grade_status_answer"] == "correct"
    return scored.sort_values(["problem_id", "sample_id"], kind="stable").reset_index(drop=True)


def count_correct(scored: pd.DataFrame, model: str, benchmark: str, temperature: float,
                  metrics: list[str]) -> pd.DataFrame:
    """Per problem and metric: n samples, c of them correct."""
    frames = []
    for metric in metrics:
        grouped = (scored[f"grade_status_{metric}"] == "correct").groupby(scored.problem_id)
        frames.append(pd.DataFrame({
            "model": model, "benchmark": benchmark, "temperature": float(temperature),
            "metric": metric, "problem_id": grouped.size().index,
            "n": grouped.size().to_numpy(), "c": grouped.sum().to_numpy().astype(int)}))
    return pd.concat(frames, ignore_index=True)[COUNT_COLUMNS]


def check_counts(counts: pd.DataFrame) -> None:
    """Refuse a counts table that the estimators would misread."""
    missing = set(COUNT_COLUMNS) - set(counts.columns)
    if missing:
        raise ValueError(f"counts table lacks columns {sorted(missing)}")
    if ((counts.c < 0) | (counts.c > counts.n) | (counts.n < 1)).any():
        raise ValueError("counts table has rows with c < 0, c > n or n < 1")
    if counts.duplicated(["model", "benchmark", "temperature", "metric", "problem_id"]).any():
        raise ValueError("counts table has duplicate rows for one problem")
