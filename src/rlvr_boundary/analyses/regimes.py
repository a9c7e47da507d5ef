"""The regime sweep (RL prompt-set breadth) and the crossover's spread across RL seeds.

docs/tiny_world.md: narrow RL data gave crossovers (base ahead at large k), broad RL data
gave RL >= base at every k. regime_table puts, per family, regime and benchmark,
the breadth beside base-minus-RL pass@k_max (paired CI), the solvable-set
counts and the C1/C2 verdicts for that scope (one-sided exact tests, no multiplicity
correction: claims.md applies Holm), so no regime can hide.
crossover_spread answers "the crossover k moves with the seed": one crossover
(stats.crossover: first lead change with its simultaneous CI, every lead change, and the
k where either model is significantly ahead) per RL seed of the seed study, and its
min/median/max over the seeds whose curves are compared at all (curves flat at 0 or 1 at
every k are counted apart, never as a crossover at k=1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..report.claims import (
    _largest_k,
    _mean_pass,
    crossover_of,
    paired_scope_test,
    scope_verdict,
)
from ..stats.crossover import ranges
from .coverage import (
    benchmark_flips,
    benchmark_problems,
    benchmark_weights,
    model_pairs,
    paired_counts,
    select_counts,
)

REGIME_COLUMNS = [
    "family", "regime", "model", "base_model", "benchmark", "breadth", "step", "k_max",
    "n_problems", "pass1_rl", "pass1_base", "pass1_diff", "pass1_ci_low", "pass1_ci_high",
    "c1_verdict", "passk_base", "passk_rl", "gap", "gap_ci_low", "gap_ci_high", "c2_verdict",
    "both", "base_only", "rl_only", "neither", "crossover_k", "crossover_ci_low",
    "crossover_ci_high", "rl_ahead_k", "base_ahead_k",
]
SEED_COLUMNS = ["family", "regime", "benchmark", "model", "rl_seed", "k_max", "crossover_k",
                "crossover_ci_low", "crossover_ci_high", "crossed", "compared", "lead_changes",
                "rl_ahead_k", "base_ahead_k"]
SPREAD_COLUMNS = ["family", "regime", "benchmark", "k_max", "n_seeds", "n_not_compared",
                  "n_no_crossover", "crossover_min", "crossover_median", "crossover_max"]


def _lead_changes(cross) -> str:
    """"RL@1;base@9;RL@200": who leads from which k (the first entry is the start)."""
    return ";".join(f"{who}@{k}" for k, who in cross.lead_changes)


def _rl_pairs(registry: pd.DataFrame, study: str) -> pd.DataFrame:
    pairs = model_pairs(registry, ("rl",))
    pairs = pairs[pairs["study"] == study]
    extra = registry.set_index("model").reindex(pairs["other_model"])
    pairs = pairs.assign(
        step=pd.to_numeric(extra.get("step", pd.Series(index=extra.index, dtype=float)),
                           errors="coerce").to_numpy(),
        rl_seed=pd.to_numeric(extra.get("rl_seed", pd.Series(index=extra.index, dtype=float)),
                              errors="coerce").to_numpy())
    return pairs.reset_index(drop=True)


def _tables(counts, metric, temperature, n_resamples, seed):
    selected = select_counts(counts, metric, temperature)
    problems = benchmark_problems(selected)
    return (selected, problems, benchmark_weights(problems, n_resamples, seed),
            benchmark_flips(problems, n_resamples, seed))


def regime_table(counts: pd.DataFrame, registry: pd.DataFrame, regime_prompts: dict[str, int],
                 metric: str, temperature: float, n_resamples: int, seed: int,
                 level: float = 0.95, study: str = "") -> pd.DataFrame:
    """One row per RL model of ``study`` and benchmark (REGIME_COLUMNS).

    breadth = regime_prompts[regime] (RL prompts); gap = pass@k_max(base) -
    pass@k_max(RL) with the paired CI; C1 = RL - base at k=1; c1/c2_verdict from the
    scope's one-sided exact tests (claims.scope_verdict, "not estimable" where both models
    are at 0 or both at 1 on every problem); crossover_k is the first lead change to the base
    (NaN when the base never leads, or the curves are flat at every k) with its simultaneous
    CI (k_max + 1 = beyond k_max); rl_ahead_k / base_ahead_k: where either model is
    significantly ahead (stats.crossover).
    """
    selected, problems, weights, flips = _tables(counts, metric, temperature, n_resamples, seed)
    rows = []
    pairs = _rl_pairs(registry, study)
    unknown = sorted(set(pairs.regime) - set(regime_prompts))
    if unknown:
        raise ValueError(f"regimes {unknown} of {sorted(pairs.other_model[pairs.regime.isin(unknown)])} have no prompt "
                         f"count in regime_prompts {sorted(regime_prompts)}")
    for pair, benchmark, ids, base, rl in paired_counts(selected, pairs, problems):
        w, f = weights[benchmark], flips[benchmark]
        k_max = _largest_k(base, rl)
        pass1 = paired_scope_test(rl, base, 1, w, f, level)
        gap = paired_scope_test(base, rl, k_max, w, f, level)
        cross = crossover_of(base, rl, f, level)
        base_solved, rl_solved = base["c"].to_numpy() > 0, rl["c"].to_numpy() > 0
        rows.append((
            pair.family, pair.regime, pair.other_model, pair.base_model, benchmark,
            int(regime_prompts[pair.regime]), pair.step, k_max, len(ids),
            _mean_pass(rl, 1), _mean_pass(base, 1), pass1["value"], pass1["ci_low"],
            pass1["ci_high"], scope_verdict(pass1, level),
            _mean_pass(base, k_max), _mean_pass(rl, k_max), gap["value"], gap["ci_low"],
            gap["ci_high"], scope_verdict(gap, level),
            int((base_solved & rl_solved).sum()), int((base_solved & ~rl_solved).sum()),
            int((~base_solved & rl_solved).sum()), int((~base_solved & ~rl_solved).sum()),
            np.nan if cross.point is None else float(cross.point), float(cross.ci_low),
            float(cross.ci_high), ranges(cross.rl_ahead), ranges(cross.base_ahead)))
    table = pd.DataFrame(rows, columns=REGIME_COLUMNS)
    return table.sort_values(["family", "benchmark", "breadth", "regime", "model"],
                             kind="stable").reset_index(drop=True)


def crossover_spread(counts: pd.DataFrame, registry: pd.DataFrame, metric: str,
                     temperature: float, n_resamples: int, seed: int, level: float = 0.95,
                     study: str = "seeds"):
    """Crossover k per RL seed of ``study`` and its spread; returns (per_seed, summary).

    per_seed (SEED_COLUMNS): crossover_k (first k where the base leads) NaN and crossed
    False when the base never leads up to k_max; compared False when both curves are flat
    (at 0 or at 1) at every k; lead_changes ("RL@1;base@9"), rl_ahead_k and base_ahead_k
    (where either is significantly ahead, simultaneously over k) as text. summary
    (SPREAD_COLUMNS), per family/regime/benchmark: min, median and max crossover over the
    seeds that crossed (NaN if none did), how many compared seeds had no crossover and how
    many were not compared at all.
    """
    selected, problems, _, flips = _tables(counts, metric, temperature, n_resamples, seed)
    rows = []
    for pair, benchmark, _ids, base, rl in paired_counts(selected, _rl_pairs(registry, study),
                                                        problems):
        cross = crossover_of(base, rl, flips[benchmark], level)
        rows.append((pair.family, pair.regime, benchmark, pair.other_model, pair.rl_seed,
                     _largest_k(base, rl), np.nan if cross.point is None else float(cross.point),
                     float(cross.ci_low), float(cross.ci_high), cross.point is not None,
                     cross.compared, _lead_changes(cross), ranges(cross.rl_ahead),
                     ranges(cross.base_ahead)))
    per_seed = pd.DataFrame(rows, columns=SEED_COLUMNS).sort_values(
        ["family", "regime", "benchmark", "rl_seed", "model"], kind="stable").reset_index(drop=True)
    summary = []
    for (family, regime, benchmark), group in per_seed.groupby(
            ["family", "regime", "benchmark"], sort=True):
        crossed = group.loc[group["crossed"], "crossover_k"]
        compared = group["compared"].astype(bool)
        summary.append((family, regime, benchmark, int(group["k_max"].min()), len(group),
                        int((~compared).sum()), int((compared & ~group["crossed"]).sum()),
                        *((crossed.min(), crossed.median(), crossed.max()) if len(crossed)
                          else (np.nan, np.nan, np.nan))))
    return per_seed, pd.DataFrame(summary, columns=SPREAD_COLUMNS)
