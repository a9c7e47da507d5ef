"""Claim rows for the boundary analyses: C3 (coverage test), C4, C5 and the derived C8.

Rows have the format of claims._row and the scopes of claims.evaluate_claims
("family=F/regime=R/benchmark=B", plus "/model=M" when several RL models share
a family and regime), so the report lists them beside C1/C2/C7. Only the main
models (registry study == "") enter claims; extra studies have their own tables.

Verdicts compare a CI with a threshold that comes from the config:
  C3 coverage: base_covers_share CI low >= support_share -> holds,
               CI high < support_share -> does not hold.
  C4:          expanded_share CI high < expansion_margin -> holds,
               CI low > expansion_margin -> does not hold.
  C5:          validity share CI low > majority -> holds, CI high < majority -> does not hold.
  Otherwise inconclusive; no number (e.g. no RL-solved problem) -> not computed.
  C8 per regime: holds if C1 (regime), C4 (regime) and C7 (overall) all hold;
               does not hold if any of them does not hold; else inconclusive.
"""

from __future__ import annotations

import math

import pandas as pd

from .claims import _aggregate_row, _pairs, _row, verdict_from_ci
from ..analyses.coverage import registry_studies

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


def _with_aggregates(claim: str, metric: str, scoped, suffix: str = "") -> list[dict]:
    """Scope rows, then one aggregate row per regime and one overall."""
    rows = [r for _, r in scoped]
    for regime in sorted({g for g, _ in scoped}, key=str):
        in_regime = [r for g, r in scoped if g == regime]
        rows.append(_aggregate_row(claim, f"regime={regime}{suffix}", metric, in_regime))
    rows.append(_aggregate_row(claim, f"overall{suffix}", metric, [r for _, r in scoped]))
    return rows


def c3_coverage_rows(coverage: pd.DataFrame, registry: pd.DataFrame, metric: str,
                     support_share: float = 0.9, level: float = 0.95) -> list[dict]:
    """C3's coverage test: the share of RL-solved problems the base also solves at k = n.

    Scopes end in "/test=coverage"; aggregates are "regime=R/test=coverage" and
    "overall/test=coverage" (combine tests into C3's own aggregates with
    c3_aggregate_rows once the perplexity rows exist).
    """
    scoped = []
    for regime, scope, r in _scoped(registry, coverage, "other_model"):
        low, high = r["base_covers_ci_low"], r["base_covers_ci_high"]
        if r["other_solved"] == 0:
            evidence = f"{r['other_model']} solves no problem of {r['n_problems']}"
        else:
            evidence = (
                f"base {r['base_model']} solves {r['both']} of the {r['other_solved']} problems "
                f"{r['other_model']} solves (pass@{r['n_samples']}); {level:.0%} CI vs support "
                f"share {support_share:g}; {r['n_problems']} problems")
        scoped.append((regime, _row(
            "C3", f"{scope}/{COVERAGE_TEST}", metric, _clean(r["base_covers_share"]),
            _clean(low), _clean(high), verdict_at_least(low, high, support_share), evidence)))
    return _with_aggregates("C3", metric, scoped, f"/{COVERAGE_TEST}")


PERPLEXITY_TEST = "test=perplexity"


