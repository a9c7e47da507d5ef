"""Solvable sets, coverage shares with bootstrap CIs and accuracy histograms on hand-made tables."""

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.report.claims import benchmark_seed
from rlvr_boundary.analyses.coverage import (
    HISTOGRAM_BINS,
    accuracy_bin_index,
    accuracy_histogram,
    coverage_table,
    ratio_ci,
    solvable_sets,
)
from rlvr_boundary.stats.passk import bootstrap_weights


def counts(model, benchmark, correct, n, metric="trace", temperature=1.0):
    return pd.DataFrame({
        "model": model, "benchmark": benchmark, "temperature": temperature, "metric": metric,
        "problem_id": [f"{benchmark}-{i}" for i in range(len(correct))], "n": n,
        "c": np.asarray(correct, dtype=int)})


REGISTRY = pd.DataFrame([
    dict(model="b", family="f", role="base", parent="", regime="", study=""),
    dict(model="r", family="f", role="rl", parent="b", regime="narrow", study=""),
    dict(model="d", family="f", role="distilled", parent="b", regime="", study=""),
])
# 5 problems, n = 4: p0 both, p1 neither, p2 base only, p3 other only, p4 both.
BASE = [3, 0, 2, 0, 1]
RL = [4, 0, 0, 2, 1]


def test_solvable_sets_on_five_problems():
    sets = solvable_sets(counts("b", "x", BASE, 4), counts("r", "x", RL, 4))
    assert sets.both == ["x-0", "x-4"]
    assert sets.base_only == ["x-2"]
    assert sets.other_only == ["x-3"]
    assert sets.neither == ["x-1"]
    assert sets.counts() == {"both": 2, "base_only": 1, "other_only": 1, "neither": 1}
    assert (sets.preserved, sets.shrunk, sets.expanded) == (sets.both, sets.base_only,
                                                            sets.other_only)


def test_solvable_sets_pairs_by_problem_id_not_row_order():
    base = counts("b", "x", BASE, 4).iloc[::-1]
    sets = solvable_sets(base, counts("r", "x", RL, 4))
    assert sets.other_only == ["x-3"]


def test_solvable_sets_refuses_different_problems_or_n():
    with pytest.raises(ValueError, match="same problems"):
        solvable_sets(counts("b", "x", BASE, 4), counts("r", "x", RL[:4], 4))
    with pytest.raises(ValueError, match="same n"):
        solvable_sets(counts("b", "x", BASE, 4), counts("r", "x", RL, 8))


def test_ratio_ci_matches_a_loop_over_resamples():
    # Not a share of a subset of problems (weighted numerators): the paired bootstrap.
    rng = np.random.default_rng(3)
    den = rng.random(30) < 0.5
    num = (den & (rng.random(30) < 0.7)) * rng.integers(1, 4, 30)
    weights = bootstrap_weights(30, 400, 11)
    point, low, high = ratio_ci(num, den, weights, 0.9)
    ratios = [(w * num).sum() / w[den].sum() for w in weights if w[den].sum() > 0]
    assert point == pytest.approx(num.sum() / den.sum())
    assert low == pytest.approx(np.quantile(ratios, 0.05))
    assert high == pytest.approx(np.quantile(ratios, 0.95))
    assert all(np.isnan(ratio_ci(num * 0, den & False, weights)))


def test_ratio_ci_of_a_subset_share_is_clopper_pearson():
    # 0/1 indicators with numerator within the denominator: binomial given the denominator.
    weights = bootstrap_weights(30, 400, 11)
    solved = np.arange(30) < 4
    point, low, high = ratio_ci(solved, solved, weights)  # 4 of 4 covered
    assert point == 1.0 and high == 1.0
    assert low == pytest.approx(0.025 ** 0.25) and low == pytest.approx(0.3976, abs=1e-4)
    point, low, high = ratio_ci(solved & False, np.ones(30, bool), weights)  # 0 of 30
    assert (point, low) == (0.0, 0.0) and high == pytest.approx(0.1157, abs=1e-4)


