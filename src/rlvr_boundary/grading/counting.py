"""Grading samples and counting correct ones per problem.

Every sample gets a ``grade_status_<metric>`` from the closed set
:data:`~rlvr_boundary.world.task.GRADE_STATUSES` for every metric; counts tables are what all
later analyses read, so imported results flow through the same estimation rules.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..world.task import GRADE_STATUSES, GRADERS, parse_prompt

SAMPLE_COLUMNS = ["problem_id", "sample_id", "completion", "finish_reason", "completion_tokens"]
COUNT_COLUMNS = ["model", "benchmark", "temperature", "metric", "problem_id", "n", "c"]
STOP_REASON_COLUMNS = ["stop_reason", "samples", "share"]


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


def grade_benchmark(samples: pd.DataFrame, problems_file: str, grader: dict,
                    threads: int = 1) -> pd.DataFrame:
    """One benchmark's samples graded by the benchmark's grader (from the study's plan):
    ``tiny_world`` checks the trace and the answer against the world's task
    (``claim_metric`` says which one is ``correct``); ``math`` grades the final answer with
    math-verify and the paper's lenient rules (``timeout_s`` per answer; truncated samples
    graded too with ``grade_truncated``, else their status is ``truncated``)."""
    if grader["kind"] == "tiny_world":
        from ..workflow.recorded import read_recorded_parquet

        return grade_samples(samples, read_recorded_parquet(problems_file),
                             grader["claim_metric"])
    if grader["kind"] != "math":
        raise ValueError(f"unknown grader {grader['kind']!r}: tiny_world or math")
    # Imported here: math-verify's start-up is not paid by the tiny world's jobs.
    from ..sampling.benchmarks import read_normalised
    from .math_answers import GRADERS, grade_completions

    problems = read_normalised(problems_file)
    gold = dict(zip(problems.problem_id, problems.reference_answer))
    scored = samples
    for name in GRADERS:
        scored = grade_completions(scored, gold, name, threads, grader["timeout_s"],
                                   grader.get("grade_truncated", False))
    return scored


def grading_summary(scored: pd.DataFrame, model: str, benchmark: str, temperature: float,
                    metrics: list[str]) -> pd.DataFrame:
    """One row: samples, truncated (finish_reason = length), per metric the correct,
    timeout and unparsable counts and the correct ones among the truncated, and how often
    the first two metrics disagree."""
    truncated = scored.finish_reason == "length"
    row = {"model": model, "benchmark": benchmark, "temperature": float(temperature),
           "samples": len(scored), "truncated": int(truncated.sum())}
    for metric in metrics:
        status = scored[f"grade_status_{metric}"]
        for name in ("correct", "timeout", "unparsable"):
            row[f"{name}_{metric}"] = int((status == name).sum())
        # Non-zero only where truncated samples are graded (grading.grade_truncated).
        row[f"truncated_correct_{metric}"] = int((truncated & (status == "correct")).sum())
    # Graded, or set aside with the status `truncated` (scored wrong)?
    first = scored[f"grade_status_{metrics[0]}"]
    row["truncated_graded"] = bool((truncated & (first != "truncated")).any())
    if len(metrics) > 1:
        first, second = (scored[f"grade_status_{m}"] == "correct" for m in metrics[:2])
        row[f"only_{metrics[0]}"] = int((first & ~second).sum())
        row[f"only_{metrics[1]}"] = int((~first & second).sum())
        row["disagreement_rate"] = (row[f"only_{metrics[0]}"] + row[f"only_{metrics[1]}"]) / len(scored)
    return pd.DataFrame([row])


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


def stop_reason_counts(samples: pd.DataFrame,
                       by: Sequence[str] = ("model", "benchmark", "temperature")) -> pd.DataFrame:
    """How many samples each stop ended, per group: the columns of ``by`` the frame has,
    then ``stop_reason`` (the stop string, ``eos:<id>`` or ``length``; a frame without that
    column, e.g. the tiny world's, falls back to its ``finish_reason``), ``samples`` and
    ``share`` (of the group's samples). Sorted by group, most frequent reason first."""
    keys = [column for column in by if column in samples.columns]
    reasons = samples["stop_reason"] if "stop_reason" in samples.columns else samples["finish_reason"]
    frame = samples[keys].assign(stop_reason=reasons.astype(str).to_numpy())
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            [*keys, *STOP_REASON_COLUMNS], [*(samples[k].dtype for k in keys), object, "int64",
                                            "float64"])})
    counts = frame.groupby([*keys, "stop_reason"], sort=False, dropna=False).size()
    counts = counts.rename("samples").reset_index()
    totals = (counts.groupby(keys, sort=False, dropna=False)["samples"].transform("sum")
              if keys else counts["samples"].sum())
    counts["share"] = counts["samples"] / totals
    counts = counts.sort_values([*keys, "samples", "stop_reason"],
                                ascending=[True] * len(keys) + [False, True], kind="stable")
    return counts.reset_index(drop=True)[[*keys, *STOP_REASON_COLUMNS]]