def c3_perplexity_rows(shift: pd.DataFrame, registry: pd.DataFrame, metric: str,
                       margin: float = 0.1, variant: str = "matched_length") -> list[dict]:
    """C3's perplexity test: mean log PPL_base(Y_RL) - log PPL_base(Y_base) over problems.

    At most ``margin`` (nats per token; CI high below it) the RL model's responses are as
    likely under the base as the base's own -> holds; CI low above it -> does not hold.
    The verdict uses the matched-length variant (per-token perplexity is confounded by
    length); the per-token number is in the evidence.
    """
    chosen = shift[shift.variant == variant]
    per_token = shift[shift.variant == "per_token"].set_index(["model", "benchmark"])
    scoped = []
    for regime, scope, r in _scoped(registry, chosen, "model"):
        other = per_token.loc[(r["model"], r["benchmark"])]
        evidence = (f"log PPL_base(Y_RL) - log PPL_base(Y_base), {variant.replace('_', ' ')}: "
                    f"{r['value']:+.3f}; per token {other['value']:+.3f} "
                    f"[{other['ci_low']:+.3f}, {other['ci_high']:+.3f}]; margin {margin:g} nats; "
                    f"{int(r['n_problems'])} problems")
        scoped.append((regime, _row(
            "C3", f"{scope}/{PERPLEXITY_TEST}", metric, _clean(r["value"]), _clean(r["ci_low"]),
            _clean(r["ci_high"]), verdict_below(r["ci_low"], r["ci_high"], margin), evidence)))
    return _with_aggregates("C3", metric, scoped, f"/{PERPLEXITY_TEST}")


def _scope_field(scope: str, name: str):
    for part in scope.split("/"):
        key, _, value = part.partition("=")
        if key == name:
            return value
    return None


def c3_aggregate_rows(c3_rows: list[dict], metric: str) -> list[dict]:
    """C3's per-regime and overall rows over every test (coverage, perplexity, ...).

    Takes per-scope C3 rows (those with a benchmark in their scope) of any test.
    """
    scoped = [(_scope_field(r["scope"], "regime"), r) for r in c3_rows
              if r["id"] == "C3" and _scope_field(r["scope"], "benchmark") is not None]
    return _with_aggregates("C3", metric, scoped)[len(scoped):]


def _histogram_ends(histogram: pd.DataFrame, model: str, benchmark: str) -> str:
    table = histogram[(histogram["model"] == model) & (histogram["benchmark"] == benchmark)]
    if table.empty:
        return "no histogram"
    at = dict(zip(table["bin"], table["share"]))
    return f"c/n=0 {at.get('0', 0.0):.2f}, c/n=1 {at.get('1', 0.0):.2f}"


def c4_rows(coverage: pd.DataFrame, histogram: pd.DataFrame, registry: pd.DataFrame,
            metric: str, expansion_margin: float = 0.05, level: float = 0.95) -> list[dict]:
    """C4: share of problems only the RL model solves at k = n, against expansion_margin."""
    scoped = []
    for regime, scope, r in _scoped(registry, coverage, "other_model"):
        low, high = r["expanded_ci_low"], r["expanded_ci_high"]
        evidence = (
            f"at k={r['n_samples']}: both {r['both']}, base-only {r['base_only']}, "
            f"RL-only {r['other_only']}, neither {r['neither']} of {r['n_problems']}; "
            f"histogram ends base {_histogram_ends(histogram, r['base_model'], r['benchmark'])} "
            f"vs RL {_histogram_ends(histogram, r['other_model'], r['benchmark'])}; "
            f"{level:.0%} CI vs margin {expansion_margin:g}")
        scoped.append((regime, _row(
            "C4", scope, metric, _clean(r["expanded_share"]), _clean(low), _clean(high),
            verdict_below(low, high, expansion_margin), evidence)))
    return _with_aggregates("C4", metric, scoped)


def _rate(value) -> str:
    return "n/a" if _missing(value) else f"{value:.3f}"


def c5_rows(cot: pd.DataFrame, registry: pd.DataFrame, majority: float = 0.5,
            level: float = 0.95) -> list[dict]:
    """C5: share of RL-solved problems where the base has a valid chain, against ``majority``.

    Metric is "trace" (steps checked) or "answer" (mode answer_only: steps not checked).
    """
    metric = "answer" if (len(cot) and not cot["steps_checked"].all()) else "trace"
    scoped = []
    for regime, scope, r in _scoped(registry, cot, "model"):
        low, high = r["ci_low"], r["ci_high"]
        if r["steps_checked"]:
            checked, found = "every step checked", "a fully valid chain"
        else:
            checked, found = "answer_only: steps NOT checked", "a right final answer"
        evidence = (
            f"base {r['base_model']} has {found} on {r['base_valid']} of the "
            f"{r['model_solved']} problems {r['model']} solves ({checked}); lucky-guess rate "
            f"(right answer, wrong chain) base {_rate(r['lucky_guess_base'])} vs RL "
            f"{_rate(r['lucky_guess_model'])}; {level:.0%} CI vs {majority:g}")
        row_metric = "trace" if r["steps_checked"] else "answer"
        scoped.append((regime, _row(
            "C5", scope, row_metric, _clean(r["share"]), _clean(low), _clean(high),
            verdict_above(low, high, majority), evidence)))
    return _with_aggregates("C5", metric, scoped)


