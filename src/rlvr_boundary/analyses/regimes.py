"""The regime sweep (RL prompt-set breadth) and the crossover's spread across RL seeds.

docs/tiny_world.md: narrow RL data gave crossovers (base ahead at large k), broad RL data
gave RL >= base at every k. regime_table puts, per family, regime and benchmark,
the breadth beside base-minus-RL pass@k_max (paired CI), the solvable-set
counts and the C1/C2 verdicts for that scope, so no regime can hide.
crossover_spread answers "the crossover k moves with the seed": one crossover
(with CI) per RL seed of the seed study, and its min/median/max over seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..report.claims import _largest_k, _mean_pass, crossover_k, paired_difference, verdict_from_ci
from .coverage import (
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
    "crossover_ci_high",
]
SEED_COLUMNS = ["family", "regime", "benchmark", "model", "rl_seed", "k_max", "crossover_k",
                "crossover_ci_low", "crossover_ci_high", "crossed"]
SPREAD_COLUMNS = ["family", "regime", "benchmark", "k_max", "n_seeds", "n_no_crossover",
                  "crossover_min", "crossover_median", "crossover_max"]


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
    return selected, problems, benchmark_weights(problems, n_resamples, seed)


def regime_table(counts: pd.DataFrame, registry: pd.DataFrame, regime_prompts: dict[str, int],
                 metric: str, temperature: float, n_resamples: int, seed: int,
                 level: float = 0.95, study: str = "") -> pd.DataFrame:
    """One row per RL model of ``study`` and benchmark (REGIME_COLUMNS).

    breadth = regime_prompts[regime] (RL prompts); gap = pass@k_max(base) -
    pass@k_max(RL) with the paired CI; C1 = RL - base at k=1; crossover_k is NaN
    when there is none up to k_max (its CI counts such resamples as k_max + 1).
    """
    selected, problems, weights = _tables(counts, metric, temperature, n_resamples, seed)
    rows = []
    pairs = _rl_pairs(registry, study)
    unknown = sorted(set(pairs.regime) - set(regime_prompts))
    if unknown:
        raise ValueError(f"regimes {unknown} of {sorted(pairs.other_model[pairs.regime.isin(unknown)])} have no prompt "
                         f"count in regime_prompts {sorted(regime_prompts)}")
    for pair, benchmark, ids, base, rl in paired_counts(selected, pairs, problems):
        w = weights[benchmark]
        k_max = _largest_k(base, rl)
        pass1 = paired_difference(rl, base, 1, w, level)
        gap = paired_difference(base, rl, k_max, w, level)
        cross, cross_low, cross_high = crossover_k(base, rl, w, level)
        base_solved, rl_solved = base["c"].to_numpy() > 0, rl["c"].to_numpy() > 0
        rows.append((
            pair.family, pair.regime, pair.other_model, pair.base_model, benchmark,
            int(regime_prompts[pair.regime]), pair.step, k_max, len(ids),
            _mean_pass(rl, 1), _mean_pass(base, 1), *pass1, verdict_from_ci(*pass1[1:]),
            _mean_pass(base, k_max), _mean_pass(rl, k_max), *gap, verdict_from_ci(*gap[1:]),
            int((base_solved & rl_solved).sum()), int((base_solved & ~rl_solved).sum()),
            int((~base_solved & rl_solved).sum()), int((~base_solved & ~rl_solved).sum()),
            np.nan if cross is None else float(cross), cross_low, cross_high))
    table = pd.DataFrame(rows, columns=REGIME_COLUMNS)
    return table.sort_values(["family", "benchmark", "breadth", "regime", "model"],
                             kind="stable").reset_index(drop=True)


def crossover_spread(counts: pd.DataFrame, registry: pd.DataFrame, metric: str,
                     temperature: float, n_resamples: int, seed: int, level: float = 0.95,
                     study: str = "seeds"):
    """Crossover k per RL seed of ``study`` and its spread; returns (per_seed, summary).

    per_seed (SEED_COLUMNS): crossover_k NaN and crossed False when the base never
    catches up to k_max. summary (SPREAD_COLUMNS), per family/regime/benchmark:
    min, median and max crossover over the seeds that crossed (NaN if none did)
    and how many seeds had no crossover.
    """
    selected, problems, weights = _tables(counts, metric, temperature, n_resamples, seed)
    rows = []
    for pair, benchmark, ids, base, rl in paired_counts(selected, _rl_pairs(registry, study),
                                                        problems):
        cross, low, high = crossover_k(base, rl, weights[benchmark], level)
        rows.append((pair.family, pair.regime, benchmark, pair.other_model, pair.rl_seed,
                     _largest_k(base, rl), np.nan if cross is None else float(cross),
                     low, high, cross is not None))
    per_seed = pd.DataFrame(rows, columns=SEED_COLUMNS).sort_values(
        ["family", "regime", "benchmark", "rl_seed", "model"], kind="stable").reset_index(drop=True)
    summary = []
    for (family, regime, benchmark), group in per_seed.groupby(
            ["family", "regime", "benchmark"], sort=True):
        crossed = group.loc[group["crossed"], "crossover_k"]
        summary.append((family, regime, benchmark, int(group["k_max"].min()), len(group),
                        int((~group["crossed"]).sum()),
                        *((crossed.min(), crossed.median(), crossed.max()) if len(crossed)
                          else (np.nan, np.nan, np.nan))))
    return per_seed, pd.DataFrame(summary, columns=SPREAD_COLUMNS)
