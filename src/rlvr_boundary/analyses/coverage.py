"""Solvable-problem sets and per-problem accuracy histograms (claims C3, C4).

A problem is *solved* by a model at k_max = n when at least one of its n samples
is correct (c > 0). For a base model and another model (RL or distilled) every
problem falls in one set:

    both       - solved by both        ("Invisible Leash": preserved support)
    base_only  - solved by the base only                        (shrunk support)
    other_only - solved by the other model only                 (expanded support)
    neither    - solved by neither

The paper's Tables 4-5 list these sets; its text (C3) says the base covers the
RL-solved problems. We give base_covers_share = #both / #solved-by-other and
expanded_share = #other_only / #problems, each a share of problems with its exact
Clopper-Pearson interval (binomial given the denominator; a percentile bootstrap
collapses to [0, 0] at 0 of m and to [1, 1] at m of m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..report.claims import benchmark_seed, flip_seed
from ..grading.counting import check_counts
from ..stats.exact import clopper_pearson, sign_flips
from ..stats.passk import bootstrap_weights

SETS = ("both", "base_only", "other_only", "neither")
LEASH_NAMES = {"both": "preserved", "base_only": "shrunk", "other_only": "expanded",
               "neither": ""}
# Per-problem accuracy c/n: exactly 0, ten-percent bins up to 0.9, (0.9, 1), exactly 1.
HISTOGRAM_BINS = ("0", *(f"({j / 10:g},{(j + 1) / 10:g}]" for j in range(9)), "(0.9,1)", "1")
COVERAGE_COLUMNS = [
    "family", "regime", "study", "role", "other_model", "base_model", "benchmark", "metric",
    "temperature", "n_samples", "n_problems", "both", "base_only", "other_only", "neither",
    "other_solved", "base_solved", "base_covers_share", "base_covers_ci_low",
    "base_covers_ci_high", "expanded_share", "expanded_ci_low", "expanded_ci_high",
    "shrunk_share", "shrunk_ci_low", "shrunk_ci_high",
]
PROBLEM_COLUMNS = ["family", "regime", "study", "role", "other_model", "base_model", "benchmark",
                   "problem_id", "set", "leash", "n", "c_base", "c_other"]
HISTOGRAM_COLUMNS = ["model", "benchmark", "metric", "temperature", "bin_index", "bin",
                     "problems", "share", "n_problems"]


# --- shared helpers (also used by cot_validity and regimes) ----------------------------------


def registry_studies(registry: pd.DataFrame) -> pd.Series:
    """The `study` column ('' = main models); a registry without one is all main models."""
    if "study" not in registry.columns:
        return pd.Series("", index=registry.index)
    return registry["study"].fillna("").astype(str)


def select_counts(counts: pd.DataFrame, metric: str, temperature: float) -> pd.DataFrame:
    """Rows of one metric at one sampling temperature (validated)."""
    check_counts(counts)
    chosen = counts[(counts["metric"] == metric)
                    & np.isclose(counts["temperature"].astype(float), float(temperature))]
    return chosen


def benchmark_problems(counts: pd.DataFrame) -> dict[str, np.ndarray]:
    """Sorted problem ids per benchmark: the column order of the bootstrap weights."""
    return {b: np.sort(t["problem_id"].unique()) for b, t in counts.groupby("benchmark", sort=True)}


def benchmark_weights(problems: dict[str, np.ndarray], n_resamples: int, seed: int) -> dict:
    """One (B, P) resample-weight matrix per benchmark, the one claims.py and passk_table use."""
    return {b: bootstrap_weights(len(ids), n_resamples, benchmark_seed(seed, b))
            for b, ids in problems.items()}


def model_counts(counts: pd.DataFrame, model: str, benchmark: str,
                 problem_ids: np.ndarray) -> pd.DataFrame | None:
    """A model's (n, c) rows on a benchmark in ``problem_ids`` order; None if it has none.

    Raises if the model lacks some problems: paired analyses need every problem.
    """
    table = counts[(counts["model"] == model) & (counts["benchmark"] == benchmark)]
    if table.empty:
        return None
    table = table.set_index("problem_id").reindex(problem_ids)
    if table["n"].isna().any():
        missing = list(problem_ids[table["n"].isna().to_numpy()][:3])
        raise ValueError(f"{model} on {benchmark}: counts missing for problems {missing}...")
    return table[["n", "c"]].astype(int).rename_axis("problem_id").reset_index()


def paired_counts(selected: pd.DataFrame, pairs: pd.DataFrame, problems: dict[str, np.ndarray]):
    """(pair, benchmark, problem ids, base counts, other counts) for every pair of ``pairs``
    (rows of :func:`model_pairs`) and benchmark where both models have counts, each table in
    ``problems[benchmark]`` order: the loop every paired analysis runs."""
    for pair in pairs.itertuples(index=False):
        for benchmark, ids in problems.items():
            base = model_counts(selected, pair.base_model, benchmark, ids)
            other = model_counts(selected, pair.other_model, benchmark, ids)
            if base is not None and other is not None:
                yield pair, benchmark, ids, base, other


def model_pairs(registry: pd.DataFrame, roles=("rl", "distilled")) -> pd.DataFrame:
    """(family, regime, study, role, other_model, base_model) for every model of ``roles``."""
    chosen = registry[registry["role"].isin(roles)].copy()
    chosen["study"] = registry_studies(chosen)
    chosen = chosen.fillna({"family": "", "regime": "", "parent": ""})
    frame = pd.DataFrame({
        "family": chosen["family"].astype(str), "regime": chosen["regime"].astype(str),
        "study": chosen["study"], "role": chosen["role"], "other_model": chosen["model"],
        "base_model": chosen["parent"].astype(str)})
    return frame.sort_values(["study", "family", "role", "regime", "other_model"]).reset_index(
        drop=True)


def benchmark_flips(problems: dict[str, np.ndarray], n_flips: int, seed: int) -> dict:
    """One (M, P) sign-flip matrix per benchmark (the sign-flip tests' Monte Carlo draws)."""
    return {b: sign_flips(len(ids), n_flips, flip_seed(seed, b)) for b, ids in problems.items()}


def share_ci(successes: int, trials: int, level: float = 0.95):
    """successes / trials with its Clopper-Pearson interval (NaNs when trials is 0)."""
    if trials == 0:
        return float("nan"), float("nan"), float("nan")
    return (successes / trials, *clopper_pearson(successes, trials, level))


def ratio_ci(numerator, denominator, weights, level: float = 0.95):
    """sum(numerator) / sum(denominator) with a CI.

    When both are 0/1 indicators per problem with numerator <= denominator (a share of a
    subset of problems: both-solved of RL-solved, valid chains of RL-solved) the share is
    binomial given the denominator and the CI is Clopper-Pearson (exact; proper at 0/m and
    m/m: 4/4 -> [0.398, 1]). Otherwise a problem-paired percentile bootstrap: each
    resample's ratio uses the same weights for both sums, resamples whose denominator is 0
    are left out. When the full sample's denominator is 0 every value is NaN.
    """
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    weights = np.asarray(weights)
    if weights.ndim != 2 or weights.shape[1] != numerator.shape[0]:
        raise ValueError(f"weights shape {weights.shape} does not match {numerator.shape[0]} "
                         "problems")
    if denominator.sum() == 0:
        return float("nan"), float("nan"), float("nan")
    indicators = (np.isin(numerator, (0.0, 1.0)).all() and np.isin(denominator, (0.0, 1.0)).all()
                  and (numerator <= denominator).all())
    if indicators:
        return share_ci(int(numerator.sum()), int(denominator.sum()), level)
    point = numerator.sum() / denominator.sum()
    resampled_den = weights @ denominator
    defined = resampled_den > 0
    ratios = (weights[defined] @ numerator) / resampled_den[defined]
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(ratios, [tail, 1.0 - tail], method="linear")
    return float(point), float(low), float(high)


# --- solvable sets --------------------------------------------------------------------------


@dataclass(frozen=True)
class SolvableSets:
    """Sorted problem ids per set; ``counts()`` gives their sizes."""

    both: list
    base_only: list
    other_only: list
    neither: list

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in SETS}

    @property
    def preserved(self) -> list:
        return self.both

    @property
    def shrunk(self) -> list:
        return self.base_only

    @property
    def expanded(self) -> list:
        return self.other_only


