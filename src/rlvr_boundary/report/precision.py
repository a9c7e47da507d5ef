"""Sections of claims.md on precision: Bayes@N beside pass@1 (stats.bayes) and what the
benchmark sizes can detect (analyses.power)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..stats.exact import POWER, one_sided_alpha


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _level(value, low, high) -> str:
    if _missing(value):
        return ""
    interval = "" if _missing(low) else f" [{low:.3f}, {high:.3f}]"
    return f"{value:.3f}{interval}"


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def bayes_section(table: pd.DataFrame, metric: str, temperature: float) -> str:
    """Bayes@N with its credible interval beside pass@1 and its bootstrap CI, at the claims'
    metric and temperature (every other one is in tables/bayes_at_n.csv)."""
    chosen = table[(table.metric == metric)
                   & np.isclose(table.temperature.astype(float), float(temperature))]
    rows = [[r.model, r.benchmark, int(r.n), int(r.n_problems),
             _level(r.pass_at_1, r.pass_at_1_ci_low, r.pass_at_1_ci_high),
             _level(r.bayes_mean, r.ci_low, r.ci_high), f"{r.bayes_sd:.4f}"]
            for r in chosen.sort_values(["benchmark", "model"]).itertuples()]
    level = float(table.ci_level.iloc[0]) if len(table) else 0.95
    prior = table.prior.iloc[0] if len(table) else ""
    return "\n".join([
        "## Bayes@N beside pass@1", "",
        "Bayes@N (Hariri et al., \"Don't Pass@k\", ICLR 2026; computed with their `scorio` "
        f"package): the posterior mean of the benchmark's mean accuracy with a {level:.0%} "
        f"credible interval. Prior: {prior}. The credible interval covers the sampling noise "
        "of these problems only; pass@1's bootstrap CI also resamples the problems, so it is "
        "the wider where problems differ in difficulty. With n samples per problem the two "
        "means differ by at most 1/(n + 2) per problem, and agree as n grows. "
        f"Metric `{metric}`, T = {float(temperature):g}; every metric and temperature: "
        "tables/bayes_at_n.csv.", "",
        *_table(["model", "benchmark", "n", "problems", f"pass@1 [{level:.0%} bootstrap CI]",
                 f"Bayes@N [{level:.0%} credible interval]", "posterior SD"], rows)])


def _needed(values: pd.Series) -> str:
    defined = values.dropna()
    without = int(values.isna().sum())
    note = f" ({without} scopes without a size: power.csv says why)" if without else ""
    return (f"{int(defined.max()):,}" if len(defined) else "none") + note


def _factor(value: float) -> str:
    return f"x{value:.2g}" if value < 10 else f"x{value:,.0f}"


def power_section(table: pd.DataFrame, level: float = 0.95) -> str:
    """Per claim and benchmark: problems now, the largest mde of its scopes, the target and
    the problems (and samples) every scope needs to reach it."""
    alpha = one_sided_alpha(level)
    rows = []
    for (claim, benchmark), group in table.groupby(["claim", "benchmark"], sort=True):
        problems = int(group.n_problems.max())
        mdes = group.mde.dropna()
        needed = group.problems_needed.astype("Float64")
        most = needed.dropna()
        factor = _factor(float(most.max()) / problems) if len(most) else ""
        samples = (f"{int(most.max()) * int(group.n_samples.max()):,}" if len(most) else "")
        difference = "pass@1" if claim == "C1" else f"pass@{int(group.k.max())} (k = n)"
        rows.append([claim, difference, benchmark,
                     len(group), problems, f"{mdes.max():.3f}" if len(mdes) else "none",
                     f"{float(group.target_mde.iloc[0]):.3f}", _needed(needed), factor,
                     samples])
    return "\n".join([
        "## Power: what the benchmark sizes can detect", "",
        f"Minimum detectable effect (mde: {POWER:.0%} power, one-sided {alpha:.1%}, the "
        "claims' own tests) of the main paired comparisons (C1: RL - base pass@1; C2: base - "
        "RL pass@k at k = n), from each scope's own per-problem differences, and the problems "
        "a benchmark would need for the target mde with the same per-problem spread (the "
        "SD of the differences; at k = n the share of problems where the models differ, which "
        "no true difference can exceed). The mde shrinks like 1/sqrt(problems), so halving "
        "it takes four times the problems; sampling time grows in proportion (cost factor: "
        "problems needed / problems now; samples per model: problems needed x n). The "
        "benchmarks keep their sizes: this says what they can show. Per scope: "
        "tables/power.csv.", "",
        *_table(["claim", "difference", "benchmark", "scopes", "problems", "largest mde now",
                 "target mde", "problems needed", "cost factor", "samples per model"], rows)])
