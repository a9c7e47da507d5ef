"""Regime-sweep table and crossover spread across RL seeds on planted count tables."""

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.stats.passk import pass_at_k
from rlvr_boundary.analyses.regimes import crossover_spread, regime_table

N = 16


def counts(model, correct, benchmark="x"):
    return pd.DataFrame({
        "model": model, "benchmark": benchmark, "temperature": 1.0, "metric": "trace",
        "problem_id": [f"{benchmark}-{i:02d}" for i in range(len(correct))], "n": N,
        "c": np.asarray(correct, dtype=int)})


def mean_pass(correct, k):
    return np.mean([pass_at_k(N, c, k) for c in correct])


# 20 problems. The base solves every problem now and then (c = 3).
BASE = [3] * 20
# narrow RL: sure on 10 problems, never on the other 10 -> RL ahead at k=1, base ahead at k=n.
NARROW = [16] * 10 + [0] * 10
# broad RL: sure on every problem -> ahead at k=1, tied at k=n, never behind (RL >= base).
BROAD = [16] * 20

REGISTRY = pd.DataFrame([
    dict(model="b", family="f", role="base", parent="", regime="", step="", study=""),
    dict(model="rn", family="f", role="rl", parent="b", regime="narrow", step=200, study=""),
    dict(model="rb", family="f", role="rl", parent="b", regime="broad", step=200, study=""),
    dict(model="s1", family="f", role="rl", parent="b", regime="narrow", step=200,
         study="seeds", rl_seed=1),
    dict(model="s2", family="f", role="rl", parent="b", regime="narrow", step=200,
         study="seeds", rl_seed=2),
    dict(model="s3", family="f", role="rl", parent="b", regime="narrow", step=200,
         study="seeds", rl_seed=3),
])
PROMPTS = {"narrow": 64, "broad": 5000}


def test_regime_table_gap_counts_and_verdicts():
    table = regime_table(pd.concat([counts("b", BASE), counts("rn", NARROW), counts("rb", BROAD)]),
                         REGISTRY, PROMPTS, "trace", 1.0, 400, 0)
    assert list(table["regime"]) == ["narrow", "broad"]  # sorted by breadth
    narrow, broad = (table.set_index("regime").loc[g] for g in ("narrow", "broad"))
    assert (narrow["breadth"], broad["breadth"], narrow["k_max"]) == (64, 5000, N)
    assert narrow["gap"] == pytest.approx(mean_pass(BASE, N) - mean_pass(NARROW, N))
    assert narrow["gap"] == pytest.approx(0.5)
    assert narrow["pass1_diff"] == pytest.approx(mean_pass(NARROW, 1) - mean_pass(BASE, 1))
    assert narrow["c1_verdict"] == "holds" and narrow["c2_verdict"] == "holds"
    assert (narrow["both"], narrow["base_only"], narrow["rl_only"], narrow["neither"]) == (
        10, 10, 0, 0)
    assert narrow["gap_ci_low"] <= narrow["gap"] <= narrow["gap_ci_high"]
    # Both at 1 on every problem at k = n: nothing to estimate there (not a tie "inconclusive").
    assert broad["gap"] == 0.0 and broad["c2_verdict"] == "not estimable"
    assert broad["c1_verdict"] == "holds"
    # brute force: first k where the base's mean pass@k reaches the narrow RL's
    first = next(k for k in range(1, N + 1) if mean_pass(BASE, k) >= mean_pass(NARROW, k))
    assert narrow["crossover_k"] == first
    assert narrow["crossover_ci_low"] <= first <= narrow["crossover_ci_high"]
    assert narrow["rl_ahead_k"].startswith("1") and narrow["base_ahead_k"].endswith(f"{N}")
    # The base reaches pass@k = 1 once k > n - c = 13, where RL is at 1 too: both curves at 1
    # are not a crossover (it used to be counted as one at k = 14).
    assert np.isnan(broad["crossover_k"])
    assert broad["rl_ahead_k"] != "" and broad["base_ahead_k"] == ""


def test_regime_table_needs_every_breadth():
    with pytest.raises(ValueError, match="no prompt count"):
        regime_table(pd.concat([counts("b", BASE), counts("rb", BROAD)]), REGISTRY,
                     {"narrow": 64}, "trace", 1.0, 50, 0)


def test_crossover_spread_across_seeds():
    # seed 3 is sure on every problem, one of which the base never solves: no crossover.
    never = [16] * 20
    base = BASE[:19] + [0]
    late = [16] * 15 + [0] * 5
    table = pd.concat([counts("b", base), counts("s1", NARROW), counts("s2", late),
                       counts("s3", never), counts("rn", NARROW)])
    per_seed, summary = crossover_spread(table, REGISTRY, "trace", 1.0, 300, 0)
    assert list(per_seed["rl_seed"]) == [1, 2, 3]  # main-study models are not seeds
    expected = [next((k for k in range(1, N + 1) if mean_pass(base, k) >= mean_pass(rl, k)), None)
                for rl in (NARROW, late, never)]
    assert expected[2] is None and expected[0] < expected[1]
    assert list(per_seed["crossed"]) == [True, True, False]
    assert per_seed["crossover_k"].iloc[:2].tolist() == expected[:2]
    assert np.isnan(per_seed["crossover_k"].iloc[2])
    row = summary.iloc[0]
    assert (row["n_seeds"], row["n_no_crossover"], row["k_max"]) == (3, 1, N)
    assert (row["crossover_min"], row["crossover_max"]) == (expected[0], expected[1])
    assert row["crossover_median"] == pytest.approx(np.median(expected[:2]))
    low, high = per_seed[["crossover_ci_low", "crossover_ci_high"]].iloc[0]
    assert low <= expected[0] <= high


def test_crossover_spread_reads_a_csv_registry():
    # models.csv read with keep_default_na=False: rl_seed is "" for main models.
    registry = REGISTRY.astype(str).replace("nan", "")
    per_seed, summary = crossover_spread(
        pd.concat([counts("b", BASE), counts("s1", NARROW)]), registry, "trace", 1.0, 50, 0)
    assert per_seed["rl_seed"].tolist() == [1]
    assert summary["n_no_crossover"].tolist() == [0]
