"""Does C2 survive other sampling temperatures? (the paper's Fig. 16-17 analog)

RL sharpens the distribution, so comparing base and RL at one temperature compares a
diverse sampler with a peaked one. Two views, each as base-minus-RL pass@k_max with a
problem-paired CI and the crossover k:
- same temperature: base at T vs RL at T, for every T of the study;
- entropy-matched: the base at the reference temperature vs the RL model at the temperature
  whose mean token entropy (on its own samples) is closest to the base's.

The crossover is the claims' (stats.crossover): the first k where the base leads (k where
both curves are at 0, or both at 1, are not compared), every lead change, and the k where
either model is significantly ahead simultaneously over all k, with the interval that
follows (k_max + 1 = the base is never significantly ahead).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..report.claims import benchmark_seed, crossover_of, flip_seed, paired_difference
from ..stats.crossover import ranges
from ..stats.exact import sign_flips
from ..stats.passk import bootstrap_weights, pass_at_k_matrix
from .perplexity import match_entropy
from .regimes import _lead_changes
from ..report.plots import plot_curves

TEMPERATURE_COLUMNS = ["family", "benchmark", "rl_model", "base_model", "comparison",
                       "base_temperature", "rl_temperature", "base_entropy", "rl_entropy",
                       "base_pass_at_1", "rl_pass_at_1", "k_max", "gap_k_max", "gap_ci_low",
                       "gap_ci_high", "crossover_k", "crossover_ci_low", "crossover_ci_high",
                       "lead_changes", "rl_ahead_k", "base_ahead_k", "flat_k"]
BASE_STYLES = ["--", "-", ":", "-."]


def _table(counts, model, benchmark, temperature):
    chosen = counts[(counts.model == model) & (counts.benchmark == benchmark)
                    & np.isclose(counts.temperature.astype(float), temperature)]
    if chosen.empty:
        raise ValueError(f"no counts for {model} on {benchmark} at T={temperature}")
    return chosen


def _entropy_of(entropy, model, benchmark, temperature) -> float:
    row = entropy[(entropy.model == model) & (entropy.benchmark == benchmark)
                  & np.isclose(entropy.temperature, temperature)]
    return float(row.mean_entropy.iloc[0]) if len(row) else float("nan")


def temperature_table(counts: pd.DataFrame, entropy: pd.DataFrame, base_of: dict[str, str],
                      temperatures: list[float], reference_temperature: float, metric: str,
                      n_resamples: int, seed: int, level: float = 0.95) -> pd.DataFrame:
    """Rows for every RL model (``base_of``: RL model -> base) and benchmark of ``entropy``:
    one per temperature (same temperature) and one entropy-matched."""
    counts = counts[counts.metric == metric]
    matched = match_entropy(entropy, base_of, reference_temperature, by=["benchmark"])
    rows = []
    for benchmark in sorted(entropy.benchmark.unique()):
        n_problems = counts.loc[counts.benchmark == benchmark, "problem_id"].nunique()
        weights = bootstrap_weights(n_problems, n_resamples, benchmark_seed(seed, benchmark))
        flips = sign_flips(n_problems, n_resamples, flip_seed(seed, benchmark))
        for rl, base in sorted(base_of.items()):
            pick = matched[(matched.model == rl) & (matched.benchmark == benchmark)]
            plans = [("same temperature", t, t) for t in temperatures]
            plans.append(("entropy-matched", reference_temperature, float(pick.temperature.iloc[0])))
            for comparison, base_t, rl_t in plans:
                base_c = _table(counts, base, benchmark, base_t)
                rl_c = _table(counts, rl, benchmark, rl_t)
                k_max = int(min(base_c.n.min(), rl_c.n.min()))
                gap = paired_difference(base_c, rl_c, k_max, weights, level)
                cross = crossover_of(base_c, rl_c, flips, level)
                rows.append((
                    rl.split("-", 1)[0], benchmark, rl, base, comparison, base_t, rl_t,
                    _entropy_of(entropy, base, benchmark, base_t),
                    _entropy_of(entropy, rl, benchmark, rl_t),
                    float(pass_at_k_matrix(base_c.n, base_c.c, [1]).mean()),
                    float(pass_at_k_matrix(rl_c.n, rl_c.c, [1]).mean()), k_max, *gap,
                    np.nan if cross.point is None else float(cross.point), float(cross.ci_low),
                    float(cross.ci_high), _lead_changes(cross),
                    ranges(cross.rl_ahead), ranges(cross.base_ahead), ranges(cross.flat)))
    return pd.DataFrame(rows, columns=TEMPERATURE_COLUMNS)


def plot_temperature_curves(passk: pd.DataFrame, models: list[str], temperatures: list[float],
                            metric: str, benchmark_labels: dict[str, str], title: str):
    """pass@k of each model at each temperature; one colour per model, a line style per T."""
    colours = ["black", "tab:red", "tab:orange", "tab:purple"]
    # plot_curves draws one temperature: tag each (model, temperature) as a model of its own.
    tagged, curves = [], []
    for i, model in enumerate(models):
        for j, t in enumerate(temperatures):
            rows = passk[(passk.model == model) & np.isclose(passk.temperature, t)]
            tagged.append(rows.assign(model=f"{model}@{t:g}", temperature=0.0))
            curves.append((f"{model}@{t:g}", f"{model} T={t:g}", colours[i % len(colours)],
                           BASE_STYLES[j % len(BASE_STYLES)]))
    table = pd.concat(tagged, ignore_index=True)
    return plot_curves(table, curves, metric, 0.0, benchmark_labels, title)
