"""Claim rows for the boundary analyses: C3 (coverage test), C4, C5 and the derived C8.

Rows have the format of claims._row and the scopes of claims.evaluate_claims
("family=F/regime=R/benchmark=B", plus "/model=M" when several RL models share
a family and regime), so the report lists them beside C1/C2/C7. Only the main
models (registry study == "") enter claims; extra studies have their own tables.

Verdicts follow report.decision: each scope is an exact one-sided binomial test of a share
of problems against a threshold from the config (shown with its Clopper-Pearson interval),
holds at (1 - level)/2 and refutes after Holm's correction over the claim's scopes:
  C3 coverage: base_covers_share = both / RL-solved; holds when P(X >= both | support_share)
               <= a (CI low >= support_share); refutes when P(X <= both | support_share) <= a.
               Not estimable when the RL model solves nothing, or both models solve every
               problem.
  C3 perplexity: the table's bootstrap CI below perplexity_margin -> holds, above -> refutes
               (p-values for Holm read off the CI).
  C4:          expanded_share = RL-only / problems below expansion_margin -> holds, above ->
               refutes. Not estimable when both models solve nothing, or both solve everything.
  C5:          validity share = base-valid / RL-solved above majority -> holds, below ->
               refutes. Not estimable when the RL model solves nothing.
  C8 per regime: holds if C1 (regime), C4 (regime) and C7 (overall) all hold; does not hold if
               a C1 or C4 scope of the regime or a C7 scope refutes its claim after Holm's
               correction over all of C8's constituent scopes; else inconclusive.
The thresholds' own table verdicts (verdict_at_least, ...) read a CI against a threshold.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .claims import _aggregate_row, _p, _pairs, _row, verdict_from_ci
from .decision import decide
from ..analyses.coverage import registry_studies
from ..stats.exact import (
    binomial_mde,
    binomial_pvalues,
    ci_mde,
    ci_pvalue,
    clopper_pearson,
    holm,
    one_sided_alpha,
)
from ..stats.intervals import stratified_ratio_ci

COVERAGE_TEST = "test=coverage"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _clean(value):
    """None for NaN, so claim rows stay valid JSON."""
    return None if _missing(value) else float(value)


def verdict_at_least(low, high, threshold: float) -> str:
    """holds if low >= threshold, does not hold if high < threshold, else inconclusive."""
    if _missing(low) or _missing(high):
        return "not computed"
    if low >= threshold:
        return "holds"
    if high < threshold:
        return "does not hold"
    return "inconclusive"


def verdict_above(low, high, threshold: float) -> str:
    """holds if low > threshold, does not hold if high < threshold, else inconclusive
    (claims.verdict_from_ci on the CI shifted by the threshold)."""
    if _missing(low) or _missing(high):
        return "not computed"
    return verdict_from_ci(low - threshold, high - threshold)


def verdict_below(low, high, threshold: float) -> str:
    """holds if high < threshold, does not hold if low > threshold, else inconclusive."""
    if _missing(low) or _missing(high):
        return "not computed"
    return verdict_from_ci(threshold - high, threshold - low)


def main_models(registry: pd.DataFrame) -> pd.DataFrame:
    return registry[registry_studies(registry) == ""]


def _scoped(registry: pd.DataFrame, table: pd.DataFrame, model_column: str):
    """(regime, scope, table row) for every main RL model's row in ``table``, in claim order."""
    for _, regime, model, _, prefix, suffix in _pairs(main_models(registry), "rl"):
        rows = table[table[model_column] == model].sort_values("benchmark")
        for _, row in rows.iterrows():
            yield regime, f"{prefix}/benchmark={row['benchmark']}{suffix}", row


def _with_aggregates(claim: str, metric: str, scoped, suffix: str = "", pooled=None,
                     pooled_what=None) -> list[dict]:
    """Scope rows, then one aggregate row per regime and one overall (with ``pooled``, the
    claim's pooled effect as description). Verdicts of the scope rows must be decided."""
    rows = [r for _, r in scoped]
    for regime in sorted({g for g, _ in scoped}, key=str):
        in_regime = [r for g, r in scoped if g == regime]
        rows.append(_aggregate_row(claim, f"regime={regime}{suffix}", metric, in_regime))
    rows.append(_aggregate_row(claim, f"overall{suffix}", metric, [r for _, r in scoped],
                               pooled, pooled_what))
    return rows


