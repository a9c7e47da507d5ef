"""The decision rule: how scope tests become claim verdicts (stated in claims.md before any
number, :func:`decision_rule_lines`).

- A scope is *estimable* unless both models are at 0 on every problem, or both at 1 on every
  problem (for a share of RL-solved problems: unless the RL model solves at least one). A
  non-estimable scope gets the verdict "not estimable", says why, and moves no verdict.
- An estimable scope *holds* when its one-sided test in the claim's direction rejects at
  a = (1 - ci_level)/2; it *refutes* the claim ("does not hold") when the one-sided test
  against the claim rejects at a after Holm's correction over every refutation test of the
  claim's estimable scopes (C6: every algorithm pair and every algorithm; C8: the scopes of
  C1, C4 and C7 it is built from). Otherwise it is inconclusive.
- A claim (and each regime) holds when every estimable scope holds, does not hold when any
  estimable scope refutes it, and is inconclusive otherwise, also when no scope is
  estimable. With no scope at all it is "not computed".
- Each claim's overall row carries one pooled effect (problem-weighted over the estimable
  scopes, stratified bootstrap by benchmark): description only, it decides nothing.

Scope rows carry ``estimable``, ``why``, ``mde`` (minimum detectable effect), ``p_holds``,
``p_refutes`` (raw) and ``p_refutes_holm``; a builder whose scope runs several refutation
tests (C6: one per algorithm pair) passes them as ``tests``, which :func:`decide` consumes.
"""

from __future__ import annotations

import math

from ..stats.exact import POWER, holm, one_sided_alpha

VERDICTS = ("holds", "does not hold", "inconclusive", "not computed", "not estimable")


def _clean(value):
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def scope_row(claim: str, scope: str, statement: str, metric: str, value=None, low=None,
              high=None, verdict=None, evidence: str = "", *, estimable: bool = True,
              why: str = "", mde=None, p_holds=None, p_refutes=None, tests=None) -> dict:
    """A claims.json row. ``verdict`` None leaves it to :func:`decide`."""
    row = {
        "id": claim, "scope": scope, "statement": statement, "metric": metric,
        "value": _clean(value), "ci_low": _clean(low), "ci_high": _clean(high),
        "verdict": verdict, "estimable": bool(estimable), "why": "" if estimable else why,
        "mde": _clean(mde), "p_holds": _clean(p_holds), "p_refutes": _clean(p_refutes),
        "p_refutes_holm": None, "evidence": evidence,
    }
    if tests is not None:
        row["_tests"] = [float(p) for p in tests]
    return row


def decide(rows: list[dict], level: float) -> list[dict]:
    """Verdicts for one claim's scope rows (in place; returns them): Holm over the refutation
    tests of the estimable rows, then per row: not estimable / does not hold (adjusted
    p_refutes <= a) / holds (p_holds <= a) / inconclusive. Rows without any test (a verdict
    given by hand) keep their verdict. Deciding again over a larger family is allowed."""
    alpha = one_sided_alpha(level)
    family = []  # (row index, raw p) of every refutation test of an estimable row
    tested = []
    for i, row in enumerate(rows):
        tests = row.pop("_tests", None)
        if tests is None:
            tests = [] if row.get("p_refutes") is None else [row["p_refutes"]]
        tested.append(bool(tests) or row.get("p_holds") is not None)
        row["p_refutes_holm"] = None
        if row.get("estimable", True):
            family += [(i, p) for p in tests]
    for (i, _), p in zip(family, holm([p for _, p in family])):
        current = rows[i]["p_refutes_holm"]
        rows[i]["p_refutes_holm"] = p if current is None else min(current, p)
    for row, has_tests in zip(rows, tested):
        if not row.get("estimable", True):
            row["verdict"] = "not estimable"
        elif not has_tests:
            row["verdict"] = row["verdict"] or "inconclusive"
        elif row["p_refutes_holm"] is not None and row["p_refutes_holm"] <= alpha:
            row["verdict"] = "does not hold"
        elif row["p_holds"] is not None and row["p_holds"] <= alpha:
            row["verdict"] = "holds"
        else:
            row["verdict"] = "inconclusive"
    return rows


def aggregate_verdicts(verdicts) -> str:
    """A claim over many scopes: 'not estimable' scopes are left out; of the rest, it holds
    only if every one holds, does not hold if any does not, else inconclusive (also when
    every scope is not estimable). No scopes at all: 'not computed'."""
    verdicts = list(verdicts)
    if not verdicts:
        return "not computed"
    counted = [v for v in verdicts if v != "not estimable"]
    if counted and all(v == "holds" for v in counted):
        return "holds"
    if any(v == "does not hold" for v in counted):
        return "does not hold"
    return "inconclusive"


