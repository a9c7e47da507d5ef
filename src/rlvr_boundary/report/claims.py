"""Claim rows and verdicts (C1-C8, STATEMENTS below) from per-problem correct counts.

Inputs are plain frames:
  counts: model, benchmark, temperature, metric, problem_id, n, c  (one row per problem)
  models: model, family, role, parent, algorithm, step, regime, source, revision_or_sha256

Every comparison is a mean over problems of the unbiased pass@k with a
problem-paired percentile-bootstrap CI: one resample-weight matrix per
benchmark, shared by every model, so model A and model B are always compared
on the same resampled problem sets. Weight columns follow problem_id order.

Verdict rule for a difference D with CI [low, high]: holds if low > 0,
does not hold if high < 0, otherwise inconclusive.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from rlvr_boundary.stats.passk import bootstrap_mean_ci, bootstrap_weights, pass_at_k_matrix

VERDICTS = ("holds", "does not hold", "inconclusive", "not computed")

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
    "C3": "boundary analyses, issue #4 (target `boundary`)",
    "C4": "boundary analyses, issue #4 (target `boundary`)",
    "C5": "boundary analyses, issue #4 (target `boundary`)",
    "C6": "six-algorithm study, issue #3 (target `algorithms`)",
    "C8": "boundary analyses, issue #4 (target `boundary`)",
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


def aggregate_verdicts(verdicts) -> str:
    """A claim over many scopes holds only if it holds in every scope.

    Any 'does not hold' refutes it; otherwise it is inconclusive; no scopes at
    all means it was not computed.
    """
    verdicts = list(verdicts)
    if not verdicts:
        return "not computed"
    if all(v == "holds" for v in verdicts):
        return "holds"
    if any(v == "does not hold" for v in verdicts):
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
    return bootstrap_mean_ci(per_problem, weights, level)


def crossover_k(base, rl, weights, level: float = 0.95):
    """Smallest integer k in 1..n with mean pass@k(base) >= mean pass@k(RL).

    n is the largest k defined for both models. Returns (k or None, ci_low,
    ci_high); the CI is the percentile interval of the crossover over the
    bootstrap resamples, where a resample without a crossover counts as n + 1.
    """
    base, rl = _align(base, rl)
    k_max = _largest_k(base, rl)
    ks = np.arange(1, k_max + 1)
    # Differences per problem for every k; ties (both 0 or both 1) are exact zeros.
    diff = pass_at_k_matrix(base["n"], base["c"], ks) - pass_at_k_matrix(rl["n"], rl["c"], ks)
    n_problems = diff.shape[0]

    def first_k(mean_diff):  # mean_diff: (..., K) -> first k with base >= RL, else k_max + 1
        crossed = mean_diff >= 0
        return np.where(crossed.any(axis=-1), crossed.argmax(axis=-1) + 1, k_max + 1)

    point = int(first_k(diff.mean(axis=0)))
    per_resample = first_k(np.asarray(weights) @ diff / n_problems)
    tail = (1.0 - level) / 2.0
    # The crossover is an integer: take interval ends from the resamples themselves.
    low = np.quantile(per_resample, tail, method="lower")
    high = np.quantile(per_resample, 1.0 - tail, method="higher")
    return (point if point <= k_max else None), float(low), float(high)


def benchmark_seed(seed: int, benchmark: str) -> int:
    """Seed for a benchmark's resample weights; stable across runs (unlike hash())."""
    digest = hashlib.sha256(f"{seed}:{benchmark}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _fmt_k(value: float, k_max: int) -> str:
    return f">{k_max}" if value > k_max else f"{value:g}"


def _crossover_text(base, rl, weights, level) -> str:
    k, low, high = crossover_k(base, rl, weights, level)
    k_max = _largest_k(base, rl)
    ci = f"[{level:.0%} CI {_fmt_k(low, k_max)}, {_fmt_k(high, k_max)}]"
    if k is None:
        return f"no crossover up to n={k_max} {ci}"
    if not (base["c"].any() or rl["c"].any()):
        return "neither model has a correct sample: no crossover to speak of"
    if k == 1:
        return f"base >= RL already at k=1 (RL never ahead) {ci}"
    return f"crossover k={k} {ci}"


def _mean_pass(table: pd.DataFrame, k: int) -> float:
    return float(pass_at_k_matrix(table["n"], table["c"], [k]).mean())


def _row(claim, scope, metric, value=None, low=None, high=None, verdict=None, evidence=""):
    return {
        "id": claim,
        "scope": scope,
        "statement": STATEMENTS[claim],
        "metric": metric,
        "value": None if value is None else float(value),
        "ci_low": None if low is None else float(low),
        "ci_high": None if high is None else float(high),
        "verdict": verdict if verdict is not None else verdict_from_ci(low, high),
        "evidence": evidence,
    }


def _aggregate_row(claim, scope, metric, rows) -> dict:
    verdicts = [r["verdict"] for r in rows]
    tally = ", ".join(f"{sum(v == name for v in verdicts)} {name}" for name in VERDICTS
                      if name != "not computed" or name in verdicts)
    evidence = f"{len(rows)} scopes: {tally}" if rows else "no model pair with counts"
    return _row(claim, scope, metric, verdict=aggregate_verdicts(verdicts), evidence=evidence)


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
    """Claim rows {id, scope, statement, metric, value, ci_low, ci_high, verdict, evidence}.

    C1: RL - base at k=1 per (family, regime, benchmark).
    C2: base - RL at k=n per (family, regime, benchmark), with the crossover k.
    C7: distilled - base at k=n per (family, benchmark).
    Each has aggregate rows (per regime for C1/C2, overall for all); C3-C6 and
    C8 get an overall 'not computed' row naming the target that computes them (or
    settings' ``not_computed``: claim -> why).
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
    weights = {
        b: bootstrap_weights(
            selected.loc[selected["benchmark"] == b, "problem_id"].nunique(),
            n_resamples,
            benchmark_seed(seed, b),
        )
        for b in benchmarks
    }
    setup = f"{n_resamples} problem-paired bootstrap resamples, T={temperature:g}"

    c1, c2, c7 = [], [], []
    for family, regime, rl, base, prefix, suffix in _pairs(models, "rl"):
        for b in benchmarks:
            if (rl, b) not in tables or (base, b) not in tables:
                continue
            rl_t, base_t, w = tables[rl, b], tables[base, b], weights[b]
            scope = f"{prefix}/benchmark={b}{suffix}"
            k_max = _largest_k(rl_t, base_t)
            about = f"{len(rl_t)} problems, {setup}"
            c1.append((regime, _row(
                "C1", scope, metric, *paired_difference(rl_t, base_t, 1, w, level),
                evidence=f"pass@1 {rl} {_mean_pass(rl_t, 1):.3f} vs base {base} "
                f"{_mean_pass(base_t, 1):.3f}; {about}",
            )))
            c2.append((regime, _row(
                "C2", scope, metric, *paired_difference(base_t, rl_t, k_max, w, level),
                evidence=f"pass@{k_max} base {base} {_mean_pass(base_t, k_max):.3f} vs {rl} "
                f"{_mean_pass(rl_t, k_max):.3f}; "
                f"{_crossover_text(base_t, rl_t, w, level)}; {about}",
            )))
    for family, _, distilled, base, prefix, suffix in _pairs(models, "distilled"):
        for b in benchmarks:
            if (distilled, b) not in tables or (base, b) not in tables:
                continue
            d_t, base_t = tables[distilled, b], tables[base, b]
            k_max = _largest_k(d_t, base_t)
            c7.append(_row(
                "C7", f"{prefix}/benchmark={b}{suffix}", metric,
                *paired_difference(d_t, base_t, k_max, weights[b], level),
                evidence=f"pass@{k_max} {distilled} {_mean_pass(d_t, k_max):.3f} vs base {base} "
                f"{_mean_pass(base_t, k_max):.3f}; {len(d_t)} problems, {setup}",
            ))

    rows = []
    for claim, scoped in (("C1", c1), ("C2", c2)):  # scoped: (regime, row) pairs
        rows += [r for _, r in scoped]
        for regime in sorted({g for g, _ in scoped}, key=str):
            in_regime = [r for g, r in scoped if g == regime]
            rows.append(_aggregate_row(claim, f"regime={regime}", metric, in_regime))
        rows.append(_aggregate_row(claim, "overall", metric, [r for _, r in scoped]))
    elsewhere = {claim: f"computed by the {where}" for claim, where in COMPUTED_ELSEWHERE.items()}
    elsewhere |= settings.get("not_computed") or {}
    for claim in ("C3", "C4", "C5", "C6"):
        rows.append(_row(claim, "overall", metric, verdict="not computed",
                         evidence=elsewhere[claim]))
    rows += c7
    rows.append(_aggregate_row("C7", "overall", metric, c7))
    rows.append(_row("C8", "overall", metric, verdict="not computed",
                     evidence=elsewhere["C8"]))
    return rows
