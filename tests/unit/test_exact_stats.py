"""Exact intervals and tests at the edges, Holm's correction, minimum detectable effects,
the crossover sets, and the decision rule (non-estimable scopes; planted false refutations)."""

from itertools import product

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.report.claims import evaluate_claims
from rlvr_boundary.report.decision import aggregate_verdicts, decide, scope_row
from rlvr_boundary.stats.crossover import crossover, crossover_text, ranges
from rlvr_boundary.stats.exact import (
    _mcnemar_power,
    binom_cdf,
    binom_sf,
    binomial_mde,
    binomial_pvalues,
    clopper_pearson,
    holm,
    min_nonzero_for_level,
    paired_mde,
    sign_flip_pvalues,
    sign_flips,
)
from rlvr_boundary.stats.intervals import constant_interval, mean_ci, stratified_ratio_ci
from rlvr_boundary.stats.passk import bootstrap_weights

SETTINGS = {"metric": "trace", "temperature": 1.0, "n_resamples": 400, "seed": 0,
            "ci_level": 0.95}


def table(model, benchmark, correct, n):
    return pd.DataFrame({"model": model, "benchmark": benchmark, "temperature": 1.0,
                         "metric": "trace",
                         "problem_id": [f"{benchmark}-{i:03d}" for i in range(len(correct))],
                         "n": n, "c": np.asarray(correct, dtype=int)})


MODELS = pd.DataFrame([
    dict(model="base", family="f", role="base", parent="", regime="", study=""),
    dict(model="rl", family="f", role="rl", parent="base", regime="narrow", study=""),
])


# --- binomial tails and Clopper-Pearson ------------------------------------------------------


def test_clopper_pearson_at_the_edges_and_inside():
    assert clopper_pearson(0, 30) == pytest.approx((0.0, 1 - 0.025 ** (1 / 30)))
    assert clopper_pearson(0, 30)[1] == pytest.approx(0.1157, abs=1e-4)
    assert clopper_pearson(4, 4) == pytest.approx((0.025 ** 0.25, 1.0))
    assert clopper_pearson(4, 4)[0] == pytest.approx(0.3976, abs=1e-4)
    low, high = clopper_pearson(5, 10)
    # The ends solve the exact tails: P(X >= 5 | low) = P(X <= 5 | high) = 2.5%.
    assert binom_sf(5, 10, low) == pytest.approx(0.025, abs=1e-9)
    assert binom_cdf(5, 10, high) == pytest.approx(0.025, abs=1e-9)
    assert (low, high) == pytest.approx((0.187086, 0.812914), abs=1e-5)  # textbook values
    assert all(np.isnan(clopper_pearson(0, 0)))


def test_binomial_pvalues_match_direct_sums():
    from math import comb
    p_above, p_below = binomial_pvalues(7, 12, 0.4)
    pmf = [comb(12, x) * 0.4 ** x * 0.6 ** (12 - x) for x in range(13)]
    assert p_above == pytest.approx(sum(pmf[7:]))
    assert p_below == pytest.approx(sum(pmf[:8]))


# --- the exact paired sign-flip test ----------------------------------------------------------


def test_four_versus_zero_discordant_at_k_equals_n_is_p_one_sixteenth():
    d = np.array([1, 1, 1, 1] + [0] * 26, dtype=float)  # McNemar: 4 vs 0 discordant problems
    assert sign_flip_pvalues(d) == pytest.approx((1 / 16, 1.0))
    assert min_nonzero_for_level(0.95) == 6  # 2^-5 = 0.031 > 0.025 >= 2^-6


