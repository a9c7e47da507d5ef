"""How many problems the main comparisons need: per C1 and C2 scope (RL model x benchmark,
the claims' own pairs and scope names), the minimum detectable effect (mde) at the
benchmark's size and the problems at which it reaches a target (stats.power), from the
scope's own per-problem differences.

C1: pass@1(RL) - pass@1(base); C2: pass@k(base) - pass@k(RL) at k = n (the largest k both
models have). Benchmark sizes are not changed: the table says what they can detect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..report.claims import _align, _largest_k, _pairs
from ..stats.power import scope_power
from ..stats.passk import pass_at_k_matrix

# The mde each main comparison should reach (differences of mean pass@k over problems).
POWER_TARGETS = {"C1": 0.05, "C2": 0.05}

POWER_COLUMNS = ["claim", "scope", "family", "regime", "model", "base_model", "benchmark", "k",
                 "n_samples", "n_problems", "effect", "binary", "spread", "mde", "target_mde",
                 "problems_needed", "cost_factor", "samples_needed_per_model", "method"]


def scope_differences(favoured: pd.DataFrame, other: pd.DataFrame, k: int):
    """Per-problem pass@k(favoured) - pass@k(other), aligned by problem_id, and whether
    both models' pass@k are 0/1 on every problem (the claims' McNemar case)."""
    a, b = _align(favoured, other)
    pass_a = pass_at_k_matrix(a["n"], a["c"], [k])[:, 0]
    pass_b = pass_at_k_matrix(b["n"], b["c"], [k])[:, 0]
    binary = bool(np.isin(pass_a, (0.0, 1.0)).all() and np.isin(pass_b, (0.0, 1.0)).all())
    return pass_a - pass_b, binary


def power_table(counts: pd.DataFrame, models: pd.DataFrame, metric: str, temperature: float,
                level: float = 0.95, targets: dict | None = None) -> pd.DataFrame:
    """One row per C1 and C2 scope (POWER_COLUMNS) at the claims' metric and temperature.

    ``spread``: the discordance (share of problems where the two differ) where the
    differences are 0/+-1, else the per-problem SD. ``mde``: stats.exact.paired_mde, as in
    claims.json. ``problems_needed``: fewest problems with mde <= target_mde at the same
    per-problem spread (empty where no size reaches it); ``cost_factor`` = problems_needed /
    n_problems (sampling time scales with it); ``samples_needed_per_model`` =
    problems_needed x n_samples."""
    targets = {**POWER_TARGETS, **(targets or {})}
    selected = counts[(counts["metric"] == metric)
                      & np.isclose(counts["temperature"].astype(float), float(temperature))]
    tables = {key: t for key, t in selected.groupby(["model", "benchmark"], sort=True)}
    benchmarks = sorted(selected["benchmark"].unique())
    rows = []
    for family, regime, rl, base, prefix, suffix in _pairs(models, "rl"):
        for benchmark in benchmarks:
            if (rl, benchmark) not in tables or (base, benchmark) not in tables:
                continue
            rl_t, base_t = tables[rl, benchmark], tables[base, benchmark]
            k_max = _largest_k(rl_t, base_t)
            scope = f"{prefix}/benchmark={benchmark}{suffix}"
            for claim, k, favoured, other in (("C1", 1, rl_t, base_t),
                                              ("C2", k_max, base_t, rl_t)):
                d, binary = scope_differences(favoured, other, k)
                result = scope_power(d, binary, targets[claim], level)
                needed = result["problems_needed"]
                rows.append((claim, scope, family, regime, rl, base, benchmark, k, k_max,
                             result["n_problems"], float(d.mean()), binary, result["spread"],
                             result["mde"], result["target"], needed, result["cost_factor"],
                             None if needed is None else needed * k_max, result["method"]))
    table = pd.DataFrame(rows, columns=POWER_COLUMNS)
    for column in ("problems_needed", "samples_needed_per_model"):
        table[column] = table[column].astype("Int64")
    return table
