"""Intervals that behave at the edges, and pooled (stratified) intervals.

:func:`mean_ci` is the problem-paired percentile bootstrap of stats.passk.bootstrap_mean_ci,
except where every problem has the same value: there every resample is equal and the
percentile interval collapses to a point ([0, 0] for 0 of 30 solved), so
:func:`constant_interval` gives the exact bound instead. :func:`stratified_ratio_ci` pools
several scopes (description only).
"""

from __future__ import annotations

import numpy as np

from .passk import bootstrap_mean_ci


def constant_interval(value, n_problems: int, bounds, level: float = 0.95):
    """Interval for a mean when every one of ``n_problems`` problems has the same value.

    The bootstrap then collapses to a point. Instead: the share of the problem population
    whose value differs from ``value`` has Clopper-Pearson upper bound U = 1 - a^(1/P) (0 of
    P seen, a = (1 - level)/2), and values lie in ``bounds`` = (lo, hi), so the mean lies in
    [value - U (value - lo), value + U (hi - value)]. For a 0/1 share this is exactly the
    Clopper-Pearson interval of 0/P or P/P (0/30 -> [0, 0.116]; 4/4 -> [0.398, 1]).
    """
    lo, hi = bounds
    upper_share = 1.0 - ((1.0 - level) / 2.0) ** (1.0 / n_problems)
    value = np.asarray(value, dtype=float)
    return value - upper_share * (value - lo), value + upper_share * (hi - value)


def mean_ci(per_problem: np.ndarray, weights: np.ndarray, level: float = 0.95, bounds=None):
    """Mean over problems and its percentile-bootstrap interval (stats.passk.bootstrap_mean_ci),
    shape (P,) -> floats, (P, K) -> arrays of length K.

    ``bounds`` = (lo, hi), the range the values can take (pass@k: (0, 1); a difference of
    two: (-1, 1)): where every problem has the same value (up to rounding) the percentile
    interval is a point and :func:`constant_interval` replaces it. Without bounds the
    bootstrap interval is returned as it is.
    """
    per_problem = np.asarray(per_problem, dtype=float)
    point, low, high = bootstrap_mean_ci(per_problem, weights, level)
    if bounds is None:
        return point, low, high
    constant = np.ptp(per_problem, axis=0) <= 1e-12
    if not np.any(constant):
        return point, low, high
    edge_low, edge_high = constant_interval(point, per_problem.shape[0], bounds, level)
    low, high = np.where(constant, edge_low, low), np.where(constant, edge_high, high)
    if per_problem.ndim == 1:
        return float(point), float(low), float(high)
    return point, low, high


def stratified_ratio_ci(items, weights: dict, level: float = 0.95, bounds=None):
    """sum(numerators) / sum(denominators) over several scopes, with a stratified
    problem-paired percentile-bootstrap CI: description only (pooled effects).

    ``items``: (benchmark, numerator (P,), denominator (P,)) per scope, in the order of
    ``weights[benchmark]``'s columns. Scopes on one benchmark share its resample (they share
    problems, so their dependence is kept); benchmarks are resampled independently (strata).
    A differences' pooled mean is numerator = differences, denominator = ones. Returns
    (point, low, high); NaNs without items or with a zero denominator. Where every resample
    is equal, ``bounds`` gives :func:`constant_interval` over the distinct problems.
    """
    items = list(items)
    if not items:
        return float("nan"), float("nan"), float("nan")
    numerator = sum(float(np.sum(num)) for _, num, _ in items)
    denominator = sum(float(np.sum(den)) for _, _, den in items)
    if denominator == 0:
        return float("nan"), float("nan"), float("nan")
    resampled_num, resampled_den = 0.0, 0.0
    for benchmark, num, den in items:
        w = np.asarray(weights[benchmark])
        resampled_num = resampled_num + w @ np.asarray(num, dtype=float)
        resampled_den = resampled_den + w @ np.asarray(den, dtype=float)
    defined = resampled_den > 0
    ratios = resampled_num[defined] / resampled_den[defined]
    point = numerator / denominator
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(ratios, [tail, 1.0 - tail], method="linear")
    if bounds is not None and np.ptp(ratios) <= 1e-12:
        n_problems = sum(np.asarray(weights[b]).shape[1] for b in {b for b, _, _ in items})
        low, high = constant_interval(point, n_problems, bounds, level)
    return float(point), float(low), float(high)