def test_sign_flip_is_exact_against_enumeration():
    rng = np.random.default_rng(5)
    d = rng.integers(-16, 17, size=10) / 16  # pass@1 differences with n = 16
    observed = d.sum()
    sums = np.array([np.dot(signs, np.abs(d)) for signs in product((-1, 1), repeat=10)])
    greater = np.mean(sums >= observed - 1e-12)
    less = np.mean(sums <= observed + 1e-12)
    assert sign_flip_pvalues(d, scales=(1, 16)) == pytest.approx((greater, less))
    # Off the lattice the Monte Carlo flips estimate the same numbers.
    flips = sign_flips(10, 20000, seed=1)
    mc = sign_flip_pvalues(d + 1e-4 * np.sign(d), scales=(1,), flips=flips)
    assert mc == pytest.approx((greater, less), abs=0.015)


def test_paired_scope_at_k_equals_n_four_versus_zero_is_not_holds():
    # 12 problems: the base solves 4 the RL model never does; the rest neither solves.
    base = table("base", "x", [5, 5, 5, 5] + [0] * 8, 16)
    rl = table("rl", "x", [0] * 12, 16)
    rows = {(r["id"], r["scope"]): r for r in evaluate_claims(pd.concat([base, rl]), MODELS,
                                                              SETTINGS)}
    c2 = rows["C2", "family=f/regime=narrow/benchmark=x"]
    assert c2["p_holds"] == pytest.approx(0.0625)
    assert c2["verdict"] == "inconclusive" and c2["estimable"]
    assert c2["mde"] is None  # 4 differing problems can never reach 2.5%
    assert "McNemar exact" in c2["evidence"]


# --- Holm ----------------------------------------------------------------------------------------


def test_holm_matches_a_hand_computation():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([]) == []


def _scopes(p_refutes, p_holds=0.5):
    return [scope_row("C1", f"family=f/regime=r/benchmark=b{i}", "s", "trace", 0.0, -1, 1,
                      p_holds=p_holds, p_refutes=p) for i, p in enumerate(p_refutes)]


def test_holm_stops_a_planted_false_refutation():
    """18 scopes: one has a one-sided p of 0.01 against the claim (alone, a refutation at
    2.5%), the rest are noise. Over 18 scopes Holm needs p <= 0.025/18: no refutation."""
    rows = decide(_scopes([0.01] + [0.5] * 17), 0.95)
    assert rows[0]["p_refutes_holm"] == pytest.approx(0.18)
    assert [r["verdict"] for r in rows] == ["inconclusive"] * 18
    assert aggregate_verdicts(r["verdict"] for r in rows) == "inconclusive"
    # The same p alone refutes; a strong refutation survives the correction.
    assert decide(_scopes([0.01]), 0.95)[0]["verdict"] == "does not hold"
    rows = decide(_scopes([1e-4] + [0.5] * 17), 0.95)
    assert rows[0]["verdict"] == "does not hold"
    assert aggregate_verdicts(r["verdict"] for r in rows) == "does not hold"


def test_non_estimable_scopes_are_left_out_of_holm_and_of_the_verdict():
    rows = _scopes([1e-3, 0.5], p_holds=0.001)
    rows.append(scope_row("C1", "family=f/regime=r/benchmark=floor", "s", "trace", 0.0,
                          estimable=False, why="both models at 0 on every problem"))
    decide(rows, 0.95)
    assert rows[2]["verdict"] == "not estimable" and rows[2]["p_refutes_holm"] is None
    assert rows[0]["p_refutes_holm"] == pytest.approx(2e-3)  # a family of two, not three


