"""Planted count tables drive each new verdict (C3 coverage test, C4, C5, C8) to each outcome."""

import json

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.report.boundary_claims import (
    boundary_claim_rows,
    c3_aggregate_rows,
    c3_coverage_rows,
    c4_rows,
    c5_rows,
    c8_rows,
    merge_claim_rows,
    verdict_above,
    verdict_at_least,
    verdict_below,
)
from rlvr_boundary.report.claims import STATEMENTS, _row, evaluate_claims
from rlvr_boundary.report.decision import VERDICTS
from rlvr_boundary.analyses.cot_validity import cot_validity_table
from rlvr_boundary.analyses.coverage import accuracy_histogram, coverage_table

N = 8
# 80 problems: enough for the exact tests to show each outcome (0 RL-only of 80 has a
# Clopper-Pearson upper bound 0.045 < 0.05; 40 of 40 covered a lower bound 0.912 >= 0.9).
P = 80
REGISTRY = pd.DataFrame([
    dict(model="b", family="f", role="base", parent="", regime="", study=""),
    dict(model="r", family="f", role="rl", parent="b", regime="narrow", study=""),
    dict(model="d", family="f", role="distilled", parent="b", regime="", study=""),
    dict(model="s", family="f", role="rl", parent="b", regime="narrow", study="seeds"),
])


def counts(model, benchmark, solved, metric="trace", c=4):
    """P problems; the ones in ``solved`` have c of N correct, the rest 0."""
    correct = np.zeros(P, dtype=int)
    correct[list(solved)] = c
    return pd.DataFrame({
        "model": model, "benchmark": benchmark, "temperature": 1.0, "metric": metric,
        "problem_id": [f"{benchmark}-{i:02d}" for i in range(P)], "n": N, "c": correct})


# benchmark -> (problems the base solves, problems the RL model solves)
PLANTED = {
    "hold": (range(0, 60), range(0, 40)),        # base covers all 40 RL-solved, no RL-only
    "refute": (range(40, 80), range(0, 40)),     # base covers none, half the problems RL-only
    "unsure": (range(0, 18), range(0, 20)),      # base covers 18 of 20; 2 RL-only of 80
    "empty": (range(0, 20), range(0)),           # RL solves nothing
}


def planted_counts(planted=PLANTED):
    frames = []
    for benchmark, (base, rl) in planted.items():
        frames += [counts("b", benchmark, base), counts("r", benchmark, rl),
                   counts("s", benchmark, rl), counts("d", benchmark, range(P))]
    return pd.concat(frames, ignore_index=True)


def verdicts(rows):
    return {r["scope"]: r["verdict"] for r in rows}


def test_threshold_verdicts():
    assert verdict_at_least(0.9, 1.0, 0.9) == "holds"
    assert verdict_at_least(0.5, 0.89, 0.9) == "does not hold"
    assert verdict_at_least(0.8, 0.95, 0.9) == "inconclusive"
    assert verdict_at_least(float("nan"), 1.0, 0.9) == "not computed"
    assert verdict_below(0.0, 0.04, 0.05) == "holds"
    assert verdict_below(0.06, 0.2, 0.05) == "does not hold"
    assert verdict_below(0.0, 0.05, 0.05) == "inconclusive"
    assert verdict_above(0.51, 0.9, 0.5) == "holds"
    assert verdict_above(0.1, 0.49, 0.5) == "does not hold"
    assert verdict_above(0.5, 0.9, 0.5) == "inconclusive"
    assert verdict_above(None, None, 0.5) == "not computed"


def test_c3_coverage_every_outcome():
    coverage, _ = coverage_table(planted_counts(), REGISTRY, "trace", 1.0, 500, 0)
    rows = c3_coverage_rows(coverage, REGISTRY, "trace", support_share=0.9)
    got = verdicts(rows)
    scope = "family=f/regime=narrow/benchmark={}/test=coverage"
    assert got[scope.format("hold")] == "holds"
    assert got[scope.format("refute")] == "does not hold"
    assert got[scope.format("unsure")] == "inconclusive"
    assert got[scope.format("empty")] == "not estimable"
    assert got["regime=narrow/test=coverage"] == "does not hold"
    assert got["overall/test=coverage"] == "does not hold"
    assert len(rows) == 6  # 4 scopes + regime + overall; the seed-study model is left out
    by_scope = {r["scope"]: r for r in rows}
    assert by_scope[scope.format("unsure")]["value"] == pytest.approx(0.9)
    assert by_scope[scope.format("empty")]["value"] is None
    assert "solves no problem" in by_scope[scope.format("empty")]["why"]
    # Exact intervals: 40 of 40 covered -> Clopper-Pearson lower end 0.025^(1/40) >= 0.9.
    hold = by_scope[scope.format("hold")]
    assert (hold["ci_low"], hold["ci_high"]) == pytest.approx((0.025 ** (1 / 40), 1.0))
    assert hold["p_holds"] == pytest.approx(0.9 ** 40)  # P(40 of 40 | share 0.9)
    assert hold["mde"] is not None and 0 < hold["mde"] <= 0.1
    json.dumps(rows, allow_nan=False)  # NaN never leaks into claims.json


