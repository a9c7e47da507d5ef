"""The long pass@k table: every model x benchmark x temperature x metric x k, with CIs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..report.claims import benchmark_seed
from ..grading.counting import check_counts
from .intervals import mean_ci
from .passk import bootstrap_weights, k_grid, pass_at_k_matrix

PASSK_COLUMNS = ["model", "benchmark", "temperature", "metric", "k", "pass_at_k", "ci_low",
                 "ci_high", "n_samples", "n_problems"]
GROUP = ["model", "benchmark", "temperature", "metric"]


def passk_table(counts: pd.DataFrame, ks: list[int], n_resamples: int, seed: int,
                level: float) -> pd.DataFrame:
    """pass@k per group; ``ks`` empty means powers of two below n plus n. CIs use one
    bootstrap weight matrix per benchmark, so models on a benchmark are paired."""
    check_counts(counts)
    rows = []
    for benchmark, on_benchmark in counts.groupby("benchmark", sort=True):
        problem_ids = np.sort(on_benchmark.problem_id.unique())
        weights = bootstrap_weights(len(problem_ids), n_resamples, benchmark_seed(seed, benchmark))
        for (model, _, temperature, metric), group in on_benchmark.groupby(GROUP, sort=True):
            group = group.set_index("problem_id").reindex(problem_ids)
            if group.n.isna().any():
                raise ValueError(f"{model} on {benchmark}: counts missing for some problems")
            n, c = group.n.to_numpy(int), group.c.to_numpy(int)
            grid = list(ks) or k_grid(int(n.min()))
            # At 0 of P (or P of P) solved the interval is exact, not [0, 0] (stats.intervals).
            point, low, high = mean_ci(pass_at_k_matrix(n, c, grid), weights, level,
                                       bounds=(0.0, 1.0))
            for i, k in enumerate(grid):
                rows.append((model, benchmark, temperature, metric, k, point[i], low[i], high[i],
                             int(n.min()), len(problem_ids)))
    return pd.DataFrame(rows, columns=PASSK_COLUMNS)
