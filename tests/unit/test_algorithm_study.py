"""The sampling-efficiency gap, the C6 verdicts and the training-length table on planted counts."""

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.analyses.algorithm_study import (
    alike_verdict,
    c6_rows,
    far_verdict,
    pairwise_differences,
    sampling_efficiency_gap,
    training_length_table,
)
from rlvr_boundary.stats.passk import pass_at_k

N = 16
SETTINGS = dict(metric="trace", temperature=1.0, n_resamples=400, seed=3, level=0.95)


def counts_of(tables: dict[str, list[int]], benchmark="b", n=N) -> pd.DataFrame:
    frames = [pd.DataFrame({"model": model, "benchmark": benchmark, "temperature": 1.0,
                            "metric": "trace", "problem_id": [f"p{i:03d}" for i in range(len(c))],
                            "n": n, "c": c}) for model, c in tables.items()]
    return pd.concat(frames, ignore_index=True)


def test_gap_is_base_pass_at_n_minus_pass_at_1_per_problem():
    rng = np.random.default_rng(0)
    base = rng.integers(0, N + 1, 40).tolist()
    rl = rng.integers(0, N + 1, 40).tolist()
    counts = counts_of({"base": base, "rl": rl})
    gaps = sampling_efficiency_gap(counts, {"grpo": "rl"}, "base", **SETTINGS)
    row = gaps.iloc[0]
    expected_base = np.mean([pass_at_k(N, c, N) for c in base])
    expected_rl = np.mean([pass_at_k(N, c, 1) for c in rl])
    assert row.k_max == N
    assert row.base_pass_at_k_max == pytest.approx(expected_base)
    assert row.pass_at_1 == pytest.approx(expected_rl)
    assert row.dse == pytest.approx(expected_base - expected_rl)
    assert row.dse_ci_low <= row.dse <= row.dse_ci_high


def test_far_verdict_outcomes():
    far = pd.DataFrame({"dse_ci_low": [0.3, 0.4], "dse_ci_high": [0.5, 0.6]})
    near = pd.DataFrame({"dse_ci_low": [0.3, 0.0], "dse_ci_high": [0.5, 0.05]})
    unclear = pd.DataFrame({"dse_ci_low": [0.3, 0.05], "dse_ci_high": [0.5, 0.2]})
    assert far_verdict(far, 0.1) == "holds"
    assert far_verdict(near, 0.1) == "does not hold"
    assert far_verdict(unclear, 0.1) == "inconclusive"
    assert far_verdict(far.iloc[:0], 0.1) == "not computed"


def test_alike_is_an_equivalence_test_not_overlapping_cis():
    def diffs(low, high):
        return pd.DataFrame({"ci_low": low, "ci_high": high})
    assert alike_verdict(diffs([-0.02, -0.03], [0.03, 0.01]), 0.05) == "holds"
    assert alike_verdict(diffs([0.08, -0.03], [0.2, 0.01]), 0.05) == "does not hold"
    # A wide CI around zero (what overlapping CIs look like) is not sameness.
    assert alike_verdict(diffs([-0.3, -0.03], [0.3, 0.01]), 0.05) == "inconclusive"
    assert alike_verdict(diffs([], []), 0.05) == "not computed"


def planted(same: bool):
    """Base solves every problem at k=n; algorithms have pass@1 ~.5 (same) or .2 vs .8.

    100 problems: identical algorithms give the same pass@1 on every problem, and the pair's
    interval is then the exact bound 1 - 0.025^(1/100) = 0.036 (inside the 0.05 margin; with
    60 problems it is 0.06 and sameness could not be shown)."""
    problems = 100
    base = [N // 2] * problems
    a = [N // 2] * problems
    b = [N // 2] * problems if same else [N // 8] * problems
    return counts_of({"base": base, "rl-a": a, "rl-b": b})


@pytest.mark.parametrize("same, expected", [(True, "holds"), (False, "does not hold")])
def test_c6_rows_drive_alike(same, expected):
    counts = planted(same)
    algorithms = {"a": "rl-a", "b": "rl-b"}
    gaps = sampling_efficiency_gap(counts, algorithms, "base", **SETTINGS)
    diffs = pairwise_differences(counts, algorithms, "base", **SETTINGS)
    rows = c6_rows(gaps, diffs, "f", "narrow", margin=0.05, threshold=0.1, metric="trace")
    by_scope = {r["scope"]: r for r in rows}
    assert by_scope["family=f/regime=narrow/benchmark=b/part=alike"]["verdict"] == expected
    # pass@n of the base is 1, pass@1 <= .5: far from optimal either way.
    assert by_scope["family=f/regime=narrow/benchmark=b/part=far"]["verdict"] == "holds"
    assert by_scope["overall"]["verdict"] == ("holds" if same else "does not hold")
    assert {r["id"] for r in rows} == {"C6"}


def test_pairwise_differences_are_antisymmetric_in_dse():
    rng = np.random.default_rng(1)
    counts = counts_of({m: rng.integers(0, N + 1, 30).tolist() for m in ("base", "x", "y")})
    algorithms = {"x": "x", "y": "y"}
    gaps = sampling_efficiency_gap(counts, algorithms, "base", **SETTINGS).set_index("algorithm")
    diff = pairwise_differences(counts, algorithms, "base", **SETTINGS).iloc[0]
    assert diff.difference == pytest.approx(gaps.loc["y", "dse"] - gaps.loc["x", "dse"])


def test_training_length_table_orders_steps_and_uses_common_k_max():
    counts = counts_of({"base": [4] * 10, "run-step00010": [8] * 10, "run": [12] * 10})
    table = training_length_table(counts, {"run-step00010": 10, "run": 30}, "base", **SETTINGS)
    assert table.step.tolist() == [0, 10, 30]
    assert table.pass_at_1.tolist() == pytest.approx([4 / N, 8 / N, 12 / N])
    assert set(table.k_max) == {N}


def test_missing_problem_counts_are_an_error():
    counts = counts_of({"base": [1, 2, 3], "rl": [1, 2, 3]})
    counts = counts.drop(index=counts.index[-1])
    with pytest.raises(ValueError, match="counts missing"):
        sampling_efficiency_gap(counts, {"grpo": "rl"}, "base", **SETTINGS)
