"""Power at other benchmark sizes (stats.power, analyses.power): the mde's arithmetic, its
agreement with the claims' own mde, and the problems needed for a target."""

import math

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.analyses.power import POWER_COLUMNS, power_table
from rlvr_boundary.report.claims import evaluate_claims
from rlvr_boundary.report.precision import power_section
from rlvr_boundary.stats.exact import POWER, _mcnemar_power, paired_mde
from rlvr_boundary.stats.power import (
    mcnemar_mde,
    mcnemar_problems_needed,
    normal_mde,
    normal_problems_needed,
    scope_power,
)

Z_975, Z_80 = 1.959963984540054, 0.8416212335729143


def test_normal_mde_is_the_claims_mde():
    rng = np.random.default_rng(1)
    for size in (30, 200, 1000):
        d = rng.integers(-4, 7, size=size) / 8
        assert normal_mde(d.std(ddof=1), size) == pytest.approx(paired_mde(d, False, 0.95)[0],
                                                                  abs=1e-9)


def test_mde_shrinks_like_one_over_root_problems():
    sd = 0.3
    # By hand at P = 100: root of delta*10 - 1.96 sqrt(0.09 + delta^2) = 0.8416 * 0.3.
    mde = normal_mde(sd, 100)
    assert mde * 10 - Z_975 * math.sqrt(sd * sd + mde * mde) == pytest.approx(Z_80 * sd)
    # Four times the problems: about half the mde, closer to half the larger P (the
    # delta^2 in the variance under the alternative fades).
    mdes = [normal_mde(sd, problems) for problems in (100, 400, 1600, 6400, 25600)]
    ratios = [later / earlier for earlier, later in zip(mdes, mdes[1:])]
    assert all(0.48 < r <= 0.5 for r in ratios)
    assert all(abs(b - 0.5) < abs(a - 0.5) for a, b in zip(ratios, ratios[1:]))
    assert normal_mde(sd, 10**8) * 10**4 == pytest.approx((Z_975 + Z_80) * sd, rel=1e-3)
    # Twice the per-problem SD, twice the mde (at large P).
    assert normal_mde(0.6, 10**6) / normal_mde(0.3, 10**6) == pytest.approx(2, rel=1e-3)


def test_problems_needed_inverts_the_mde():
    for sd, target in ((0.3, 0.05), (0.2, 0.02), (0.45, 0.1)):
        needed = normal_problems_needed(sd, target)
        assert normal_mde(sd, needed) <= target < normal_mde(sd, needed - 1)
    # Hand check: sd 0.3, target 0.05 -> ((1.96 sqrt(0.0925) + 0.8416 * 0.3) / 0.05)^2
    # = (0.8486 / 0.05)^2 = 288.1 -> 289 problems.
    assert normal_problems_needed(0.3, 0.05) == 289
    assert normal_problems_needed(0.0, 0.05) is None and normal_mde(0.0, 100) is None


def test_mcnemar_mde_is_the_claims_mde_and_needs_more_problems_when_smaller():
    d = np.r_[np.ones(15), -np.ones(5), np.zeros(180)]  # discordance 0.1 of 200
    assert mcnemar_mde(200, 0.1) == pytest.approx(paired_mde(d, True, 0.95)[0], abs=1e-12)
    needed, how = mcnemar_problems_needed(0.1, 0.05)
    assert how == "exact McNemar power"
    assert _mcnemar_power(needed, 0.1, 0.05, 0.95) >= POWER > _mcnemar_power(needed - 1, 0.1,
                                                                               0.05, 0.95)
    assert mcnemar_mde(needed, 0.1) <= 0.05
    bigger, _ = mcnemar_problems_needed(0.1, 0.025)
    assert 3 * needed < bigger < 5 * needed  # half the effect: about four times the problems


