"""The six-algorithm study (claim C6) and the training-length study.

Sampling-efficiency gap (the paper's dSE): pass@k_max(base) - pass@1(RL), lower is better.
Per problem it is pass@k_max_base(p) - pass@1_RL(p), so its mean over problems gets a
problem-paired bootstrap CI from the same weight matrix as every other comparison on the
benchmark.

C6 has two parts, each a verdict per benchmark:
- alike: the CI of every pairwise difference of pass@1 (and of dSE) lies inside
  [-margin, margin] -> holds; some CI lies wholly outside it -> does not hold; otherwise
  inconclusive. Overlapping CIs are not evidence of sameness; this is an equivalence test.
  With one shared base, dSE(a) - dSE(b) = pass@1(b) - pass@1(a): the two families of
  differences are the same numbers with opposite sign, so they get one verdict.
- far from optimal: every algorithm's dSE CI lies above `far_threshold` -> holds; some
  algorithm's CI lies below it -> does not hold; otherwise inconclusive.
"""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from ..report.claims import _aggregate_row, _row
from ..report.decision import decide
from .coverage import benchmark_problems, benchmark_weights, model_counts, select_counts
from ..stats.exact import POWER, ci_mde, ci_pvalue, normal_quantile, one_sided_alpha
from ..stats.intervals import mean_ci
from ..stats.passk import pass_at_k_matrix

GAP_COLUMNS = ["algorithm", "model", "benchmark", "k_max", "pass_at_1", "pass_at_1_ci_low",
               "pass_at_1_ci_high", "base_pass_at_k_max", "base_ci_low", "base_ci_high", "dse",
               "dse_ci_low", "dse_ci_high", "n_problems"]
LENGTH_COLUMNS = ["model", "step", "benchmark", "k_max", "pass_at_1", "pass_at_1_ci_low",
                  "pass_at_1_ci_high", "pass_at_k_max", "pass_at_k_max_ci_low",
                  "pass_at_k_max_ci_high", "n_problems"]


def _benchmark_frames(counts, metric: str, temperature: float, models: dict[str, str], base: str,
                      n_resamples: int, seed: int):
    """Per benchmark with the base and every model: weights (the shared per-benchmark
    matrix) and the per-problem tables of base and models, in problem_id order."""
    selected = select_counts(counts, metric, temperature)
    problems = benchmark_problems(selected)
    weights = benchmark_weights(problems, n_resamples, seed)
    for benchmark, problem_ids in problems.items():
        present = set(selected.loc[selected.benchmark == benchmark, "model"])
        if base not in present or not set(models.values()) <= present:
            continue
        tables = {name: model_counts(selected, model, benchmark, problem_ids)
                  for name, model in models.items()}
        yield (benchmark, weights[benchmark], model_counts(selected, base, benchmark, problem_ids),
               tables)


def sampling_efficiency_gap(counts: pd.DataFrame, algorithms: dict[str, str], base: str,
                            metric: str, temperature: float, n_resamples: int, seed: int,
                            level: float = 0.95) -> pd.DataFrame:
    """One row per algorithm and benchmark: pass@1, the base's pass@k_max and dSE with CIs.

    ``algorithms`` maps algorithm name -> model id; k_max is the largest k defined for the
    base and every algorithm on the benchmark.
    """
    rows = []
    for benchmark, weights, base_t, tables in _benchmark_frames(counts, metric, temperature,
                                                                 algorithms, base, n_resamples,
                                                                 seed):
        k_max = int(min(base_t.n.min(), *(t.n.min() for t in tables.values())))
        base_k = pass_at_k_matrix(base_t.n, base_t.c, [k_max])[:, 0]
        base_ci = mean_ci(base_k, weights, level, bounds=(0.0, 1.0))
        for name, table in tables.items():
            pass_1 = pass_at_k_matrix(table.n, table.c, [1])[:, 0]
            rows.append((name, algorithms[name], benchmark, k_max,
                         *mean_ci(pass_1, weights, level, bounds=(0.0, 1.0)), *base_ci,
                         *mean_ci(base_k - pass_1, weights, level, bounds=(-1.0, 1.0)),
                         len(base_t)))
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


def pairwise_differences(counts: pd.DataFrame, algorithms: dict[str, str], base: str,
                         metric: str, temperature: float, n_resamples: int, seed: int,
                         level: float = 0.95) -> pd.DataFrame:
    """pass@1(a) - pass@1(b) with a paired CI for every pair of algorithms and benchmark."""
    rows = []
    for benchmark, weights, _, tables in _benchmark_frames(counts, metric, temperature,
                                                           algorithms, base, n_resamples, seed):
        pass_1 = {name: pass_at_k_matrix(t.n, t.c, [1])[:, 0] for name, t in tables.items()}
        for a, b in combinations(sorted(pass_1), 2):
            rows.append((benchmark, a, b, *mean_ci(pass_1[a] - pass_1[b], weights, level,
                                                   bounds=(-1.0, 1.0))))
    return pd.DataFrame(rows, columns=["benchmark", "algorithm_a", "algorithm_b", "difference",
                                       "ci_low", "ci_high"])


