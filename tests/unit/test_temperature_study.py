"""The temperature study: same-temperature and entropy-matched comparisons on planted tables."""

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.stats.passk import pass_at_k
from rlvr_boundary.analyses.temperature_study import temperature_table

N = 8


def counts(model, temperature, correct):
    return pd.DataFrame({"model": model, "benchmark": "b", "temperature": temperature,
                         "metric": "trace", "problem_id": [f"p{i}" for i in range(len(correct))],
                         "n": N, "c": correct})


def planted(half=5):
    # The base is diverse (some right on every problem); RL is sharp at T=1 (all or nothing)
    # and diverse at T=1.5, where its entropy matches the base's at T=1.
    base = counts("base", 1.0, [2] * 2 * half)
    base_hot = counts("base", 1.5, [1] * 2 * half)
    rl = counts("rl", 1.0, [8] * half + [0] * half)
    rl_hot = counts("rl", 1.5, [3] * 2 * half)
    entropy = pd.DataFrame({"model": ["base", "base", "rl", "rl"], "benchmark": "b",
                            "temperature": [1.0, 1.5, 1.0, 1.5],
                            "mean_entropy": [0.9, 1.4, 0.1, 0.85]})
    return pd.concat([base, base_hot, rl, rl_hot], ignore_index=True), entropy


def test_rows_per_temperature_and_one_entropy_matched():
    table_counts, entropy = planted()
    table = temperature_table(table_counts, entropy, {"rl": "base"}, [1.0, 1.5], 1.0, "trace",
                              n_resamples=300, seed=0)
    assert table.comparison.tolist() == ["same temperature", "same temperature", "entropy-matched"]
    matched = table.iloc[-1]
    assert (matched.base_temperature, matched.rl_temperature) == (1.0, 1.5)
    assert matched.rl_entropy == pytest.approx(0.85)
    same = table.iloc[0]
    expected_gap = (np.mean([pass_at_k(N, 2, N)] * 10)
                    - np.mean([pass_at_k(N, 8, N)] * 5 + [pass_at_k(N, 0, N)] * 5))
    assert same.gap_k_max == pytest.approx(expected_gap)
    assert same.gap_ci_low <= same.gap_k_max <= same.gap_ci_high
    # Sharp RL at T=1: base ahead at k=N (it covers all 10 problems, RL 5); matched RL covers all.
    assert same.gap_k_max > 0.4
    assert matched.gap_k_max == pytest.approx(0.0)


def test_crossover_is_the_claims_all_crossings_one():
    # Same temperature T=1: base pass@k = 1 - C(6,k)/C(8,k) on every problem, RL 0.5 at every
    # k; the base first reaches RL at k=3 (0.25, 0.46, 0.64, ...).
    expected = next(k for k in range(1, N + 1) if pass_at_k(N, 2, k) >= 0.5)
    assert expected == 3
    table_counts, entropy = planted(half=30)
    same = temperature_table(table_counts, entropy, {"rl": "base"}, [1.0, 1.5], 1.0, "trace",
                             n_resamples=1000, seed=0).iloc[0]
    assert same.crossover_k == expected and same.lead_changes == f"RL@1;base@{expected}"
    # 60 problems: RL significantly ahead at k=1 (-0.75 on its 30, +0.25 on the others), the
    # base at k=N (+1 on the 30 RL never solves, 0 elsewhere); the interval lies between.
    rl_ahead = {int(k) for k in str(same.rl_ahead_k).replace("-", ",").split(",")}
    assert 1 in rl_ahead and str(same.base_ahead_k).endswith(str(N))
    assert same.crossover_ci_low <= expected <= same.crossover_ci_high <= N
    assert same.crossover_ci_low == 1 + int(str(same.rl_ahead_k).split(",")[0].split("-")[-1])
    assert same.crossover_ci_high == int(str(same.base_ahead_k).split("-")[0].split(",")[0])
    # Entropy-matched: RL at T=1.5 (3/8 on every problem) is ahead of the base (2/8) at every
    # k but never at 0 or 1: no crossover, and the base is never significantly ahead.
    matched = temperature_table(table_counts, entropy, {"rl": "base"}, [1.0, 1.5], 1.0, "trace",
                                n_resamples=1000, seed=0).iloc[-1]
    assert np.isnan(matched.crossover_k) and matched.crossover_ci_high == N + 1


def test_missing_temperature_counts_are_an_error():
    table_counts, entropy = planted()
    table_counts = table_counts[table_counts.temperature != 1.5]
    with pytest.raises(ValueError, match="T=1.5"):
        temperature_table(table_counts, entropy, {"rl": "base"}, [1.0, 1.5], 1.0, "trace",
                          n_resamples=100, seed=0)
