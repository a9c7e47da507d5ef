"""Bayes@N (Hariri et al., "Don't Pass@k: A Bayesian Framework for Large Language Model
Evaluation", ICLR 2026) beside pass@1, computed by their own package, ``scorio``.

Model: each problem i of a benchmark has its own chance p_i that a sample is correct; with
the paper's default prior (Dirichlet(+1) over the outcome categories, here correct / wrong:
a uniform Beta(1, 1) per problem, no prior outcomes) and c_i correct of n_i samples, the
posterior of p_i is Beta(c_i + 1, n_i - c_i + 1). Bayes@N is the posterior of the mean
accuracy over the benchmark's problems, mu = (1/M) sum_i p_i:

    E[mu]   = (1/M) sum_i (c_i + 1) / (n_i + 2)
    Var[mu] = (1/M^2) sum_i m_i (1 - m_i) / (n_i + 3),   m_i = (c_i + 1) / (n_i + 2)

and its credible interval is scorio's central normal approximation mu +- z sigma, clipped
to [0, 1]. The interval is about these problems' accuracies given the samples drawn (sampling
noise only); pass@1's bootstrap interval also resamples the problems, so it is the wider of
the two whenever problems differ. As n grows, E[mu] tends to pass@1 = mean(c_i / n_i): each
term differs by |n_i - 2 c_i| / (n_i (n_i + 2)) <= 1 / (n_i + 2).

scorio's ``bayes`` takes a 0/1 outcome matrix with one row per problem and the same number
of samples in every row; counts give it directly (c ones, n - c zeros: the posterior depends
on the counts only). Where n differs between problems, each group of problems sharing an n
is one call, and the groups combine exactly (independent problems): the mean weighted by
group size, the variance by its square.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scorio.eval import bayes
from scorio.eval.utils import normal_credible_interval

from ..grading.counting import check_counts

PRIOR = "uniform Beta(1,1) per problem (Bayes@N Dirichlet(+1), no prior outcomes)"
INTERVAL = "normal approximation mu +- z*sigma, clipped to [0, 1] (scorio.eval.bayes_ci)"


def outcome_matrix(c, n: int) -> np.ndarray:
    """(M, n) 0/1 outcomes with c[i] ones in row i: what scorio's ``bayes`` reads."""
    c = np.asarray(c, dtype=np.int64)
    if np.any((c < 0) | (c > n)):
        raise ValueError(f"correct counts must lie in [0, n={n}]")
    return (np.arange(n)[None, :] < c[:, None]).astype(np.int8)


def bayes_at_n(n, c, level: float = 0.95) -> dict:
    """Bayes@N of one model on one benchmark from per-problem counts (c[i] correct of n[i]).

    Returns mean (posterior mean of the mean accuracy), sd (its posterior SD), ci_low and
    ci_high (central credible interval at ``level``)."""
    n = np.atleast_1d(np.asarray(n, dtype=np.int64))
    c = np.atleast_1d(np.asarray(c, dtype=np.int64))
    n, c = np.broadcast_arrays(n, c)
    if n.size == 0:
        raise ValueError("Bayes@N needs at least one problem")
    if n.min() < 1:
        raise ValueError(f"need n >= 1 samples per problem, got n={int(n.min())}")
    total = n.size
    mean, variance = 0.0, 0.0
    for samples in np.unique(n):
        chosen = n == samples
        size = int(chosen.sum())
        mu, sigma = bayes(outcome_matrix(c[chosen], int(samples)))
        mean += size * float(mu) / total
        variance += (size * float(sigma) / total) ** 2
    sd = float(np.sqrt(variance))
    low, high = normal_credible_interval(mean, sd, credibility=level, bounds=(0.0, 1.0))
    return {"mean": float(mean), "sd": sd, "ci_low": float(low), "ci_high": float(high)}


BAYES_COLUMNS = ["model", "benchmark", "temperature", "metric", "n", "n_problems", "pass_at_1",
                 "pass_at_1_ci_low", "pass_at_1_ci_high", "bayes_mean", "bayes_sd", "ci_low",
                 "ci_high", "ci_level", "prior", "interval"]
GROUP = ["model", "benchmark", "temperature", "metric"]


def bayes_table(counts: pd.DataFrame, level: float = 0.95,
                passk: pd.DataFrame | None = None) -> pd.DataFrame:
    """Bayes@N for every model x benchmark x temperature x metric of a counts table
    (BAYES_COLUMNS). Beside it pass@1 (= mean c/n) and, from ``passk`` (passk.csv) where
    given, its problem-paired bootstrap CI. ``n`` is the fewest samples of any problem (as in
    passk.csv)."""
    check_counts(counts)
    rows = []
    for (model, benchmark, temperature, metric), group in counts.groupby(GROUP, sort=True):
        n, c = group.n.to_numpy(np.int64), group.c.to_numpy(np.int64)
        posterior = bayes_at_n(n, c, level)
        rows.append((model, benchmark, float(temperature), metric, int(n.min()), len(group),
                     float(np.mean(c / n)), np.nan, np.nan, posterior["mean"], posterior["sd"],
                     posterior["ci_low"], posterior["ci_high"], float(level), PRIOR, INTERVAL))
    table = pd.DataFrame(rows, columns=BAYES_COLUMNS)
    if passk is not None and len(table):
        at_1 = passk[passk.k == 1].assign(temperature=lambda t: t.temperature.astype(float))
        merged = table[GROUP].merge(at_1[GROUP + ["ci_low", "ci_high"]], on=GROUP, how="left")
        table["pass_at_1_ci_low"] = merged["ci_low"].to_numpy()
        table["pass_at_1_ci_high"] = merged["ci_high"].to_numpy()
    return table
