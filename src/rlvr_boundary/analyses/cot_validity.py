"""Chain-of-thought validity (claim C5) and lucky-guess rates.

The paper checked by hand that for most problems an RL model solves, the base
model has at least one correct chain of thought. In the tiny world every step
is checkable: the "trace" metric counts samples whose every step and answer are
right, the "answer" metric samples whose final answer is right.

share = among problems the RL model solves (trace c > 0), the fraction where the
        base has a sample with the right answer AND a fully valid chain (base
        trace c > 0), with a problem-paired bootstrap CI (ratio of weighted sums).
lucky-guess rate = sum(c_answer - c_trace) / sum(c_answer): the fraction of
        right answers reached by a wrong chain.

Mode ``answer_only`` (paper scale, no step checking) uses the answer metric for
both models, keeps the table's shape and marks every row steps_checked=False.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .coverage import (
    benchmark_problems,
    benchmark_weights,
    model_counts,
    model_pairs,
    paired_counts,
    ratio_ci,
    select_counts,
)

MODES = ("trace", "answer_only")
COT_COLUMNS = [
    "family", "regime", "study", "role", "model", "base_model", "benchmark", "temperature",
    "mode", "steps_checked", "n_problems", "model_solved", "base_valid", "share", "ci_low",
    "ci_high", "lucky_guess_model", "lucky_guess_base",
]


def lucky_guess_rate(answer_c, trace_c) -> float:
    """sum(c_answer - c_trace) / sum(c_answer); NaN when no answer is right.

    A trace-correct sample always has the right answer, so c_trace <= c_answer.
    """
    answer_c = np.asarray(answer_c, dtype=np.int64)
    trace_c = np.asarray(trace_c, dtype=np.int64)
    if np.any(trace_c > answer_c):
        raise ValueError("trace-correct count exceeds answer-correct count: inconsistent counts")
    total = answer_c.sum()
    return float("nan") if total == 0 else float((answer_c - trace_c).sum() / total)


def _lucky(answer: pd.DataFrame, trace: pd.DataFrame, model: str, benchmark: str, ids):
    a = model_counts(answer, model, benchmark, ids)
    t = model_counts(trace, model, benchmark, ids)
    if a is None or t is None:
        return float("nan")
    return lucky_guess_rate(a["c"], t["c"])


def cot_validity_table(counts: pd.DataFrame, registry: pd.DataFrame, temperature: float,
                       n_resamples: int, seed: int, level: float = 0.95, mode: str = "trace",
                       roles=("rl",)) -> pd.DataFrame:
    """One row per (RL model, its base) pair and benchmark (COT_COLUMNS).

    share/ci are NaN when the RL model solves no problem. Lucky-guess rates need
    both metrics in ``counts``; they are NaN where one is missing.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    metric = "trace" if mode == "trace" else "answer"
    selected = select_counts(counts, metric, temperature)
    answer = select_counts(counts, "answer", temperature)
    trace = select_counts(counts, "trace", temperature)
    problems = benchmark_problems(selected)
    weights = benchmark_weights(problems, n_resamples, seed)
    rows = []
    for pair, benchmark, ids, base, model in paired_counts(
            selected, model_pairs(registry, roles), problems):
        model_solved = model["c"].to_numpy() > 0
        base_valid = model_solved & (base["c"].to_numpy() > 0)
        share = ratio_ci(base_valid, model_solved, weights[benchmark], level)
        rows.append((
            pair.family, pair.regime, pair.study, pair.role, pair.other_model,
            pair.base_model, benchmark, float(temperature), mode, mode == "trace", len(ids),
            int(model_solved.sum()), int(base_valid.sum()), *share,
            _lucky(answer, trace, pair.other_model, benchmark, ids),
            _lucky(answer, trace, pair.base_model, benchmark, ids)))
    return pd.DataFrame(rows, columns=COT_COLUMNS)