def _find(rows: list[dict], claim: str, scope: str):
    return next((r for r in rows if r["id"] == claim and r["scope"] == scope), None)


def c8_rows(claim_rows: list[dict], c4: list[dict], metric: str) -> list[dict]:
    """C8 per regime from C1's and C4's regime rows and C7's overall row, plus overall.

    ``claim_rows`` are claims.evaluate_claims rows (C1, C7); ``c4`` from c4_rows.
    """
    regimes = sorted({_scope_field(r["scope"], "regime") for r in claim_rows + c4
                      if r["id"] in ("C1", "C4") and r["scope"].startswith("regime=")})
    c7 = _find(claim_rows, "C7", "overall")
    c7_verdict = c7["verdict"] if c7 else "not computed"
    rows = []
    for regime in regimes:
        parts = {"C1": _find(claim_rows, "C1", f"regime={regime}"),
                 "C4": _find(c4, "C4", f"regime={regime}")}
        verdicts = {name: (row["verdict"] if row else "not computed")
                    for name, row in parts.items()}
        verdicts["C7"] = c7_verdict
        values = list(verdicts.values())
        if any(v == "does not hold" for v in values):
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
        rows.append(_row("C8", f"regime={regime}", metric, verdict=verdict, evidence=evidence))
    overall = _aggregate_row("C8", "overall", metric, rows)
    if rows and all(r["verdict"] == "not computed" for r in rows):
        overall["verdict"] = "not computed"  # aggregate_verdicts would say inconclusive
    return rows + [overall]


def boundary_claim_rows(coverage: pd.DataFrame, histogram: pd.DataFrame, cot: pd.DataFrame,
                        registry: pd.DataFrame, claim_rows: list[dict], metric: str,
                        support_share: float = 0.9, expansion_margin: float = 0.05,
                        majority: float = 0.5, level: float = 0.95,
                        c3_other_tests: list[dict] = ()) -> list[dict]:
    """Every new row: C3's coverage test, C3's aggregates over that test and
    ``c3_other_tests`` (per-scope C3 rows of other tests, e.g. perplexity, which are
    returned too), C4, C5 and C8."""
    c3 = c3_coverage_rows(coverage, registry, metric, support_share, level)
    c3_tests = [r for r in c3 if _scope_field(r["scope"], "benchmark") is not None]
    c3_tests += [r for r in c3_other_tests if _scope_field(r["scope"], "benchmark") is not None]
    c4 = c4_rows(coverage, histogram, registry, metric, expansion_margin, level)
    c5 = c5_rows(cot, registry, majority, level)
    return (c3 + list(c3_other_tests) + c3_aggregate_rows(c3_tests, metric) + c4 + c5
            + c8_rows(claim_rows, c4, metric))


def merge_claim_rows(claim_rows: list[dict], new_rows: list[dict]) -> list[dict]:
    """claims.evaluate_claims rows with ``new_rows`` in place of the 'not computed'
    placeholders of the claims they cover, ordered by claim id (stable within a claim)."""
    covered = {r["id"] for r in new_rows if r["scope"] == "overall"}
    kept = [r for r in claim_rows if not (r["id"] in covered and r["scope"] == "overall"
                                          and r["verdict"] == "not computed")]
    merged = kept + list(new_rows)
    return sorted(merged, key=lambda r: int(r["id"][1:]))
