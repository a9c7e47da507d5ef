"""The paired bootstrap does not invent effects: under a null, "holds" stays rare."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rlvr_boundary.report.claims import paired_difference, verdict_from_ci
from rlvr_boundary.stats.passk import bootstrap_weights


def _counts(c, n):
    return pd.DataFrame({"problem_id": [f"p{i:03d}" for i in range(len(c))], "n": n, "c": c})


def test_false_positive_rate_under_the_null():
    """Two models with the same per-problem success rates (independent samples): the
    one-sided 'holds' rate of a 95% CI should be near 2.5%, far below 10%."""
    rng = np.random.default_rng(2024)
    problems, n, trials = 60, 16, 300
    weights = bootstrap_weights(problems, 1000, seed=5)
    holds = {1: 0, n: 0}
    for _ in range(trials):
        rates = rng.beta(0.5, 1.5, size=problems)
        a, b = rng.binomial(n, rates), rng.binomial(n, rates)
        for k in holds:
            value, low, high = paired_difference(_counts(a, n), _counts(b, n), k, weights)
            holds[k] += verdict_from_ci(low, high) == "holds"
    for k, count in holds.items():
        assert count / trials < 0.08, (k, count)


def test_power_against_a_real_effect():
    """The same machinery does detect a clear difference."""
    rng = np.random.default_rng(7)
    problems, n = 60, 16
    weights = bootstrap_weights(problems, 1000, seed=5)
    rates = rng.beta(0.5, 1.5, size=problems)
    better = np.clip(rates + 0.2, 0, 1)
    value, low, high = paired_difference(_counts(rng.binomial(n, better), n),
                                         _counts(rng.binomial(n, rates), n), 1, weights)
    assert verdict_from_ci(low, high) == "holds"
