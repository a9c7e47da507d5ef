"""Unit tests for claim verdicts on planted per-problem count tables."""

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.report.claims import (
    benchmark_seed,
    crossover_of,
    evaluate_claims,
    paired_difference,
    verdict_from_ci,
)
from rlvr_boundary.report.decision import aggregate_verdicts
from rlvr_boundary.report.markdown import CLAIM_FIELDS
from rlvr_boundary.stats.exact import sign_flips
from rlvr_boundary.stats.passk import bootstrap_weights, pass_at_k

ALLOWED = {"holds", "does not hold", "inconclusive", "not computed", "not estimable"}
SETTINGS = {"metric": "trace", "temperature": 1.0, "n_resamples": 500, "seed": 0, "ci_level": 0.95}


def table(model, benchmark, correct, n, temperature=1.0, metric="trace"):
    """Counts table for one model: problem i has correct[i] of n samples right."""
    return pd.DataFrame({
        "model": model,
        "benchmark": benchmark,
        "temperature": temperature,
        "metric": metric,
        "problem_id": [f"{benchmark}-{i:03d}" for i in range(len(correct))],
        "n": n,
        "c": np.asarray(correct, dtype=int),
    })


def registry(*rows):
    columns = ["model", "family", "role", "parent", "algorithm", "step", "regime", "source",
               "revision_or_sha256"]
    return pd.DataFrame([dict(zip(columns, r)) for r in rows], columns=columns)


MODELS = registry(
    ("base", "qwen", "base", None, None, None, None, "hf", "abc"),
    ("rl", "qwen", "rl", "base", "grpo", 300, "narrow", "local", "def"),
    ("distilled", "qwen", "distilled", "base", None, None, None, "local", "123"),
)


def brute_mean_pass(correct, n, k):
    return np.mean([pass_at_k(n, c, k) for c in correct])


def by_key(rows):
    return {(r["id"], r["scope"]): r for r in rows}


# --- verdict logic -----------------------------------------------------------------------


def test_verdict_from_ci():
    assert verdict_from_ci(0.01, 0.2) == "holds"
    assert verdict_from_ci(-0.2, -0.01) == "does not hold"
    assert verdict_from_ci(-0.1, 0.1) == "inconclusive"
    assert verdict_from_ci(0.0, 0.0) == "inconclusive"  # a CI touching 0 is not evidence
    assert verdict_from_ci(None, None) == "not computed"


def test_aggregate_verdicts():
    assert aggregate_verdicts([]) == "not computed"
    assert aggregate_verdicts(["holds", "holds"]) == "holds"
    assert aggregate_verdicts(["holds", "inconclusive"]) == "inconclusive"
    assert aggregate_verdicts(["holds", "does not hold", "inconclusive"]) == "does not hold"
    assert aggregate_verdicts(["not computed", "holds"]) == "inconclusive"


# --- paired difference and crossover -------------------------------------------------------


def test_paired_difference_matches_brute_force_and_aligns():
    rng = np.random.default_rng(1)
    n = 32
    a_correct = rng.integers(0, n + 1, size=60)
    b_correct = rng.integers(0, n + 1, size=60)
    a = table("a", "bench", a_correct, n)
    b = table("b", "bench", b_correct, n).sample(frac=1.0, random_state=3)  # shuffled rows
    w = bootstrap_weights(60, 500, seed=0)
    for k in (1, 8, n):
        value, low, high = paired_difference(a, b, k, w)
        expected = brute_mean_pass(a_correct, n, k) - brute_mean_pass(b_correct, n, k)
        assert value == pytest.approx(expected, abs=1e-12)
        assert low <= value <= high


def test_paired_difference_is_paired():
    # A is exactly 4/n better on every problem: every paired resample gives 0.25, although
    # each model's own mean varies a lot across resamples. The interval is then the exact
    # bound for a population whose share of problems differing from +0.25 is at most the
    # Clopper-Pearson limit of 0 of 50, U = 1 - 0.025^(1/50) (differences lie in [-1, 1]).
    rng = np.random.default_rng(2)
    base_correct = rng.integers(0, 12, size=50)
    a, b = table("a", "x", base_correct + 4, 16), table("b", "x", base_correct, 16)
    value, low, high = paired_difference(a, b, 1, bootstrap_weights(50, 500, seed=0))
    upper_share = 1 - 0.025 ** (1 / 50)
    assert (value, low, high) == pytest.approx(
        (0.25, 0.25 - upper_share * 1.25, 0.25 + upper_share * 0.75))
    # Not constant: the percentile interval, which a paired comparison keeps tight.
    b_noisy = table("b", "x", base_correct + (np.arange(50) % 2), 16)
    value, low, high = paired_difference(a, b_noisy, 1, bootstrap_weights(50, 500, seed=0))
    assert 0.2 < low < value < high < 0.25