def pooled_text(pooled, what: str) -> str:
    if pooled is None or pooled[0] is None or math.isnan(pooled[0]):
        return ""
    value, low, high = pooled
    interval = "" if low is None or math.isnan(low) else f" [{low:+.3f}, {high:+.3f}]"
    return f"pooled {what}: {value:+.3f}{interval} (description only, decides nothing)"


def aggregate_row(claim: str, scope: str, statement: str, metric: str, rows: list[dict],
                  pooled=None, pooled_what: str = "effect over the estimable scopes") -> dict:
    """A regime or overall row: the verdicts of ``rows`` by the decision rule, a tally, and
    optionally the pooled effect (value, ci_low, ci_high) as description."""
    verdicts = [r["verdict"] for r in rows]
    estimable = [r for r in rows if r.get("estimable", True)]
    if rows:
        tally = ", ".join(f"{sum(v == name for v in verdicts)} {name}" for name in VERDICTS
                          if name not in ("not computed", "not estimable") or name in verdicts)
        evidence = f"{len(rows)} scopes: {tally}"
        if not estimable:
            evidence += "; no estimable scope"
    else:
        evidence = "no model pair with counts"
    text = pooled_text(pooled, pooled_what)
    if text:
        evidence += f"; {text}"
    value, low, high = pooled if pooled is not None else (None, None, None)
    return scope_row(claim, scope, statement, metric, value, low, high,
                     verdict=aggregate_verdicts(verdicts), evidence=evidence,
                     estimable=bool(estimable) or not rows,
                     why="" if estimable or not rows else "no estimable scope")


def decision_rule_lines(level: float) -> list[str]:
    """The rule in words, for claims.md (before any number)."""
    alpha = one_sided_alpha(level)
    return [
        "## Decision rule",
        "",
        "Part of the code, fixed independently of every result below; every verdict follows "
        "from it.",
        "",
        "- **Scopes.** Each claim is tested per scope (model pair x benchmark; C6: benchmark x "
        "part). A scope is *estimable* unless both models are at 0 on every problem, or both at "
        "1 on every problem (for a share of the RL model's solved problems, C3 coverage and C5: "
        "unless the RL model solves at least one). A non-estimable scope is listed as `not "
        "estimable` with why, and never moves a verdict.",
        f"- **Scope tests.** A scope *holds* when its one-sided test in the claim's direction "
        f"rejects at {alpha:.1%} (the level of each side of a {level:.0%} interval). It "
        f"*refutes* the claim when the one-sided test against the claim rejects at {alpha:.1%} "
        "after Holm's correction over the claim's estimable scopes (C6: over every algorithm "
        "pair and every algorithm; C8: over the C1, C4 and C7 scopes it is built from). "
        "Otherwise it is inconclusive.",
        "- **Claims.** A claim (and each regime) *holds* when every estimable scope holds; it "
        "*does not hold* when any estimable scope refutes it; otherwise it is *inconclusive* "
        "(also when no scope is estimable).",
        "- **Tests.** Paired differences of pass@k (C1, C2, C7): the exact sign-flip test over "
        "problems (at k = n it is McNemar's exact test on the discordant problems). Shares of "
        "problems (C3 coverage, C4, C5): exact binomial tests against the threshold, shown with "
        "Clopper-Pearson intervals. C3's perplexity test and C6: the bootstrap CI against the "
        "threshold; their p-values for Holm are normal approximations read off the CI.",
        f"- **Power.** Each scope's `mde` is the smallest true effect its own test detects with "
        f"{POWER:.0%} power at {alpha:.1%} one-sided, from the scope's own size and "
        "discordance / variance (see results/README.md); blank when no effect is detectable "
        "(too few problems differ). An inconclusive scope is no evidence of no effect smaller "
        "than its mde.",
        "- **Pooled effect.** Each claim shows one pooled effect (problem-weighted over its "
        "estimable scopes, stratified bootstrap by benchmark) beside its scopes, as "
        "description only: it decides nothing.",
        "- **Intervals.** Percentile bootstrap over problems (one resample matrix per benchmark, "
        "shared by every model); where every problem has the same value the bootstrap "
        "collapses, and the interval bounds the share of problems that could differ by its "
        "Clopper-Pearson limit instead (0 of 30 -> at most 0.116).",
    ]