def _solved_masks(base: pd.DataFrame, other: pd.DataFrame):
    if not np.array_equal(base["problem_id"].to_numpy(), other["problem_id"].to_numpy()):
        raise ValueError("base and other counts must cover the same problems in the same order")
    if not np.array_equal(base["n"].to_numpy(), other["n"].to_numpy()):
        raise ValueError("solvable sets compare coverage at k_max = n: both models need the "
                         "same n per problem")
    return base["c"].to_numpy() > 0, other["c"].to_numpy() > 0


def _set_labels(base_solved: np.ndarray, other_solved: np.ndarray) -> np.ndarray:
    labels = np.full(base_solved.shape, "neither", dtype=object)
    labels[base_solved & other_solved] = "both"
    labels[base_solved & ~other_solved] = "base_only"
    labels[~base_solved & other_solved] = "other_only"
    return labels


def solvable_sets(base_counts: pd.DataFrame, other_counts: pd.DataFrame) -> SolvableSets:
    """Problems solved (c > 0 of n) by both / base only / other only / neither.

    Each frame has problem_id, n, c for one model on one benchmark; they must
    cover the same problems with the same n (coverage at k_max = n).
    """
    base = base_counts.sort_values("problem_id", kind="stable")
    other = other_counts.sort_values("problem_id", kind="stable")
    for name, table in (("base", base), ("other", other)):
        if table["problem_id"].duplicated().any():
            raise ValueError(f"{name} counts have duplicate problem_id rows")
    base_solved, other_solved = _solved_masks(base, other)
    labels = _set_labels(base_solved, other_solved)
    ids = base["problem_id"].to_numpy()
    return SolvableSets(**{name: sorted(ids[labels == name].tolist()) for name in SETS})