def test_paired_difference_rejects_different_problem_sets():
    a = table("a", "x", [1, 2, 3], 8)
    b = table("b", "x", [1, 2, 3, 4], 8)
    with pytest.raises(ValueError, match="problem sets differ"):
        paired_difference(a, b, 1, bootstrap_weights(3, 10, seed=0))


def test_crossover_matches_brute_force():
    # Base: one correct sample in 64 on every problem (pass@k = k/64).
    # RL: 40/64 on half the problems, 0 on the rest (pass@k ~ 0.5 at every k).
    n, problems = 64, 40
    base_correct = np.ones(problems, dtype=int)
    rl_correct = np.where(np.arange(problems) < 20, 40, 0)
    expected = next(
        k for k in range(1, n + 1)
        if brute_mean_pass(base_correct, n, k) >= brute_mean_pass(rl_correct, n, k)
    )
    base, rl = table("base", "x", base_correct, n), table("rl", "x", rl_correct, n)
    cross = crossover_of(base, rl, sign_flips(problems, 500, seed=0))
    assert cross.point == expected
    assert 1 < cross.point < n
    assert cross.ci_low <= cross.point <= cross.ci_high
    # Every lead change: RL from k=1, the base from the crossover on.
    assert cross.lead_changes == ((1, "RL"), (expected, "base"))


def test_crossover_none_when_rl_dominates():
    n = 32
    base_correct = np.r_[np.full(20, 2), np.zeros(20, dtype=int)]
    rl_correct = np.r_[np.full(20, 20), np.full(20, 5)]  # superset of base's solved problems
    base, rl = table("base", "x", base_correct, n), table("rl", "x", rl_correct, n)
    cross = crossover_of(base, rl, sign_flips(40, 500, seed=0))
    assert cross.point is None and not cross.base_ahead
    assert cross.ci_high == n + 1


# --- evaluate_claims on planted tables --------------------------------------------------


def planted_a(n=32, problems=100):
    """RL sharper at k=1 but solves fewer problems: base wins at k=n."""
    rng = np.random.default_rng(10)
    base_correct = rng.integers(3, 10, size=problems)  # every problem reachable by base
    rl_correct = np.where(rng.random(problems) < 0.6, rng.integers(24, n + 1, size=problems), 0)
    return base_correct, rl_correct


def test_evaluate_claims_rl_sharper_base_broader():
    n = 32
    base_correct, rl_correct = planted_a(n)
    counts = pd.concat([
        table("base", "math", base_correct, n),
        table("rl", "math", rl_correct, n),
        # rows at another temperature must be ignored (here RL would dominate)
        table("rl", "math", np.full(100, n), n, temperature=0.6),
        table("base", "math", np.zeros(100, dtype=int), n, temperature=0.6),
    ])
    rows = by_key(evaluate_claims(counts, MODELS, SETTINGS))
    scope = "family=qwen/regime=narrow/benchmark=math"
    assert rows["C1", scope]["verdict"] == "holds"
    assert rows["C1", scope]["value"] == pytest.approx(
        brute_mean_pass(rl_correct, n, 1) - brute_mean_pass(base_correct, n, 1))
    assert rows["C2", scope]["verdict"] == "holds"
    assert rows["C2", scope]["value"] == pytest.approx(
        brute_mean_pass(base_correct, n, n) - brute_mean_pass(rl_correct, n, n))
    assert "crossover k=" in rows["C2", scope]["evidence"]
    for claim in ("C1", "C2"):
        assert rows[claim, "regime=narrow"]["verdict"] == "holds"
        assert rows[claim, "overall"]["verdict"] == "holds"
        assert rows[claim, "regime=narrow"]["value"] is None
        # The overall row carries the pooled effect (one scope: the scope's own number).
        assert rows[claim, "overall"]["value"] == pytest.approx(rows[claim, scope]["value"])
        assert "description only" in rows[claim, "overall"]["evidence"]
        assert rows[claim, scope]["estimable"] and rows[claim, scope]["mde"] > 0
    assert rows["C7", "overall"]["verdict"] == "not computed"  # no distilled counts