def test_c3_cannot_hold_on_few_rl_solved_problems():
    """20 of 20 covered looked like [1, 1] to the bootstrap; exactly, 0.9^20 = 0.12 > 2.5%:
    the share could be below 0.9, so the scope is inconclusive and has no mde (no true share
    is detected with 80% power from 20 problems)."""
    few = {"few": (range(0, 20), range(0, 20))}
    coverage, _ = coverage_table(planted_counts(few), REGISTRY, "trace", 1.0, 200, 0)
    row = next(r for r in c3_coverage_rows(coverage, REGISTRY, "trace") if "benchmark=" in
               r["scope"])
    assert row["verdict"] == "inconclusive" and row["value"] == 1.0
    assert row["ci_low"] == pytest.approx(0.025 ** (1 / 20)) and row["ci_low"] < 0.9
    assert row["mde"] is None


def test_c3_holds_overall_when_every_scope_holds_and_aggregates_over_tests():
    coverage, _ = coverage_table(planted_counts({"hold": PLANTED["hold"]}), REGISTRY, "trace",
                                 1.0, 200, 0)
    rows = c3_coverage_rows(coverage, REGISTRY, "trace")
    assert verdicts(rows)["overall/test=coverage"] == "holds"
    perplexity = _row("C3", "family=f/regime=narrow/benchmark=hold/test=perplexity", "trace",
                      verdict="inconclusive")
    combined = c3_aggregate_rows(rows + [perplexity], "trace")
    assert verdicts(combined) == {"regime=narrow": "inconclusive", "overall": "inconclusive"}
    assert verdicts(c3_aggregate_rows(rows, "trace"))["overall"] == "holds"


def test_c4_every_outcome_and_evidence():
    table = planted_counts()
    coverage, _ = coverage_table(table, REGISTRY, "trace", 1.0, 500, 0)
    histogram = accuracy_histogram(table, "trace", 1.0)
    rows = c4_rows(coverage, histogram, REGISTRY, "trace", expansion_margin=0.05)
    got = verdicts(rows)
    scope = "family=f/regime=narrow/benchmark={}"
    assert got[scope.format("hold")] == "holds"
    assert got[scope.format("refute")] == "does not hold"
    assert got[scope.format("unsure")] == "inconclusive"
    assert got[scope.format("empty")] == "holds"  # RL expands nothing
    assert got["regime=narrow"] == "does not hold" and got["overall"] == "does not hold"
    refute = next(r for r in rows if r["scope"] == scope.format("refute"))
    assert refute["value"] == pytest.approx(0.5)
    assert "both 0, base-only 40, RL-only 40, neither 0" in refute["evidence"]
    hold = next(r for r in rows if r["scope"] == scope.format("hold"))
    assert hold["ci_high"] == pytest.approx(1 - 0.025 ** (1 / 80))  # 0 of 80, not [0, 0]
    assert "base c/n=0 0.50, c/n=1 0.00 vs RL c/n=0 0.50" in refute["evidence"]
    assert verdicts(c4_rows(coverage.iloc[:0], histogram, REGISTRY, "trace"))["overall"] == \
        "not computed"