def test_a_planted_non_estimable_scope_moves_no_overall_verdict():
    """RL clearly beats the base on `easy`; on `floor` neither solves anything. The floor
    scope is listed (not estimable, with why) and C1 holds overall, as it does without it."""
    rng = np.random.default_rng(0)
    base_easy = rng.integers(0, 6, 80)
    counts = pd.concat([table("base", "easy", base_easy, 16),
                        table("rl", "easy", base_easy + 8, 16),
                        table("base", "floor", np.zeros(80), 16),
                        table("rl", "floor", np.zeros(80), 16)])
    rows = {(r["id"], r["scope"]): r for r in evaluate_claims(counts, MODELS, SETTINGS)}
    floor = rows["C1", "family=f/regime=narrow/benchmark=floor"]
    assert floor["verdict"] == "not estimable" and not floor["estimable"]
    assert "both models at 0 on every problem" in floor["why"]
    assert floor["mde"] is None and floor["p_refutes_holm"] is None
    assert (floor["ci_low"], floor["ci_high"]) == pytest.approx(
        (-(1 - 0.025 ** (1 / 80)), 1 - 0.025 ** (1 / 80)))  # not [0, 0]
    assert rows["C1", "family=f/regime=narrow/benchmark=easy"]["verdict"] == "holds"
    assert rows["C1", "overall"]["verdict"] == "holds"
    assert rows["C1", "regime=narrow"]["verdict"] == "holds"
    without = {(r["id"], r["scope"]): r for r in evaluate_claims(
        counts[counts.benchmark == "easy"], MODELS, SETTINGS)}
    assert without["C1", "overall"]["verdict"] == "holds"
    # The pooled effect leaves the floor out too (it is the easy scope's own number).
    assert rows["C1", "overall"]["value"] == pytest.approx(0.5)
    # Only non-estimable scopes: inconclusive, not "not computed".
    floor_only = evaluate_claims(counts[counts.benchmark == "floor"], MODELS, SETTINGS)
    overall = next(r for r in floor_only if r["id"] == "C1" and r["scope"] == "overall")
    assert overall["verdict"] == "inconclusive" and not overall["estimable"]


# --- minimum detectable effects ------------------------------------------------------------------


def test_mcnemar_power_matches_a_simulation_of_the_exact_test():
    """A 0.02 gap at k = n with 4% discordant problems (the issue's example). The issue's
    bootstrap simulation gave power 0.16 at 100 problems and 0.57 at 500; the exact test
    has 0.035 at 100 (with ~4 discordant problems it can hardly ever reach 2.5%: the
    bootstrap's 0.16 was partly its own false positives) and 0.54 at 500."""
    rng = np.random.default_rng(11)
    for problems, expected in ((100, 0.035), (500, 0.54)):
        discordant = rng.binomial(problems, 0.04, 20000)
        favoured = rng.binomial(discordant, 0.5 * (1 + 0.02 / 0.04))
        rejected = [binom_sf(x, j, 0.5) <= 0.025 for x, j in zip(favoured, discordant)]
        exact = _mcnemar_power(problems, 0.04, 0.02, 0.95)
        assert exact == pytest.approx(np.mean(rejected), abs=0.015)
        assert exact == pytest.approx(expected, abs=0.01)


def test_paired_mde_binary_and_normal():
    d = np.r_[np.ones(15), -np.ones(5), np.zeros(80)]  # 20% discordant of 100
    mde, note = paired_mde(d, binary=True, level=0.95)
    assert "McNemar" in note
    assert _mcnemar_power(100, 0.2, mde, 0.95) == pytest.approx(0.8, abs=1e-3)
    # The normal approximation is close for this size: 2.8 * sqrt(0.2 / 100) = 0.125.
    assert mde == pytest.approx(0.125, abs=0.02)
    rng = np.random.default_rng(1)
    d = rng.normal(0.0, 0.3, 400).clip(-1, 1)
    mde, note = paired_mde(d, binary=False, level=0.95)
    assert mde == pytest.approx(2.8016 * d.std(ddof=1) / 20, rel=0.02)
    assert paired_mde(np.r_[np.ones(5), np.zeros(95)], True, 0.95)[0] is None