def _share_test(x: int, m: int, threshold: float, claim_side: str, level: float) -> dict:
    """Exact binomial test of x of m against ``threshold``; the claim says the share lies on
    ``claim_side`` ("above" or "below") of it. CI: Clopper-Pearson."""
    low, high = clopper_pearson(x, m, level)
    p_above, p_below = binomial_pvalues(x, m, threshold)
    p_holds, p_refutes = (p_above, p_below) if claim_side == "above" else (p_below, p_above)
    mde = binomial_mde(m, threshold, claim_side, level)
    return {"value": x / m, "low": low, "high": high, "p_holds": p_holds,
            "p_refutes": p_refutes, "mde": mde}


def _share_evidence(test: dict, threshold: float, claim_side: str, level: float) -> str:
    mde = (f"mde {test['mde']:.3f}" if test["mde"] is not None
           else "no mde: no share in [0, 1] is detected with 80% power at this size")
    against = ">" if claim_side == "above" else "<"
    return (f"exact binomial p(share {against} {threshold:g}) {_p(test['p_holds'])}, "
            f"opposite {_p(test['p_refutes'])}; {level:.0%} Clopper-Pearson CI; {mde}")


def _share_row(claim, scope, metric, test, evidence, estimable=True, why="") -> dict:
    if not estimable:
        return _row(claim, scope, metric, None if test is None else test["value"],
                    None if test is None else test["low"], None if test is None else test["high"],
                    evidence=f"{evidence}; not estimable: {why}", estimable=False, why=why)
    return _row(claim, scope, metric, test["value"], test["low"], test["high"],
                evidence=evidence, mde=test["mde"], p_holds=test["p_holds"],
                p_refutes=test["p_refutes"])


def _pooled_shares(problems, weights, scoped, numerator, denominator, level):
    """Pooled share over the estimable scope rows: sum of numerators / sum of denominators
    over their problems (``problems``: coverage_problems rows), stratified bootstrap by
    benchmark with ``weights``. Without per-problem sets: None."""
    if problems is None or weights is None:
        return None
    items = []
    for _, row in scoped:
        if not row["estimable"]:
            continue
        model, benchmark = row["_pair"]
        table = problems[(problems["other_model"] == model)
                         & (problems["benchmark"] == benchmark)].sort_values("problem_id")
        if table.empty:
            continue
        base = table["c_base"].to_numpy() > 0
        other = table["c_other"].to_numpy() > 0
        items.append((benchmark, numerator(base, other).astype(float),
                      denominator(base, other).astype(float)))
    if not items:
        return None
    return stratified_ratio_ci(items, weights, level, bounds=(0.0, 1.0))


def _drop_pairs(scoped):
    for _, row in scoped:
        row.pop("_pair", None)


def _c3_coverage_scoped(coverage, registry, metric, support_share, level):
    scoped = []
    for regime, scope, r in _scoped(registry, coverage, "other_model"):
        m, x, n_problems = int(r["other_solved"]), int(r["both"]), int(r["n_problems"])
        about = f"{n_problems} problems"
        if m == 0:
            solved_nothing = int(r["base_solved"]) == 0
            why = ("both models at 0 on every problem at k=n (floor)" if solved_nothing
                   else f"{r['other_model']} solves no problem: no share to estimate")
            row = _share_row("C3", f"{scope}/{COVERAGE_TEST}", metric, None,
                             f"{r['other_model']} solves no problem of {n_problems}", False, why)
        else:
            test = _share_test(x, m, support_share, "above", level)
            evidence = (f"base {r['base_model']} solves {x} of the {m} problems "
                        f"{r['other_model']} solves (pass@{r['n_samples']}); "
                        f"{_share_evidence(test, support_share, 'above', level)}; {about}")
            ceiling = x == n_problems
            row = _share_row("C3", f"{scope}/{COVERAGE_TEST}", metric, test, evidence,
                             not ceiling, "both models at 1 on every problem at k=n (ceiling)")
        row["_pair"] = (r["other_model"], r["benchmark"])
        scoped.append((regime, row))
    return scoped


C3_POOLED = "share of RL-solved problems the base also solves, over the estimable scopes"