def test_evaluate_claims_rl_superset_refutes_c2():
    n = 32
    base_correct = np.r_[np.full(30, 2), np.zeros(30, dtype=int)]
    rl_correct = np.r_[np.full(30, 24), np.full(20, 6), np.zeros(10, dtype=int)]
    counts = pd.concat([table("base", "math", base_correct, n), table("rl", "math", rl_correct, n)])
    rows = by_key(evaluate_claims(counts, MODELS, SETTINGS))
    scope = "family=qwen/regime=narrow/benchmark=math"
    assert rows["C1", scope]["verdict"] == "holds"
    assert rows["C2", scope]["verdict"] == "does not hold"
    assert "no crossover up to n=32" in rows["C2", scope]["evidence"]
    assert rows["C2", "overall"]["verdict"] == "does not hold"


def test_evaluate_claims_null_control_is_never_holds():
    rng = np.random.default_rng(4)
    counts = []
    for bench, problems, n in (("math", 120, 16), ("aime", 40, 64)):
        correct = rng.integers(0, n + 1, size=problems)
        counts += [table(m, bench, correct, n) for m in ("base", "rl", "distilled")]
    rows = evaluate_claims(pd.concat(counts), MODELS, SETTINGS)
    comparative = [r for r in rows if r["id"] in ("C1", "C2", "C7")]
    assert len([r for r in comparative if "benchmark=" in r["scope"]]) == 6  # 2 benchmarks x 3
    assert all(r["verdict"] == "inconclusive" for r in comparative)
    assert all(r["value"] == 0.0 for r in comparative if r["value"] is not None)


def test_evaluate_claims_distillation_expands():
    n = 16
    base_correct = np.r_[np.full(40, 3), np.zeros(40, dtype=int)]
    distilled_correct = np.r_[np.full(40, 10), np.full(30, 4), np.zeros(10, dtype=int)]
    counts = pd.concat([table("base", "math", base_correct, n),
                        table("distilled", "math", distilled_correct, n)])
    rows = by_key(evaluate_claims(counts, MODELS, SETTINGS))
    row = rows["C7", "family=qwen/benchmark=math"]
    assert row["verdict"] == "holds"
    assert row["value"] == pytest.approx(30 / 80)
    assert rows["C7", "overall"]["verdict"] == "holds"
    assert rows["C1", "overall"]["verdict"] == "not computed"  # no RL counts


def test_evaluate_claims_rows_complete_and_deterministic():
    n = 32
    base_correct, rl_correct = planted_a(n)
    counts = pd.concat([table("base", "math", base_correct, n), table("rl", "math", rl_correct, n),
                        table("distilled", "math", np.maximum(base_correct, 20), n)])
    rows = evaluate_claims(counts, MODELS, SETTINGS)
    assert rows == evaluate_claims(counts.sample(frac=1.0, random_state=0), MODELS, SETTINGS)
    overall = {r["id"]: r for r in rows if r["scope"] == "overall"}
    assert sorted(overall) == [f"C{i}" for i in range(1, 9)]
    assert all(r["verdict"] in ALLOWED for r in rows)
    assert set(CLAIM_FIELDS) == set(rows[0])
    assert "`boundary`" in overall["C3"]["evidence"] and "`algorithms`" in overall["C6"]["evidence"]
    assert overall["C6"]["verdict"] == "not computed"


def test_evaluate_claims_regimes_aggregate_separately():
    n = 32
    base_correct, rl_correct = planted_a(n)
    models = pd.concat([MODELS, registry(
        ("rl-broad", "qwen", "rl", "base", "grpo", 300, "broad", "local", "fed"))])
    counts = pd.concat([table("base", "math", base_correct, n),
                        table("rl", "math", rl_correct, n),
                        table("rl-broad", "math", base_correct, n)])  # identical to base
    rows = by_key(evaluate_claims(counts, models, SETTINGS))
    assert rows["C1", "regime=narrow"]["verdict"] == "holds"
    assert rows["C1", "regime=broad"]["verdict"] == "inconclusive"
    assert rows["C1", "overall"]["verdict"] == "inconclusive"


def test_benchmark_seed_is_stable():
    assert benchmark_seed(0, "math") == benchmark_seed(0, "math")
    assert benchmark_seed(0, "math") != benchmark_seed(0, "aime")
    assert benchmark_seed(0, "math") != benchmark_seed(1, "math")
