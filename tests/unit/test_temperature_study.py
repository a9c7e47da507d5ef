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


def planted():
    # The base is diverse (some right on every problem); RL is sharp at T=1 (all or nothing)
    # and diverse at T=1.5, where its entropy matches the base's at T=1.
    base = counts("base", 1.0, [2] * 10)
    base_hot = counts("base", 1.5, [1] * 10)
    rl = counts("rl", 1.0, [8] * 5 + [0] * 5)
    rl_hot = counts("rl", 1.5, [3] * 10)
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


def test_missing_temperature_counts_are_an_error():
    table_counts, entropy = planted()
    table_counts = table_counts[table_counts.temperature != 1.5]
    with pytest.raises(ValueError, match="T=1.5"):
        temperature_table(table_counts, entropy, {"rl": "base"}, [1.0, 1.5], 1.0, "trace",
                          n_resamples=100, seed=0)