def test_target_above_the_discordance_asks_for_the_discordance():
    needed, how = mcnemar_problems_needed(0.044, 0.05)
    assert "above the discordance" in how
    assert needed == mcnemar_problems_needed(0.044, 0.044)[0]
    assert mcnemar_mde(needed, 0.044) is not None and mcnemar_mde(needed - 1, 0.044) is None
    assert mcnemar_problems_needed(0.0, 0.05) == (None, "no problem differs: no discordance to "
                                                  "scale")


def test_scope_power_on_both_kinds_of_difference():
    d = np.r_[np.ones(15), -np.ones(5), np.zeros(180)]
    binary = scope_power(d, True, 0.05)
    assert binary["spread"] == pytest.approx(0.1) and binary["problems_needed"] > 200
    assert binary["cost_factor"] == pytest.approx(binary["problems_needed"] / 200)
    graded = scope_power(d / 4, False, 0.05)
    assert graded["spread"] == pytest.approx(np.std(d / 4, ddof=1))
    assert graded["mde"] == pytest.approx(paired_mde(d / 4, False, 0.95)[0])
    flat = scope_power(np.zeros(50), True, 0.05)
    assert flat["mde"] is None and flat["problems_needed"] is None


def _counts(model, correct, n, benchmark="x"):
    return pd.DataFrame({"model": model, "benchmark": benchmark, "temperature": 1.0,
                         "metric": "trace",
                         "problem_id": [f"p{i:03d}" for i in range(len(correct))],
                         "n": n, "c": np.asarray(correct, dtype=int)})


def test_power_table_has_the_claims_scopes_and_mdes():
    rng = np.random.default_rng(5)
    n, problems = 16, 120
    base = rng.integers(1, 10, size=problems)
    rl = np.where(rng.random(problems) < 0.8, rng.integers(8, n + 1, size=problems), 0)
    counts = pd.concat([_counts("base", base, n), _counts("rl", rl, n),
                        _counts("base", base[:60], n, "y"), _counts("rl", rl[:60], n, "y")],
                       ignore_index=True)
    models = pd.DataFrame({"model": ["base", "rl"], "family": "f", "role": ["base", "rl"],
                           "parent": [None, "base"], "algorithm": [None, "grpo"],
                           "step": [None, 1], "regime": [None, "narrow"], "source": "local",
                           "revision_or_sha256": "x"})
    table = power_table(counts, models, "trace", 1.0)
    assert list(table.columns) == POWER_COLUMNS
    assert sorted(zip(table.claim, table.benchmark)) == [("C1", "x"), ("C1", "y"), ("C2", "x"),
                                                         ("C2", "y")]
    claims = {(r["id"], r["scope"]): r for r in evaluate_claims(
        counts, models, {"metric": "trace", "temperature": 1.0, "n_resamples": 100})}
    for row in table.itertuples():
        assert claims[row.claim, row.scope]["mde"] == pytest.approx(row.mde)
    c2 = table[(table.claim == "C2") & (table.benchmark == "x")].iloc[0]
    assert bool(c2.binary) and c2.k == n
    assert c2.spread == pytest.approx(np.mean((base > 0) != (rl > 0)))
    assert c2.samples_needed_per_model == c2.problems_needed * n
    # The smaller benchmark (half the problems, the same kind of differences) detects less.
    c1 = table[table.claim == "C1"].set_index("benchmark")
    assert c1.loc["y", "mde"] > c1.loc["x", "mde"]
    text = power_section(table)
    assert "## Power" in text and "| C1 | pass@1 | x | 1 | 120 |" in text
    assert f"| C2 | pass@{n} (k = n) | y | 1 | 60 |" in text


def test_problems_needed_leave_enough_differing_problems_for_the_exact_test():
    # Small per-problem SD: the normal approximation alone asks for very few problems, but the
    # exact sign-flip test needs 6 differing problems to reach 2.5%; with 1 in 4 problems
    # differing that is 24 problems.
    d = np.r_[np.full(3, 0.0625), np.full(9, 0.0)]
    result = scope_power(d, False, 0.05)
    assert normal_problems_needed(np.std(d, ddof=1), 0.05) < 24
    assert result["problems_needed"] == 24 and "6 problems differ" in result["method"]
