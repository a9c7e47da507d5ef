"""Claim rows and verdicts (C1-C8, STATEMENTS below) from per-problem correct counts.

Inputs are plain frames:
  counts: model, benchmark, temperature, metric, problem_id, n, c  (one row per problem)
  models: model, family, role, parent, algorithm, step, regime, source, revision_or_sha256

Every comparison is a mean over problems of the unbiased pass@k with a
problem-paired percentile-bootstrap CI: one resample-weight matrix per
benchmark, shared by every model, so model A and model B are always compared
on the same resampled problem sets. Weight columns follow problem_id order.
Where every problem has the same difference the interval comes from
stats.passk.constant_interval instead of collapsing to a point.

Verdicts follow the decision rule of report.decision (stated in claims.md before
any number): per scope, the exact paired sign-flip test (McNemar's exact test at
k = n) in the claim's direction at level (1 - ci_level)/2 makes it hold; the
opposite test, after Holm's correction over the claim's estimable scopes, makes it
refute the claim. Scopes where both models are at 0 (or both at 1) on every
problem are not estimable and move no verdict. :func:`verdict_from_ci` (CI
above / below 0) remains for tables that only describe.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd

from rlvr_boundary.stats.crossover import crossover, crossover_text
from rlvr_boundary.stats.exact import paired_mde, sign_flip_pvalues, sign_flips
from rlvr_boundary.stats.intervals import mean_ci, stratified_ratio_ci
from rlvr_boundary.stats.passk import bootstrap_weights, pass_at_k_matrix

from .decision import aggregate_row, decide, scope_row


STATEMENTS = {
    "C1": "At small k (k=1) RLVR models beat their base models.",
    "C2": "As k grows, base models overtake RLVR models, on every benchmark and model family.",
    "C3": "RLVR's correct reasoning paths are already in the base model's sampling distribution.",
    "C4": "RLVR narrows sampling toward correct paths the base could already reach; "
    "it does not widen the set of solvable problems.",
    "C5": "For most problems an RL model solves, the base model produces at least one "
    "correct chain of thought.",
    "C6": "Six RLVR algorithms perform alike and all stay far from the base model's potential.",
    "C7": "Distillation from a stronger teacher expands the boundary: "
    "the distilled model beats the base even at large k.",
    "C8": "RLVR for reliability on problems the base can already solve; "
    "distillation for new capability.",
}

# Claims whose numbers come from other targets of the workflow.
COMPUTED_ELSEWHERE = {
    "C3": "boundary analyses (target `boundary`)",
    "C4": "boundary analyses (target `boundary`)",
    "C5": "boundary analyses (target `boundary`)",
    "C6": "six-algorithm study (target `algorithms`)",
    "C8": "boundary analyses (target `boundary`)",
}


def verdict_from_ci(low, high) -> str:
    """'holds' if the CI lies above 0, 'does not hold' if below 0, else 'inconclusive'."""
    if low is None or high is None or np.isnan(low) or np.isnan(high):
        return "not computed"
    if low > 0:
        return "holds"
    if high < 0:
        return "does not hold"
    return "inconclusive"


def _align(counts_a: pd.DataFrame, counts_b: pd.DataFrame):
    """Sort both tables by problem_id and check they cover the same problems."""
    a = counts_a.sort_values("problem_id", kind="stable")
    b = counts_b.sort_values("problem_id", kind="stable")
    for name, table in (("A", a), ("B", b)):
        if table["problem_id"].duplicated().any():
            raise ValueError(f"model {name} has duplicate problem_id rows")
    if not np.array_equal(a["problem_id"].to_numpy(), b["problem_id"].to_numpy()):
        only_a = set(a["problem_id"]) - set(b["problem_id"])
        only_b = set(b["problem_id"]) - set(a["problem_id"])
        raise ValueError(
            "problem sets differ, cannot pair: "
            f"{len(only_a)} only in A (e.g. {sorted(only_a)[:3]}), "
            f"{len(only_b)} only in B (e.g. {sorted(only_b)[:3]})"
        )
    return a, b


def _largest_k(a: pd.DataFrame, b: pd.DataFrame) -> int:
    """Largest k defined for every problem of both models (pass@k needs k <= n)."""
    return int(min(a["n"].min(), b["n"].min()))


def paired_difference(counts_a, counts_b, k: int, weights, level: float = 0.95):
    """mean pass@k(A) - mean pass@k(B) over problems, with a problem-paired bootstrap CI.

    Returns (value, ci_low, ci_high). weights: (B, P) in problem_id order.
    """
    a, b = _align(counts_a, counts_b)
    per_problem = (
        pass_at_k_matrix(a["n"], a["c"], [k])[:, 0] - pass_at_k_matrix(b["n"], b["c"], [k])[:, 0]
    )
    return mean_ci(per_problem, weights, level, bounds=(-1.0, 1.0))


def _lattice_scales(a: pd.DataFrame, b: pd.DataFrame) -> tuple:
    """Scales that may put pass@k differences on an integer lattice: 1 (pass@n) and the
    sample counts (pass@1 = c/n) with their least common multiple."""
    ns = sorted({int(x) for x in a["n"]} | {int(x) for x in b["n"]})
    lcm = math.lcm(*ns)
    return (1, *ns, lcm) if lcm <= 100_000 else (1, *ns)


def paired_scope_test(counts_a, counts_b, k: int, weights, flips, level: float = 0.95) -> dict:
    """The scope test of "mean pass@k(A) > mean pass@k(B)" (A = the model the claim favours).

    Returns value, ci_low, ci_high (problem-paired bootstrap, constant-difference fallback),
    p_holds / p_refutes (one-sided exact sign-flip p-values for A > B / A < B; McNemar's exact
    test when pass@k is 0/1 on every problem), estimable and why (both models at 0, or both
    at 1, on every problem), mde and mde_note (stats.exact.paired_mde) and d, the per-problem
    differences.
    """
    a, b = _align(counts_a, counts_b)
    pass_a = pass_at_k_matrix(a["n"], a["c"], [k])[:, 0]
    pass_b = pass_at_k_matrix(b["n"], b["c"], [k])[:, 0]
    d = pass_a - pass_b
    value, low, high = mean_ci(d, weights, level, bounds=(-1.0, 1.0))
    if (pass_a == 0).all() and (pass_b == 0).all():
        estimable, why = False, f"both models at 0 on every problem at k={k} (floor)"
    elif (pass_a == 1).all() and (pass_b == 1).all():
        estimable, why = False, f"both models at 1 on every problem at k={k} (ceiling)"
    else:
        estimable, why = True, ""
    p_greater, p_less = sign_flip_pvalues(d, _lattice_scales(a, b), flips)
    binary = bool(np.isin(pass_a, (0.0, 1.0)).all() and np.isin(pass_b, (0.0, 1.0)).all())
    mde, mde_note = paired_mde(d, binary, level) if estimable else (None, "")
    return {"value": value, "ci_low": low, "ci_high": high, "p_holds": p_greater,
            "p_refutes": p_less, "estimable": estimable, "why": why, "mde": mde,
            "mde_note": mde_note, "d": d, "binary": binary}


def scope_verdict(test: dict, level: float = 0.95) -> str:
    """One scope's verdict without multiplicity correction (tables beside the claims):
    not estimable / holds / does not hold / inconclusive from the one-sided exact tests."""
    alpha = (1.0 - level) / 2.0
    if not test["estimable"]:
        return "not estimable"
    if test["p_holds"] <= alpha:
        return "holds"
    if test["p_refutes"] <= alpha:
        return "does not hold"
    return "inconclusive"


def crossover_of(base, rl, flips, level: float = 0.95):
    """stats.crossover.crossover for two count tables (aligned by problem_id)."""
    base, rl = _align(base, rl)
    return crossover(base["n"], base["c"], rl["n"], rl["c"], flips, level)


def benchmark_seed(seed: int, benchmark: str) -> int:
    """Seed for a benchmark's resample weights; stable across runs (unlike hash())."""
    digest = hashlib.sha256(f"{seed}:{benchmark}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def flip_seed(seed: int, benchmark: str) -> int:
    """Seed for a benchmark's sign flips (the Monte Carlo draws of the sign-flip tests)."""
    return benchmark_seed(seed, f"{benchmark}/sign-flips")


def _mean_pass(table: pd.DataFrame, k: int) -> float:
    return float(pass_at_k_matrix(table["n"], table["c"], [k]).mean())


def _row(claim, scope, metric, value=None, low=None, high=None, verdict=None, evidence="",
         **fields) -> dict:
    """A claims.json row (report.decision.scope_row). Without a verdict and without test
    p-values the verdict is read off the CI (:func:`verdict_from_ci`); rows with p-values get
    theirs from report.decision.decide."""
    tested = any(fields.get(name) is not None for name in ("p_holds", "p_refutes", "tests"))
    if verdict is None and not tested:
        verdict = verdict_from_ci(low, high)
    return scope_row(claim, scope, STATEMENTS[claim], metric, value, low, high, verdict,
                     evidence, **fields)


def _aggregate_row(claim, scope, metric, rows, pooled=None, pooled_what=None) -> dict:
    """A regime / overall row by the decision rule (report.decision.aggregate_row)."""
    extra = {} if pooled_what is None else {"pooled_what": pooled_what}
    return aggregate_row(claim, scope, STATEMENTS[claim], metric, rows, pooled, **extra)


def _p(value) -> str:
    return "n/a" if value is None else (f"{value:.2g}" if value < 0.001 else f"{value:.3f}")


def test_evidence(test: dict, favoured: str, other: str) -> str:
    """The scope test in words: one-sided exact p-values and the mde."""
    if not test["estimable"]:
        return f"not estimable: {test['why']}"
    name = "McNemar exact" if test["binary"] else "exact sign-flip"
    mde = (f"mde {test['mde']:.3f} ({test['mde_note']})" if test["mde"] is not None
           else f"no mde: {test['mde_note']}")
    return (f"{name} p({favoured} > {other}) {_p(test['p_holds'])}, "
            f"p({favoured} < {other}) {_p(test['p_refutes'])}; {mde}")


def _scope_fields(test: dict) -> dict:
    tested = test["estimable"]  # a non-estimable scope's p-values would say nothing
    return {"estimable": test["estimable"], "why": test["why"], "mde": test["mde"],
            "p_holds": test["p_holds"] if tested else None,
            "p_refutes": test["p_refutes"] if tested else None}


def _k_text(value, k_max) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    return f">{int(k_max)}" if value > k_max else f"{int(value)}"


def with_seed_spread(rows: list[dict], per_seed: pd.DataFrame, spread: pd.DataFrame) -> list[dict]:
    """C2 scope rows with the crossover's spread across the RL seeds of their family, regime
    and benchmark (analyses.regimes.crossover_spread) appended to their evidence."""
    fields = ["family", "regime", "benchmark"]
    out = []
    for row in rows:
        parts = dict(part.split("=", 1) for part in row["scope"].split("/") if "=" in part)
        key = tuple(parts.get(f) for f in fields)
        match = spread[(spread[fields] == pd.Series(dict(zip(fields, key)))).all(axis=1)] \
            if row["id"] == "C2" and None not in key and "model" not in parts else spread.iloc[:0]
        if match.empty:
            out.append(row)
            continue
        s = match.iloc[0]
        seeds = per_seed[(per_seed[fields] == pd.Series(dict(zip(fields, key)))).all(axis=1)]
        each = ", ".join(
            f"seed {int(r.rl_seed) if r.rl_seed == r.rl_seed else '?'} "
            f"{_k_text(r.crossover_k, r.k_max)} [{_k_text(r.crossover_ci_low, r.k_max)}, "
            f"{_k_text(r.crossover_ci_high, r.k_max)}]" for r in seeds.itertuples())
        spread_k = [("none" if v != v else f"{v:g}")
                    for v in (s.crossover_min, s.crossover_median, s.crossover_max)]
        text = (f"crossover across {int(s.n_seeds)} RL seeds: min {spread_k[0]}, median "
                f"{spread_k[1]}, max {spread_k[2]}; {int(s.n_no_crossover)} without a crossover, "
                f"{int(s.n_not_compared)} flat at every k ({each})")
        out.append({**row, "evidence": f"{row['evidence']}; {text}"})
    return out


def _pairs(models: pd.DataFrame, role: str):
    """(family, regime, model, parent, scope prefix) for every model of a role, sorted.

    When several models share a family and regime (checkpoints, algorithms) the
    model id is added to the scope so every row stays distinguishable.
    """
    if "study" in models:  # study models (algorithms, seeds, ...) have claims of their own
        models = models[models["study"].fillna("") == ""]
    chosen = models[models["role"] == role].sort_values(["family", "regime", "model"])
    group_sizes = chosen.groupby(["family", "regime"], dropna=False)["model"].transform("size")
    for (_, m), size in zip(chosen.iterrows(), group_sizes):
        prefix = f"family={m['family']}" + (f"/regime={m['regime']}" if role == "rl" else "")
        suffix = f"/model={m['model']}" if size > 1 else ""
        yield m["family"], m["regime"], m["model"], m["parent"], prefix, suffix


def evaluate_claims(counts: pd.DataFrame, models: pd.DataFrame, settings: dict) -> list[dict]:
    """Claim rows (report.markdown.CLAIM_FIELDS; verdicts by report.decision).

    C1: RL - base at k=1 per (family, regime, benchmark).
    C2: base - RL at k=n per (family, regime, benchmark), with the crossover.
    C7: distilled - base at k=n per (family, benchmark).
    Each has aggregate rows (per regime for C1/C2, overall for all; the overall row carries
    the claim's pooled effect as description); C3-C6 and C8 get an overall 'not computed'
    row naming the target that computes them (or settings' ``not_computed``: claim -> why).
    Only counts with settings' metric and temperature are used.
    """
    metric = settings.get("metric", "trace")
    temperature = float(settings.get("temperature", 1.0))
    n_resamples = int(settings.get("n_resamples", 2000))
    seed = int(settings.get("seed", 0))
    level = float(settings.get("ci_level", 0.95))

    selected = counts[
        (counts["metric"] == metric)
        & np.isclose(counts["temperature"].astype(float), temperature)
    ]
    tables = {key: t for key, t in selected.groupby(["model", "benchmark"], sort=True)}
    benchmarks = sorted(selected["benchmark"].unique())
    sizes = {b: selected.loc[selected["benchmark"] == b, "problem_id"].nunique()
             for b in benchmarks}
    weights = {b: bootstrap_weights(sizes[b], n_resamples, benchmark_seed(seed, b))
               for b in benchmarks}
    flips = {b: sign_flips(sizes[b], n_resamples, flip_seed(seed, b)) for b in benchmarks}
    setup = f"{n_resamples} problem-paired bootstrap resamples, T={temperature:g}"

    c1, c2, c7 = [], [], []
    pooled = {"C1": [], "C2": [], "C7": []}  # (benchmark, differences, ones) per estimable scope

    def scope(claim, scope_name, a_t, b_t, k, b, favoured, other, evidence):
        test = paired_scope_test(a_t, b_t, k, weights[b], flips[b], level)
        if test["estimable"]:
            pooled[claim].append((b, test["d"], np.ones_like(test["d"])))
        return _row(claim, scope_name, metric, test["value"], test["ci_low"], test["ci_high"],
                    evidence=f"{evidence}; {test_evidence(test, favoured, other)}",
                    **_scope_fields(test))

    for _family, regime, rl, base, prefix, suffix in _pairs(models, "rl"):
        for b in benchmarks:
            if (rl, b) not in tables or (base, b) not in tables:
                continue
            rl_t, base_t = tables[rl, b], tables[base, b]
            scope_name = f"{prefix}/benchmark={b}{suffix}"
            k_max = _largest_k(rl_t, base_t)
            about = f"{len(rl_t)} problems, {setup}"
            c1.append((regime, scope(
                "C1", scope_name, rl_t, base_t, 1, b, "RL", "base",
                f"pass@1 {rl} {_mean_pass(rl_t, 1):.3f} vs base {base} "
                f"{_mean_pass(base_t, 1):.3f}; {about}")))
            cross = crossover_text(crossover_of(base_t, rl_t, flips[b], level))
            c2.append((regime, scope(
                "C2", scope_name, base_t, rl_t, k_max, b, "base", "RL",
                f"pass@{k_max} base {base} {_mean_pass(base_t, k_max):.3f} vs {rl} "
                f"{_mean_pass(rl_t, k_max):.3f}; {cross}; {about}")))
    for _, _, distilled, base, prefix, suffix in _pairs(models, "distilled"):
        for b in benchmarks:
            if (distilled, b) not in tables or (base, b) not in tables:
                continue
            d_t, base_t = tables[distilled, b], tables[base, b]
            k_max = _largest_k(d_t, base_t)
            c7.append(scope(
                "C7", f"{prefix}/benchmark={b}{suffix}", d_t, base_t, k_max, b, "distilled",
                "base", f"pass@{k_max} {distilled} {_mean_pass(d_t, k_max):.3f} vs base {base} "
                f"{_mean_pass(base_t, k_max):.3f}; {len(d_t)} problems, {setup}"))

    def pooled_effect(claim):
        if not pooled[claim]:
            return None
        return stratified_ratio_ci(pooled[claim], weights, level, bounds=(-1.0, 1.0))

    what = {"C1": "RL - base pass@1", "C2": "base - RL pass@k_max",
            "C7": "distilled - base pass@k_max"}
    rows = []
    for claim, scoped in (("C1", c1), ("C2", c2)):  # scoped: (regime, row) pairs
        decide([r for _, r in scoped], level)
        rows += [r for _, r in scoped]
        for regime in sorted({g for g, _ in scoped}, key=str):
            in_regime = [r for g, r in scoped if g == regime]
            rows.append(_aggregate_row(claim, f"regime={regime}", metric, in_regime))
        rows.append(_aggregate_row(
            claim, "overall", metric, [r for _, r in scoped], pooled_effect(claim),
            f"{what[claim]} over the estimable scopes (problem-weighted, stratified by "
            "benchmark)"))
    elsewhere = {claim: f"computed by the {where}" for claim, where in COMPUTED_ELSEWHERE.items()}
    elsewhere |= settings.get("not_computed") or {}
    for claim in ("C3", "C4", "C5", "C6"):
        rows.append(_row(claim, "overall", metric, verdict="not computed",
                         evidence=elsewhere[claim]))
    rows += decide(c7, level)
    rows.append(_aggregate_row(
        "C7", "overall", metric, c7, pooled_effect("C7"),
        f"{what['C7']} over the estimable scopes (problem-weighted, stratified by benchmark)"))
    rows.append(_row("C8", "overall", metric, verdict="not computed",
                     evidence=elsewhere["C8"]))
    return rows