def test_coverage_table_counts_shares_and_problem_sets():
    table_in = pd.concat([counts("b", "x", BASE, 4), counts("r", "x", RL, 4),
                          counts("d", "x", [4, 4, 4, 4, 4], 4),
                          counts("r", "x", [4] * 5, 4, metric="answer")])
    table, problems = coverage_table(table_in, REGISTRY, "trace", 1.0, 300, 5, 0.95)
    assert list(table["other_model"]) == ["d", "r"]
    rl = table.set_index("other_model").loc["r"]
    assert (rl["both"], rl["base_only"], rl["other_only"], rl["neither"]) == (2, 1, 1, 1)
    assert (rl["other_solved"], rl["base_solved"], rl["n_problems"]) == (3, 3, 5)
    assert rl["base_covers_share"] == pytest.approx(2 / 3)
    assert rl["expanded_share"] == pytest.approx(1 / 5)
    assert rl["shrunk_share"] == pytest.approx(1 / 5)
    assert rl["base_covers_ci_low"] <= 2 / 3 <= rl["base_covers_ci_high"]
    assert rl["expanded_ci_low"] <= 0.2 <= rl["expanded_ci_high"]
    # The CI uses the benchmark's shared weight matrix (the one claims.py uses).
    weights = bootstrap_weights(5, 300, benchmark_seed(5, "x"))
    solved_r = np.array(RL) > 0
    both = solved_r & (np.array(BASE) > 0)
    assert (rl["base_covers_ci_low"], rl["base_covers_ci_high"]) == pytest.approx(
        ratio_ci(both, solved_r, weights)[1:])
    distilled = table.set_index("other_model").loc["d"]
    assert distilled["role"] == "distilled" and distilled["other_only"] == 2
    on_r = problems[problems["other_model"] == "r"].set_index("problem_id")
    assert on_r.loc["x-3", "set"] == "other_only" and on_r.loc["x-3", "leash"] == "expanded"
    assert on_r.loc["x-2", "leash"] == "shrunk" and on_r.loc["x-0", "leash"] == "preserved"
    assert len(problems) == 10


def test_coverage_share_is_nan_when_other_solves_nothing():
    table, _ = coverage_table(pd.concat([counts("b", "x", BASE, 4),
                                         counts("r", "x", [0] * 5, 4)]),
                              REGISTRY, "trace", 1.0, 100, 0)
    row = table.iloc[0]
    assert row["other_solved"] == 0
    assert np.isnan(row["base_covers_share"]) and np.isnan(row["base_covers_ci_low"])
    assert row["expanded_share"] == 0.0


def test_coverage_table_without_study_column_and_missing_problems():
    registry = REGISTRY.drop(columns="study")
    table, _ = coverage_table(pd.concat([counts("b", "x", BASE, 4), counts("r", "x", RL, 4)]),
                              registry, "trace", 1.0, 50, 0)
    assert list(table["study"]) == [""]
    with pytest.raises(ValueError, match="counts missing"):
        coverage_table(pd.concat([counts("b", "x", BASE, 4), counts("r", "x", RL[:3], 4)]),
                       registry, "trace", 1.0, 50, 0)


def test_accuracy_bins_edges():
    n = np.array([10, 10, 10, 10, 10, 20, 20, 20, 20, 1024])
    c = np.array([0, 1, 5, 9, 10, 19, 2, 3, 1, 1023])
    labels = [HISTOGRAM_BINS[i] for i in accuracy_bin_index(n, c)]
    assert labels == ["0", "(0,0.1]", "(0.4,0.5]", "(0.8,0.9]", "1", "(0.9,1)", "(0,0.1]",
                      "(0.1,0.2]", "(0,0.1]", "(0.9,1)"]
    assert len(HISTOGRAM_BINS) == 12


def test_accuracy_histogram_shares():
    table = pd.concat([counts("b", "x", [0, 1, 5, 10], 10), counts("r", "x", [0, 0, 10, 10], 10),
                       counts("b", "x", [10] * 4, 10, temperature=0.6)])
    hist = accuracy_histogram(table, "trace", 1.0)
    assert len(hist) == 2 * len(HISTOGRAM_BINS)
    base = hist[hist["model"] == "b"].set_index("bin")["share"]
    rl = hist[hist["model"] == "r"].set_index("bin")["share"]
    assert base["0"] == 0.25 and base["(0,0.1]"] == 0.25 and base["1"] == 0.25
    assert rl["0"] == 0.5 and rl["1"] == 0.5 and rl.sum() == pytest.approx(1.0)
    assert base.sum() == pytest.approx(1.0)