def c3_coverage_rows(coverage: pd.DataFrame, registry: pd.DataFrame, metric: str,
                     support_share: float = 0.9, level: float = 0.95, problems=None,
                     weights=None) -> list[dict]:
    """C3's coverage test: the share of RL-solved problems the base also solves at k = n.

    Scopes end in "/test=coverage"; aggregates are "regime=R/test=coverage" and
    "overall/test=coverage" (combine tests into C3's own aggregates with
    c3_aggregate_rows once the perplexity rows exist). ``problems`` (coverage_problems
    rows) and ``weights`` (per benchmark) give the pooled share its CI.
    """
    scoped = _c3_coverage_scoped(coverage, registry, metric, support_share, level)
    decide([r for _, r in scoped], level)
    return _c3_coverage_aggregates(scoped, metric, level, problems, weights)[0]


def _c3_coverage_aggregates(scoped, metric, level, problems, weights):
    """The decided coverage scope rows with their regime and overall rows, and the pooled
    share (problems / weights: see c3_coverage_rows)."""
    pooled = _pooled_shares(problems, weights, scoped, lambda b, o: b & o, lambda b, o: o, level)
    _drop_pairs(scoped)
    return _with_aggregates("C3", metric, scoped, f"/{COVERAGE_TEST}", pooled, C3_POOLED), pooled


PERPLEXITY_TEST = "test=perplexity"


def c3_perplexity_rows(shift: pd.DataFrame, registry: pd.DataFrame, metric: str,
                       margin: float = 0.1, variant: str = "matched_length",
                       level: float = 0.95) -> list[dict]:
    """C3's perplexity test: mean log PPL_base(Y_RL) - log PPL_base(Y_base) over problems.

    At most ``margin`` (nats per token; CI high below it) the RL model's responses are as
    likely under the base as the base's own -> holds; CI low above it -> refutes (p-values
    for Holm read off the CI's facing half, stats.exact.ci_pvalue; mde from the same half).
    The verdict uses the matched-length variant (per-token perplexity is confounded by
    length); the per-token number is in the evidence.
    """
    scoped = _c3_perplexity_scoped(shift, registry, metric, margin, variant, level)
    decide([r for _, r in scoped], level)
    return _with_aggregates("C3", metric, scoped, f"/{PERPLEXITY_TEST}")


def _c3_perplexity_scoped(shift, registry, metric, margin, variant, level):
    chosen = shift[shift.variant == variant]
    per_token = shift[shift.variant == "per_token"].set_index(["model", "benchmark"])
    scoped = []
    for regime, scope, r in _scoped(registry, chosen, "model"):
        other = per_token.loc[(r["model"], r["benchmark"])]
        value, low, high = _clean(r["value"]), _clean(r["ci_low"]), _clean(r["ci_high"])
        evidence = (f"log PPL_base(Y_RL) - log PPL_base(Y_base), {variant.replace('_', ' ')}: "
                    f"{r['value']:+.3f}; per token {other['value']:+.3f} "
                    f"[{other['ci_low']:+.3f}, {other['ci_high']:+.3f}]; margin {margin:g} nats; "
                    f"{int(r['n_problems'])} problems")
        if value is None or low is None:
            row = _row("C3", f"{scope}/{PERPLEXITY_TEST}", metric, evidence=evidence,
                       estimable=False, why="no perplexity shift for this scope")
        else:
            p_holds = ci_pvalue(value, low, high, margin, "below", level)
            p_refutes = ci_pvalue(value, low, high, margin, "above", level)
            mde = ci_mde(high - value, level)
            evidence += (f"; p(shift < {margin:g}) {_p(p_holds)}, opposite {_p(p_refutes)} "
                         f"(normal approximations from the bootstrap CI); mde {mde:.3f} nats")
            row = _row("C3", f"{scope}/{PERPLEXITY_TEST}", metric, value, low, high,
                       evidence=evidence, mde=mde, p_holds=p_holds, p_refutes=p_refutes)
        scoped.append((regime, row))
    return scoped


def _scope_field(scope: str, name: str):
    for part in scope.split("/"):
        key, _, value = part.partition("=")
        if key == name:
            return value
    return None