def test_c5_every_outcome_and_modes():
    planted = {"hold": (range(0, 20), range(0, 20)), "refute": (range(20, 40), range(0, 20)),
               "coin": (range(0, 5), range(0, 10)), "empty": (range(0, 10), range(0))}
    table = planted_counts(planted)
    answers = table.assign(metric="answer")  # answer right exactly when the chain is valid ...
    # ... except on "refute": the base also answers the RL-solved problems right, by wrong chains.
    answers = answers[~((answers.model == "b") & (answers.benchmark == "refute"))]
    table = pd.concat([table, answers, counts("b", "refute", range(0, 40), "answer")],
                      ignore_index=True)
    cot = cot_validity_table(table, REGISTRY, 1.0, 500, 0)
    rows = c5_rows(cot, REGISTRY, majority=0.5)
    got = verdicts(rows)
    scope = "family=f/regime=narrow/benchmark={}"
    assert got[scope.format("hold")] == "holds"
    assert got[scope.format("refute")] == "does not hold"
    assert got[scope.format("coin")] == "inconclusive"
    assert got[scope.format("empty")] == "not estimable"
    assert got["overall"] == "does not hold"
    coin = next(r for r in rows if r["scope"] == scope.format("coin"))
    assert coin["p_holds"] == pytest.approx(0.623046875)  # P(X >= 5 | 10, 0.5)
    refute = next(r for r in rows if r["scope"] == scope.format("refute"))
    assert "lucky-guess rate (right answer, wrong chain) base 0.500 vs RL 0.000" in \
        refute["evidence"]
    assert "has a fully valid chain on 0 of the 20 problems" in refute["evidence"]
    answer_only = c5_rows(cot_validity_table(table, REGISTRY, 1.0, 500, 0, mode="answer_only"),
                          REGISTRY)
    # Without step checks the base's lucky guesses count: "refute" flips to holds.
    assert verdicts(answer_only)[scope.format("refute")] == "holds"
    assert all(r["metric"] == "answer" for r in answer_only)
    assert "steps NOT checked" in answer_only[0]["evidence"]
    assert "has a right final answer on" in answer_only[0]["evidence"]


def _claim(claim, scope, verdict):
    return _row(claim, scope, "trace", verdict=verdict)


@pytest.mark.parametrize("c1, c4, c7, expected", [
    ("holds", "holds", "holds", "holds"),
    ("holds", "does not hold", "holds", "does not hold"),
    ("inconclusive", "holds", "does not hold", "does not hold"),
    ("holds", "inconclusive", "holds", "inconclusive"),
    ("holds", "holds", "not computed", "inconclusive"),
    ("not computed", "not computed", "not computed", "not computed"),
])
def test_c8_from_c1_c4_c7(c1, c4, c7, expected):
    claim_rows = [_claim("C1", "regime=narrow", c1), _claim("C7", "overall", c7)]
    rows = c8_rows(claim_rows, [_claim("C4", "regime=narrow", c4)], "trace")
    got = verdicts(rows)
    assert got["regime=narrow"] == expected
    assert got["overall"] == expected
    assert f"C1 (RL beats base at k=1) regime=narrow: {c1}" in rows[0]["evidence"]


def test_c8_per_regime_and_missing_inputs():
    claim_rows = [_claim("C1", "regime=broad", "holds"), _claim("C1", "regime=narrow", "holds"),
                  _claim("C7", "overall", "holds")]
    c4 = [_claim("C4", "regime=broad", "does not hold"), _claim("C4", "regime=narrow", "holds")]
    got = verdicts(c8_rows(claim_rows, c4, "trace"))
    assert got == {"regime=broad": "does not hold", "regime=narrow": "holds",
                   "overall": "does not hold"}
    assert verdicts(c8_rows(claim_rows[1:], c4[1:], "trace"))["regime=narrow"] == "holds"
    assert verdicts(c8_rows([], [], "trace")) == {"overall": "not computed"}


def test_merged_report_rows_cover_every_claim_with_a_verdict():
    table = planted_counts()
    settings = {"metric": "trace", "temperature": 1.0, "n_resamples": 200, "seed": 0,
                "ci_level": 0.95}
    main = REGISTRY[REGISTRY["study"] == ""]
    claim_rows = evaluate_claims(table, main, settings)
    coverage, _ = coverage_table(table, REGISTRY, "trace", 1.0, 200, 0)
    cot = cot_validity_table(table, REGISTRY, 1.0, 200, 0)
    new = boundary_claim_rows(coverage, accuracy_histogram(table, "trace", 1.0), cot, REGISTRY,
                              claim_rows, "trace")
    rows = merge_claim_rows(claim_rows, new)
    overall = {r["id"]: r for r in rows if r["scope"] == "overall"}
    assert set(overall) == set(STATEMENTS)
    assert all(r["verdict"] in VERDICTS for r in rows)
    assert overall["C6"]["verdict"] == "not computed"  # still another target's job
    for claim in ("C3", "C4", "C5", "C8"):
        assert "computed by the" not in overall[claim]["evidence"]
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), key=lambda i: int(i[1:]))
    assert sum(r["scope"] == "overall" for r in rows) == len(STATEMENTS)
    c8 = next(r for r in rows if r["id"] == "C8" and r["scope"] == "regime=narrow")
    assert "C7 (distillation expands) overall" in c8["evidence"]
    json.dumps(rows, allow_nan=False)
