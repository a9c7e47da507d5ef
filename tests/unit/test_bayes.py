"""Bayes@N (stats.bayes): scorio's posterior against one computed by hand, its large-n limit
(pass@1), unequal sample counts, and the table beside pass@1."""

import math

import numpy as np
import pandas as pd
import pytest
from scorio.eval import bayes_ci

from rlvr_boundary.stats.bayes import BAYES_COLUMNS, PRIOR, bayes_at_n, bayes_table, outcome_matrix
from rlvr_boundary.stats.passk import pass_at_k_matrix
from rlvr_boundary.stats.passk_table import passk_table

Z_975 = 1.959963984540054


def test_hand_computed_posterior():
    # Two problems, 4 samples each: 0 and 3 correct. Uniform prior: Beta(1, 5) and Beta(4, 2).
    # Means 1/6 and 4/6; variances ab / ((a+b)^2 (a+b+1)) = 5/252 and 8/252.
    # Mean accuracy: (1/6 + 4/6) / 2 = 5/12; its variance (5 + 8) / 252 / 2^2 = 13/1008.
    posterior = bayes_at_n([4, 4], [0, 3])
    assert posterior["mean"] == pytest.approx(5 / 12, abs=1e-12)
    assert posterior["sd"] == pytest.approx(math.sqrt(13 / 1008), abs=1e-12)
    half = Z_975 * math.sqrt(13 / 1008)
    assert posterior["ci_low"] == pytest.approx(5 / 12 - half, abs=1e-9)
    assert posterior["ci_high"] == pytest.approx(5 / 12 + half, abs=1e-9)


def test_interval_is_clipped_to_the_unit_range():
    posterior = bayes_at_n([2], [0])  # Beta(1, 3): mean 0.25, sd sqrt(3/80) = 0.19
    assert posterior["mean"] == pytest.approx(0.25)
    assert posterior["sd"] == pytest.approx(math.sqrt(3 / 80))
    assert posterior["ci_low"] == 0.0 and posterior["ci_high"] < 1.0


def test_matches_scorio_on_the_outcome_matrix():
    rng = np.random.default_rng(3)
    c = rng.integers(0, 17, size=40)
    assert (outcome_matrix(c, 16).sum(axis=1) == c).all()
    mu, sigma, low, high = bayes_ci(outcome_matrix(c, 16), confidence=0.9, bounds=(0.0, 1.0))
    posterior = bayes_at_n(np.full(40, 16), c, level=0.9)
    assert (posterior["mean"], posterior["sd"], posterior["ci_low"], posterior["ci_high"]) == \
        pytest.approx((mu, sigma, low, high), abs=1e-12)


def test_unequal_sample_counts_combine_exactly():
    # Problems with different n: the closed form per problem, averaged over problems.
    n, c = np.array([4, 8, 8, 16]), np.array([1, 0, 8, 5])
    means = (c + 1) / (n + 2)
    variance = np.sum(means * (1 - means) / (n + 3)) / len(n) ** 2
    posterior = bayes_at_n(n, c)
    assert posterior["mean"] == pytest.approx(means.mean(), abs=1e-12)
    assert posterior["sd"] == pytest.approx(math.sqrt(variance), abs=1e-12)


@pytest.mark.parametrize("n", [8, 64, 1024, 65536])
def test_agrees_with_pass_at_1_as_n_grows(n):
    # Fixed per-problem accuracies: Bayes@N's mean is within 1/(n + 2) of pass@1 = mean c/n,
    # and its posterior SD vanishes like 1/sqrt(n).
    accuracy = np.array([0.0, 0.1, 0.35, 0.5, 0.9, 1.0])
    c = np.round(accuracy * n).astype(int)
    pass_1 = pass_at_k_matrix(np.full(c.size, n), c, [1]).mean()
    posterior = bayes_at_n(np.full(c.size, n), c)
    assert abs(posterior["mean"] - pass_1) <= 1 / (n + 2) + 1e-15
    assert posterior["sd"] <= 0.5 / math.sqrt(n + 3)
    if n >= 1024:
        assert abs(posterior["mean"] - pass_1) < 1e-3


def test_bayes_table_sits_beside_pass_at_1():
    rng = np.random.default_rng(0)
    rows = []
    for model, p in (("a", 0.3), ("b", 0.6)):
        for metric in ("trace", "answer"):
            c = rng.binomial(8, p, size=25)
            rows.append(pd.DataFrame({"model": model, "benchmark": "x", "temperature": 1.0,
                                      "metric": metric, "problem_id": [f"p{i}" for i in range(25)],
                                      "n": 8, "c": c}))
    counts = pd.concat(rows, ignore_index=True)
    passk = passk_table(counts, [1, 8], 200, 0, 0.95)
    table = bayes_table(counts, 0.95, passk)
    assert list(table.columns) == BAYES_COLUMNS and len(table) == 4
    assert set(table.prior) == {PRIOR}
    for row in table.itertuples():
        group = counts[(counts.model == row.model) & (counts.metric == row.metric)]
        assert row.pass_at_1 == pytest.approx((group.c / group.n).mean())
        assert row.bayes_mean == pytest.approx(((group.c + 1) / (group.n + 2)).mean())
        at_1 = passk[(passk.model == row.model) & (passk.metric == row.metric) & (passk.k == 1)]
        assert (row.pass_at_1_ci_low, row.pass_at_1_ci_high) == (at_1.ci_low.item(),
                                                                 at_1.ci_high.item())
        assert row.ci_low <= row.bayes_mean <= row.ci_high
        # The credible interval leaves out the spread of the problems, the bootstrap does not.
        assert row.ci_high - row.ci_low < row.pass_at_1_ci_high - row.pass_at_1_ci_low
    # Without passk.csv the bootstrap columns stay empty.
    assert bayes_table(counts).pass_at_1_ci_low.isna().all()