def c3_aggregate_rows(c3_rows: list[dict], metric: str, pooled=None) -> list[dict]:
    """C3's per-regime and overall rows over every test (coverage, perplexity, ...).

    Takes per-scope C3 rows (those with a benchmark in their scope) of any test, decided
    together (boundary_claim_rows). ``pooled``: the coverage test's pooled share, shown on
    the overall row as description.
    """
    scoped = [(_scope_field(r["scope"], "regime"), r) for r in c3_rows
              if r["id"] == "C3" and _scope_field(r["scope"], "benchmark") is not None]
    return _with_aggregates("C3", metric, scoped, pooled=pooled,
                            pooled_what=C3_POOLED + " (coverage test)")[len(scoped):]


def _histogram_ends(histogram: pd.DataFrame, model: str, benchmark: str) -> str:
    table = histogram[(histogram["model"] == model) & (histogram["benchmark"] == benchmark)]
    if table.empty:
        return "no histogram"
    at = dict(zip(table["bin"], table["share"]))
    return f"c/n=0 {at.get('0', 0.0):.2f}, c/n=1 {at.get('1', 0.0):.2f}"


def c4_rows(coverage: pd.DataFrame, histogram: pd.DataFrame, registry: pd.DataFrame,
            metric: str, expansion_margin: float = 0.05, level: float = 0.95, problems=None,
            weights=None) -> list[dict]:
    """C4: share of problems only the RL model solves at k = n, against expansion_margin
    (exact binomial test, Clopper-Pearson CI; ``problems``/``weights`` as in
    c3_coverage_rows, for the pooled share's CI)."""
    scoped = []
    for regime, scope, r in _scoped(registry, coverage, "other_model"):
        x, n_problems = int(r["other_only"]), int(r["n_problems"])
        test = _share_test(x, n_problems, expansion_margin, "below", level)
        evidence = (
            f"at k={r['n_samples']}: both {r['both']}, base-only {r['base_only']}, "
            f"RL-only {x}, neither {r['neither']} of {n_problems}; "
            f"histogram ends base {_histogram_ends(histogram, r['base_model'], r['benchmark'])} "
            f"vs RL {_histogram_ends(histogram, r['other_model'], r['benchmark'])}; "
            f"{_share_evidence(test, expansion_margin, 'below', level)}")
        if int(r["neither"]) == n_problems:
            row = _share_row("C4", scope, metric, test, evidence, False,
                             "both models at 0 on every problem at k=n (floor)")
        elif int(r["both"]) == n_problems:
            row = _share_row("C4", scope, metric, test, evidence, False,
                             "both models at 1 on every problem at k=n (ceiling)")
        else:
            row = _share_row("C4", scope, metric, test, evidence)
        row["_pair"] = (r["other_model"], r["benchmark"])
        scoped.append((regime, row))
    decide([r for _, r in scoped], level)
    pooled = _pooled_shares(problems, weights, scoped, lambda b, o: o & ~b,
                            lambda b, o: np.ones_like(o), level)
    _drop_pairs(scoped)
    return _with_aggregates("C4", metric, scoped, pooled=pooled,
                            pooled_what="share of problems only RL solves, over the estimable "
                            "scopes")


def _rate(value) -> str:
    return "n/a" if _missing(value) else f"{value:.3f}"