def test_binomial_mde():
    # "share < 0.05" with 12 problems: even 0 of 12 has p = 0.54. Never detectable.
    assert binomial_mde(12, 0.05, "below", 0.95) is None
    # With 200 problems: reject at x <= crit; the mde is where that has 80% power.
    mde = binomial_mde(200, 0.05, "below", 0.95)
    crit = max(x for x in range(201) if binom_cdf(x, 200, 0.05) <= 0.025)
    assert binom_cdf(crit, 200, 0.05 - mde) == pytest.approx(0.8, abs=1e-6)
    assert binomial_mde(20, 0.9, "above", 0.95) is None  # 0.9^20 = 0.12 > 2.5%
    mde = binomial_mde(100, 0.5, "above", 0.95)
    assert 0.1 < mde < 0.16  # ~ 2.8 * 0.05


# --- intervals ------------------------------------------------------------------------------


def test_mean_ci_at_the_edges_is_exact_not_a_point():
    point, low, high = mean_ci(np.zeros(30), bootstrap_weights(30, 200, 1), 0.95, (0.0, 1.0))
    assert (point, low) == (0.0, 0.0) and high == pytest.approx(0.1157, abs=1e-4)
    point, low, high = mean_ci(np.ones(4), bootstrap_weights(4, 200, 1), 0.95, (0.0, 1.0))
    assert (point, high) == (1.0, 1.0) and low == pytest.approx(0.3976, abs=1e-4)
    values = np.column_stack([np.zeros(30), np.linspace(0, 1, 30)])
    _, lows, highs = mean_ci(values, bootstrap_weights(30, 200, 1), 0.95, (0.0, 1.0))
    assert highs[0] == pytest.approx(0.1157, abs=1e-4)
    assert (lows[1], highs[1]) == pytest.approx(mean_ci(values[:, 1],
                                                        bootstrap_weights(30, 200, 1))[1:])
    assert constant_interval(0.0, 30, (-1.0, 1.0)) == pytest.approx((-0.1157, 0.1157), abs=1e-4)


def test_stratified_ratio_ci_pools_and_pairs_within_a_benchmark():
    weights = {"a": bootstrap_weights(40, 300, 1), "b": bootstrap_weights(20, 300, 2)}
    rng = np.random.default_rng(3)
    da, db = rng.normal(0.1, 0.2, 40), rng.normal(0.3, 0.2, 20)
    point, low, high = stratified_ratio_ci([("a", da, np.ones(40)), ("b", db, np.ones(20))],
                                           weights)
    assert point == pytest.approx((da.sum() + db.sum()) / 60)
    resampled = (weights["a"] @ da + weights["b"] @ db) / 60
    assert (low, high) == pytest.approx(tuple(np.quantile(resampled, [0.025, 0.975])))
    assert all(np.isnan(stratified_ratio_ci([], weights)))


# --- crossover sets ------------------------------------------------------------------------------


def test_crossover_leaves_out_flat_ties_and_lists_every_lead_change():
    n, problems = 16, 40
    flips = sign_flips(problems, 2000, seed=4)
    zeros = np.zeros(problems, dtype=int)
    flat = crossover(np.full(problems, n), zeros, np.full(problems, n), zeros, flips)
    assert flat.point is None and not flat.compared and len(flat.flat) == n
    assert "flat" in crossover_text(flat)
    # RL sure on half the problems, the base 1 of 16 everywhere: RL ahead at small k,
    # base ahead at large k; the first crossing's CI brackets the point.
    base_c = np.ones(problems, dtype=int)
    rl_c = np.where(np.arange(problems) < 20, n, 0)
    cross = crossover(np.full(problems, n), base_c, np.full(problems, n), rl_c, flips)
    assert cross.rl_ahead[0] == 1 and cross.base_ahead[-1] == n
    assert cross.ci_low <= cross.point <= cross.ci_high <= min(cross.base_ahead)
    assert cross.ci_low == max(k for k in cross.rl_ahead if k < cross.point) + 1
    assert [who for _, who in cross.lead_changes] == ["RL", "base"]
    assert cross.significant_crossings()[0][0] == "RL->base"
    assert ranges([1, 2, 3, 5, 7, 8]) == "1-3,5,7-8"