def alike_verdict(differences: pd.DataFrame, margin: float) -> str:
    """Equivalence within +-margin for every pairwise difference (see the module doc)."""
    if differences.empty:
        return "not computed"
    inside = (differences.ci_low >= -margin) & (differences.ci_high <= margin)
    outside = (differences.ci_low > margin) | (differences.ci_high < -margin)
    if inside.all():
        return "holds"
    if outside.any():
        return "does not hold"
    return "inconclusive"


def far_verdict(gaps: pd.DataFrame, threshold: float) -> str:
    if gaps.empty:
        return "not computed"
    if (gaps.dse_ci_low > threshold).all():
        return "holds"
    if (gaps.dse_ci_high < threshold).any():
        return "does not hold"
    return "inconclusive"


def _edge(values, at: float) -> bool:
    return len(values) > 0 and all(float(v) == at for v in values)


def _alike_tests(diffs: pd.DataFrame, margin: float, level: float):
    """Per pair: p of "inside +-margin" (the larger of the two one-sided p-values, TOST) and
    p of "outside" (the smaller), read off the pair's CI (stats.exact.ci_pvalue)."""
    holds, refutes = [], []
    for r in diffs.itertuples():
        holds.append(max(ci_pvalue(r.difference, r.ci_low, r.ci_high, -margin, "above", level),
                         ci_pvalue(r.difference, r.ci_low, r.ci_high, margin, "below", level)))
        refutes.append(min(ci_pvalue(r.difference, r.ci_low, r.ci_high, margin, "above", level),
                           ci_pvalue(r.difference, r.ci_low, r.ci_high, -margin, "below",
                                     level)))
    return holds, refutes