def coverage_table(counts: pd.DataFrame, registry: pd.DataFrame, metric: str, temperature: float,
                   n_resamples: int, seed: int, level: float = 0.95):
    """Solvable sets for every (RL or distilled model, its base) pair and benchmark.

    Returns (table, problems): ``table`` has one row per pair and benchmark
    (COVERAGE_COLUMNS) with base_covers_share = #both / #other-solved (NaN when
    the other model solves nothing) and expanded_share / shrunk_share =
    #other_only / #problems and #base_only / #problems, each with a CI;
    ``problems`` has one row per pair, benchmark and problem with its set.
    """
    selected = select_counts(counts, metric, temperature)
    problems = benchmark_problems(selected)
    weights = benchmark_weights(problems, n_resamples, seed)
    rows, per_problem = [], []
    for pair, benchmark, ids, base, other in paired_counts(selected, model_pairs(registry), problems):
        base_solved, other_solved = _solved_masks(base, other)
        labels = _set_labels(base_solved, other_solved)
        tally = {name: int((labels == name).sum()) for name in SETS}
        w = weights[benchmark]
        covers = ratio_ci(base_solved & other_solved, other_solved, w, level)
        expanded = share_ci(tally["other_only"], len(ids), level)
        shrunk = share_ci(tally["base_only"], len(ids), level)
        rows.append((pair.family, pair.regime, pair.study, pair.role, pair.other_model,
                     pair.base_model, benchmark, metric, float(temperature),
                     int(base["n"].min()), len(ids), *tally.values(),
                     int(other_solved.sum()), int(base_solved.sum()),
                     *covers, *expanded, *shrunk))
        per_problem.append(pd.DataFrame({
            "family": pair.family, "regime": pair.regime, "study": pair.study,
            "role": pair.role, "other_model": pair.other_model,
            "base_model": pair.base_model, "benchmark": benchmark, "problem_id": ids,
            "set": labels, "leash": [LEASH_NAMES[s] for s in labels],
            "n": base["n"].to_numpy(), "c_base": base["c"].to_numpy(),
            "c_other": other["c"].to_numpy()}))
    table = pd.DataFrame(rows, columns=COVERAGE_COLUMNS)
    problem_frame = (pd.concat(per_problem, ignore_index=True) if per_problem
                     else pd.DataFrame(columns=PROBLEM_COLUMNS))
    return table, problem_frame[PROBLEM_COLUMNS]


# --- per-problem accuracy histograms ---------------------------------------------------------


def accuracy_bin_index(n, c) -> np.ndarray:
    """Index into HISTOGRAM_BINS of c/n, in integer arithmetic (no float edge cases).

    0 for c = 0, 11 for c = n; otherwise ceil(10 c / n) (c/n in ((j-1)/10, j/10]),
    capped at 10, the open bin (0.9, 1).
    """
    n = np.asarray(n, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    index = np.minimum((10 * c + n - 1) // n, 10)
    index = np.where(c == 0, 0, index)
    return np.where(c == n, len(HISTOGRAM_BINS) - 1, index)


def accuracy_histogram(counts: pd.DataFrame, metric: str, temperature: float,
                       models=None) -> pd.DataFrame:
    """Share of problems per bin of c/n, per model and benchmark (the paper's Fig. 5 analog).

    Every bin appears (share 0 when empty), so tables of two models line up.
    """
    selected = select_counts(counts, metric, temperature)
    if models is not None:
        selected = selected[selected["model"].isin(list(models))]
    rows = []
    for (model, benchmark), table in selected.groupby(["model", "benchmark"], sort=True):
        tally = np.bincount(accuracy_bin_index(table["n"], table["c"]),
                            minlength=len(HISTOGRAM_BINS))
        for index, label in enumerate(HISTOGRAM_BINS):
            rows.append((model, benchmark, metric, float(temperature), index, label,
                         int(tally[index]), tally[index] / len(table), len(table)))
    return pd.DataFrame(rows, columns=HISTOGRAM_COLUMNS)