def c5_rows(cot: pd.DataFrame, registry: pd.DataFrame, majority: float = 0.5,
            level: float = 0.95, problems=None, weights=None) -> list[dict]:
    """C5: share of RL-solved problems where the base has a valid chain, against ``majority``
    (exact binomial test on base_valid of model_solved, Clopper-Pearson CI).

    Metric is "trace" (steps checked) or "answer" (mode answer_only: steps not checked).
    ``problems``/``weights`` (coverage_problems rows at the trace metric) give the pooled
    share a CI in mode trace, where base-valid = both solve; otherwise the pooled share is
    shown without one.
    """
    metric = "answer" if (len(cot) and not cot["steps_checked"].all()) else "trace"
    scoped = []
    for regime, scope, r in _scoped(registry, cot, "model"):
        x, m = int(r["base_valid"]), int(r["model_solved"])
        if r.get("mode") == "judged":  # C5's optional judge (analyses.cot_judge)
            checked = f"every step checked by the {r['labelled_by']}, NOT by people"
            found = "a fully valid chain"
        elif r["steps_checked"]:
            checked, found = "every step checked", "a fully valid chain"
        else:
            checked, found = "answer_only: steps NOT checked", "a right final answer"
        evidence = (
            f"base {r['base_model']} has {found} on {x} of the "
            f"{m} problems {r['model']} solves ({checked}); lucky-guess rate "
            f"(right answer, wrong chain) base {_rate(r['lucky_guess_base'])} vs RL "
            f"{_rate(r['lucky_guess_model'])}")
        row_metric = "trace" if r["steps_checked"] else "answer"
        if m == 0:
            row = _share_row("C5", scope, row_metric, None, evidence, False,
                             f"{r['model']} solves no problem: no share to estimate")
        else:
            test = _share_test(x, m, majority, "above", level)
            row = _share_row("C5", scope, row_metric, test,
                             f"{evidence}; {_share_evidence(test, majority, 'above', level)}")
        row["_pair"] = (r["model"], r["benchmark"])
        row["_counts"] = (x, m)
        scoped.append((regime, row))
    decide([r for _, r in scoped], level)
    trace_mode = len(cot) and "mode" in cot and (cot["mode"] == "trace").all()
    pooled = (_pooled_shares(problems, weights, scoped, lambda b, o: b & o, lambda b, o: o,
                             level) if trace_mode else None)
    counted = [r["_counts"] for _, r in scoped if r["estimable"]]
    if pooled is None and counted and sum(m for _, m in counted):
        pooled = (sum(x for x, _ in counted) / sum(m for _, m in counted), None, None)
    for _, row in scoped:
        row.pop("_counts", None)
    _drop_pairs(scoped)
    return _with_aggregates("C5", metric, scoped, pooled=pooled,
                            pooled_what="share of RL-solved problems with a valid base chain, "
                            "over the estimable scopes" + ("" if trace_mode else
                                                           " (no CI without per-problem sets)"))


def _find(rows: list[dict], claim: str, scope: str):
    return next((r for r in rows if r["id"] == claim and r["scope"] == scope), None)


def _constituents(rows: list[dict], claim: str, regime: str | None) -> list[dict]:
    """Estimable scope rows of ``claim`` (in ``regime`` unless None) with a refutation test."""
    return [r for r in rows if r["id"] == claim and r.get("estimable", True)
            and _scope_field(r["scope"], "benchmark") is not None
            and r.get("p_refutes") is not None
            and (regime is None or _scope_field(r["scope"], "regime") == regime)]


def c8_rows(claim_rows: list[dict], c4: list[dict], metric: str,
            level: float = 0.95) -> list[dict]:
    """C8 per regime from C1's and C4's regime rows and C7's overall row, plus overall.

    ``claim_rows`` are claims.evaluate_claims rows (C1, C7); ``c4`` from c4_rows. A regime
    holds when C1 (regime), C4 (regime) and C7 (overall) all hold. It does not hold when one
    of its constituent scopes (C1's and C4's in the regime, C7's) refutes its claim after
    Holm's correction over every constituent scope of every regime (each C7 scope counted
    once); where a part has no scope rows (only its aggregate is given) its aggregate's
    "does not hold" counts.
    """
    regimes = sorted({_scope_field(r["scope"], "regime") for r in claim_rows + c4
                      if r["id"] in ("C1", "C4") and r["scope"].startswith("regime=")})
    c7 = _find(claim_rows, "C7", "overall")
    c7_verdict = c7["verdict"] if c7 else "not computed"
    scope_rows = list(claim_rows) + list(c4)
    family = {(r["id"], r["scope"]): r for regime in regimes for claim in ("C1", "C4")
              for r in _constituents(scope_rows, claim, regime)}
    family |= {(r["id"], r["scope"]): r for r in _constituents(scope_rows, "C7", None)}
    adjusted = dict(zip(family, holm([r["p_refutes"] for r in family.values()])))
    alpha = one_sided_alpha(level)
    rows = []
    for regime in regimes:
        parts = {"C1": _find(claim_rows, "C1", f"regime={regime}"),
                 "C4": _find(c4, "C4", f"regime={regime}")}
        verdicts = {name: (row["verdict"] if row else "not computed")
                    for name, row in parts.items()}
        verdicts["C7"] = c7_verdict
        refuting = []
        for claim in ("C1", "C4", "C7"):
            members = _constituents(scope_rows, claim, None if claim == "C7" else regime)
            if members:
                refuting += [(r["scope"], claim, adjusted[r["id"], r["scope"]]) for r in members
                             if adjusted[r["id"], r["scope"]] <= alpha]
            elif verdicts[claim] == "does not hold":
                refuting.append(("its aggregate", claim, None))
        values = list(verdicts.values())
        if refuting:
            verdict = "does not hold"
        elif all(v == "holds" for v in values):
            verdict = "holds"
        elif all(v == "not computed" for v in values):
            verdict = "not computed"
        else:
            verdict = "inconclusive"
        evidence = (f"C1 (RL beats base at k=1) regime={regime}: {verdicts['C1']}; "
                    f"C4 (RL does not widen coverage) regime={regime}: {verdicts['C4']}; "
                    f"C7 (distillation expands) overall: {verdicts['C7']}")
        if refuting:
            evidence += "; refuted by " + ", ".join(
                f"{claim} {scope}" + ("" if p is None else f" (Holm p {_p(p)} over C8's "
                                                             f"{len(family)} scopes)")
                for scope, claim, p in refuting)
        present = [row for row in (parts["C1"], parts["C4"], c7) if row is not None]
        estimable = not present or any(row.get("estimable", True) for row in present)
        if not estimable:
            verdict = "not estimable"
        rows.append(_row("C8", f"regime={regime}", metric, verdict=verdict, evidence=evidence,
                         estimable=estimable, why="no estimable scope in C1, C4 or C7"))
    overall = _aggregate_row("C8", "overall", metric, rows)
    if rows and all(r["verdict"] == "not computed" for r in rows):
        overall["verdict"] = "not computed"  # aggregate_verdicts would say inconclusive
    return rows + [overall]