def c6_rows(gaps: pd.DataFrame, differences: pd.DataFrame, family: str, regime: str,
            margin: float, threshold: float, metric: str, level: float = 0.95) -> list[dict]:
    """C6 rows per benchmark and part (alike, far), plus the overall row.

    Verdicts by report.decision: a part holds as alike_verdict / far_verdict say (every
    pair's CI inside +-margin; every algorithm's dSE CI above the threshold); it refutes
    when a pair (an algorithm) is outside after Holm's correction over every pair and
    every algorithm of every benchmark, with p-values read off the CIs. Not estimable where
    every algorithm (and, for far, the base) is at 0 on every problem, or all at 1.
    mde: alike, the smallest margin the widest pair could show with 80% power were the two
    algorithms equal, (z_(1-a) + z_0.9) SE; far, the smallest distance above the threshold
    the algorithm with the widest lower half detects with 80% power.
    """
    rows = []
    prefix = f"family={family}/regime={regime}"
    z_a = normal_quantile(1.0 - one_sided_alpha(level))
    for benchmark in sorted(gaps.benchmark.unique()):
        on_b = gaps[gaps.benchmark == benchmark]
        diffs = differences[differences.benchmark == benchmark]
        widest = diffs.loc[(diffs.ci_high - diffs.ci_low).idxmax()] if len(diffs) else None
        largest = diffs.loc[diffs.difference.abs().idxmax()] if len(diffs) else None
        alike_evidence = (
            f"{len(diffs)} pairs; pass@1 {', '.join(f'{r.algorithm} {r.pass_at_1:.3f}' for r in on_b.itertuples())}; "
            f"largest |difference| {largest.algorithm_a} - {largest.algorithm_b} "
            f"{largest.difference:+.3f} [{largest.ci_low:+.3f}, {largest.ci_high:+.3f}]; widest CI "
            f"{widest.algorithm_a} - {widest.algorithm_b} [{widest.ci_low:+.3f}, {widest.ci_high:+.3f}]; "
            f"margin {margin:g} (dSE differences are the same numbers, sign flipped)"
        ) if len(diffs) else "fewer than two algorithms"
        alike_scope = f"{prefix}/benchmark={benchmark}/part=alike"
        value = largest.difference if largest is not None else None
        if len(diffs) == 0:
            rows.append(_row("C6", alike_scope, metric, value, evidence=alike_evidence,
                             estimable=False, why="fewer than two algorithms"))
        elif _edge(on_b.pass_at_1, 0.0) or _edge(on_b.pass_at_1, 1.0):
            at = "0" if _edge(on_b.pass_at_1, 0.0) else "1"
            why = f"every algorithm at {at} on every problem (pass@1)"
            rows.append(_row("C6", alike_scope, metric, value, evidence=f"{alike_evidence}; "
                             f"not estimable: {why}", estimable=False, why=why))
        else:
            holds, refutes = _alike_tests(diffs, margin, level)
            se = float((diffs.ci_high - diffs.ci_low).max()) / (2.0 * z_a)
            mde = (z_a + normal_quantile(1.0 - (1.0 - POWER) / 2.0)) * se
            rows.append(_row("C6", alike_scope, metric, value, evidence=(
                f"{alike_evidence}; p(every pair inside) {max(holds):.3f}, smallest p(a pair "
                f"outside) {min(refutes):.3f} (normal approximations from the CIs); "
                f"mde (smallest margin shown with {POWER:.0%} power) {mde:.3f}"),
                mde=mde, p_holds=max(holds), p_refutes=min(refutes), tests=refutes))
        k_max = int(on_b.k_max.iloc[0])
        lowest = on_b.loc[on_b.dse_ci_low.idxmin()]
        far_evidence = (
            f"dSE = base pass@{k_max} {lowest.base_pass_at_k_max:.3f} - pass@1; "
            + ", ".join(f"{r.algorithm} {r.dse:.3f} [{r.dse_ci_low:.3f}, {r.dse_ci_high:.3f}]"
                        for r in on_b.itertuples())
            + f"; threshold {threshold:g}; value/CI shown: the algorithm with the lowest CI end")
        far_scope = f"{prefix}/benchmark={benchmark}/part=far"
        levels = list(on_b.pass_at_1) + list(on_b.base_pass_at_k_max)
        if _edge(levels, 0.0) or _edge(levels, 1.0):
            at = "0" if _edge(levels, 0.0) else "1"
            why = f"the base (pass@{k_max}) and every algorithm (pass@1) at {at} on every problem"
            rows.append(_row("C6", far_scope, metric, lowest.dse, lowest.dse_ci_low,
                             lowest.dse_ci_high, evidence=f"{far_evidence}; not estimable: {why}",
                             estimable=False, why=why))
        else:
            holds = [ci_pvalue(r.dse, r.dse_ci_low, r.dse_ci_high, threshold, "above", level)
                     for r in on_b.itertuples()]
            refutes = [ci_pvalue(r.dse, r.dse_ci_low, r.dse_ci_high, threshold, "below", level)
                       for r in on_b.itertuples()]
            mde = ci_mde(float((on_b.dse - on_b.dse_ci_low).max()), level)
            rows.append(_row(
                "C6", far_scope, metric, lowest.dse, lowest.dse_ci_low, lowest.dse_ci_high,
                evidence=f"{far_evidence}; p(every dSE > {threshold:g}) {max(holds):.3f}, "
                f"smallest p(a dSE < {threshold:g}) {min(refutes):.3f} (normal approximations "
                f"from the CIs); mde {mde:.3f}",
                mde=mde, p_holds=max(holds), p_refutes=min(refutes), tests=refutes))
    decide(rows, level)  # Holm over every pair and every algorithm of every benchmark
    for part in ("alike", "far"):
        scoped = [r for r in rows if r["scope"].endswith(f"part={part}")]
        rows.append(_aggregate_row("C6", f"part={part}", metric, scoped))
    return rows + [_aggregate_row("C6", "overall", metric,
                                  [r for r in rows if "/part=" in r["scope"]])]


def training_length_table(counts: pd.DataFrame, checkpoints: dict[str, int], base: str,
                          metric: str, temperature: float, n_resamples: int, seed: int,
                          level: float = 0.95) -> pd.DataFrame:
    """pass@1 and pass@k_max with CIs of one run at each checkpoint (model -> step) and of
    its base (step 0)."""
    models = {**{base: base}, **{m: m for m in checkpoints}}
    steps = {base: 0, **checkpoints}
    rows = []
    for benchmark, weights, _, tables in _benchmark_frames(counts, metric, temperature, models,
                                                           base, n_resamples, seed):
        k_max = int(min(t.n.min() for t in tables.values()))
        for model, table in sorted(tables.items(), key=lambda item: steps[item[0]]):
            per_problem = pass_at_k_matrix(table.n, table.c, [1, k_max])
            point, low, high = mean_ci(per_problem, weights, level, bounds=(0.0, 1.0))
            rows.append((model, steps[model], benchmark, k_max, point[0], low[0], high[0],
                         point[1], low[1], high[1], len(table)))
    return pd.DataFrame(rows, columns=LENGTH_COLUMNS)
