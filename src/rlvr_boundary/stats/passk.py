"""Unbiased pass@k (Chen et al. 2021) and problem-paired bootstrap helpers.

With n samples of a problem of which c are correct,

    pass@k = 1 - C(n-c, k) / C(n, k)
           = 1 - prod_{i=n-c+1..n} (1 - k/i)          (stable product form)

is the probability that at least one of k samples drawn without replacement
from the n is correct. It is defined only for 1 <= k <= n: the original code
had no such check and silently returned numbers for k > n.
"""

from __future__ import annotations

import numpy as np


def _check_counts(n: int, c: int, k: int) -> None:
    if k < 1:
        raise ValueError(f"pass@k needs k >= 1, got k={k}")
    if k > n:
        raise ValueError(
            f"pass@k is undefined for k > n (k={k}, n={n}): "
            "draw at least k samples per problem"
        )
    if c < 0 or c > n:
        raise ValueError(f"correct count c={c} must lie in [0, n={n}]")


def pass_at_k(n: int, c: int, k: int) -> float:
    """pass@k = 1 - prod_{i=n-c+1..n} (1 - k/i) for one problem (n samples, c correct)."""
    n, c, k = int(n), int(c), int(k)
    _check_counts(n, c, k)
    if n - c < k:  # every draw of k samples contains a correct one
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_matrix(n, c, ks) -> np.ndarray:
    """pass@k for P problems and K values of k at once; returns shape (P, K).

    Uses log C(n-c,k) - log C(n,k) = sum_{i=0}^{k-1} log1p(-c / (n-i)),
    built for every k up to max(ks) with one cumulative sum (log1p keeps each
    term accurate when c is small relative to n). Exactly 0 where c == 0 and
    exactly 1 where n - c < k. n may differ per problem.
    """
    n = np.atleast_1d(np.asarray(n, dtype=np.int64))
    c = np.atleast_1d(np.asarray(c, dtype=np.int64))
    ks = np.atleast_1d(np.asarray(ks, dtype=np.int64))
    n, c = np.broadcast_arrays(n, c)
    if n.ndim != 1 or ks.ndim != 1:
        raise ValueError("n and c must be 1-D (one entry per problem), ks 1-D")
    if ks.size == 0 or n.size == 0:
        return np.zeros((n.size, ks.size))
    if ks.min() < 1:
        raise ValueError(f"pass@k needs k >= 1, got k={int(ks.min())}")
    if np.any((c < 0) | (c > n)):
        bad = int(np.flatnonzero((c < 0) | (c > n))[0])
        raise ValueError(f"correct count c={c[bad]} must lie in [0, n={n[bad]}] (problem {bad})")
    k_max, n_min = int(ks.max()), int(n.min())
    if k_max > n_min:
        raise ValueError(
            f"pass@k is undefined for k > n (k={k_max}, n={n_min}): "
            "draw at least k samples for every problem"
        )

    # term i = log((n-c-i)/(n-i)) = log1p(-c/(n-i)); once the wrong samples run
    # out (c >= n-i) the ratio is 0, i.e. the term is -inf. Done in one buffer
    # because at P=10^4, K=10^3 memory traffic dominates the cost.
    buf = n[:, None] - np.arange(k_max, dtype=np.float64)[None, :]
    np.divide(-c[:, None], buf, out=buf)
    np.maximum(buf, -1.0, out=buf)  # c/(n-i) >= 1  ->  log1p(-1) = -inf
    with np.errstate(divide="ignore"):
        np.log1p(buf, out=buf)
    np.cumsum(buf, axis=1, out=buf)  # column k-1 holds log C(n-c,k)/C(n,k)
    if not np.array_equal(ks, np.arange(1, k_max + 1)):
        buf = buf[:, ks - 1]
    np.expm1(buf, out=buf)
    np.negative(buf, out=buf)  # pass@k = 1 - exp(log ratio)
    buf[c == 0, :] = 0.0  # exact zero (expm1 gives -0.0)
    return buf


def k_grid(n: int) -> list[int]:
    """k values to report for n samples: 1, 2, 4, ... (powers of two below n) and n."""
    n = int(n)
    if n < 1:
        raise ValueError(f"need n >= 1 samples per problem, got n={n}")
    ks = [1 << p for p in range(n.bit_length()) if (1 << p) < n]
    return sorted(set(ks + [n]))


def bootstrap_weights(n_problems: int, n_resamples: int, seed: int) -> np.ndarray:
    """Multinomial resample counts of shape (B, P); each row sums to P.

    Row b says how often each problem appears in bootstrap resample b. Using
    the same matrix for every model on a benchmark pairs the comparisons by
    problem, so between-model differences are not swamped by problem difficulty.
    """
    if n_problems < 1 or n_resamples < 1:
        raise ValueError("need at least one problem and one resample")
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_problems, np.full(n_problems, 1.0 / n_problems), size=n_resamples)


def bootstrap_mean_ci(per_problem: np.ndarray, weights: np.ndarray, level: float = 0.95):
    """Mean over problems and its percentile-bootstrap interval.

    per_problem has shape (P,) or (P, K); resample means are weights @ per_problem / P.
    Returns (point, low, high): floats for (P,), arrays of length K for (P, K).
    """
    per_problem = np.asarray(per_problem, dtype=float)
    weights = np.asarray(weights)
    n_problems = per_problem.shape[0]
    if weights.ndim != 2 or weights.shape[1] != n_problems:
        raise ValueError(f"weights shape {weights.shape} does not match {n_problems} problems")
    point = per_problem.mean(axis=0)
    resampled = weights @ per_problem / n_problems
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(resampled, [tail, 1.0 - tail], axis=0, method="linear")
    if per_problem.ndim == 1:
        return float(point), float(low), float(high)
    return point, low, high