def boundary_claim_rows(coverage: pd.DataFrame, histogram: pd.DataFrame, cot: pd.DataFrame,
                        registry: pd.DataFrame, claim_rows: list[dict], metric: str,
                        support_share: float = 0.9, expansion_margin: float = 0.05,
                        majority: float = 0.5, level: float = 0.95,
                        c3_other_tests: list[dict] = (), problems=None,
                        weights=None) -> list[dict]:
    """Every new row: C3's coverage test, C3's aggregates over that test and
    ``c3_other_tests`` (C3 rows of other tests, e.g. perplexity: their scopes are decided
    again, Holm over all of C3's tests, and returned with their per-test aggregates), C4,
    C5 and C8. ``problems`` (coverage_problems rows at the claims' metric) and ``weights``
    (per benchmark) give the pooled shares their CIs."""
    coverage_scoped = _c3_coverage_scoped(coverage, registry, metric, support_share, level)
    other_scoped = [(_scope_field(r["scope"], "regime"), r) for r in c3_other_tests
                    if _scope_field(r["scope"], "benchmark") is not None]
    decide([r for _, r in coverage_scoped + other_scoped], level)
    c3, pooled = _c3_coverage_aggregates(coverage_scoped, metric, level, problems, weights)
    tests = sorted({_scope_field(r["scope"], "test") for _, r in other_scoped}, key=str)
    for test in tests:
        group = [(g, r) for g, r in other_scoped if _scope_field(r["scope"], "test") == test]
        c3 += _with_aggregates("C3", metric, group, f"/test={test}")
    c3_tests = [r for _, r in coverage_scoped + other_scoped]
    c4 = c4_rows(coverage, histogram, registry, metric, expansion_margin, level, problems,
                 weights)
    trace = problems if metric == "trace" else None
    c5 = c5_rows(cot, registry, majority, level, trace, weights)
    return (c3 + c3_aggregate_rows(c3_tests, metric, pooled) + c4 + c5
            + c8_rows(claim_rows, c4, metric, level))


def merge_claim_rows(claim_rows: list[dict], new_rows: list[dict]) -> list[dict]:
    """claims.evaluate_claims rows with ``new_rows`` in place of the 'not computed'
    placeholders of the claims they cover, ordered by claim id (stable within a claim)."""
    covered = {r["id"] for r in new_rows if r["scope"] == "overall"}
    kept = [r for r in claim_rows if not (r["id"] in covered and r["scope"] == "overall"
                                          and r["verdict"] == "not computed")]
    merged = kept + list(new_rows)
    return sorted(merged, key=lambda r: int(r["id"][1:]))
