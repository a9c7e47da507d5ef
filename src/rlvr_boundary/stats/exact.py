"""Exact small-sample statistics behind the verdicts (no scipy: tails summed in log space).

- Binomial tails and Clopper-Pearson intervals for shares of problems (0/m and m/m give
  proper one-sided bounds: 0 of 30 -> upper 0.116, 4 of 4 -> lower 0.398 at 95%).
- The exact paired sign-flip test of a mean difference over problems: under "the two models
  are exchangeable on every problem" each problem's difference is +d or -d with equal
  chance. The statistic is sum(d). With d on a lattice (pass@1 = c/n, pass@n in {0, 1}) the
  null distribution is computed exactly; at k = n it is McNemar's exact test on the
  discordant problems (4 vs 0 -> one-sided p = 1/16). Otherwise sign flips are drawn.
- Holm's step-down adjustment, and minimum detectable effects (``*_mde``): the smallest true
  effect the scope's own test detects with 80% power at its one-sided level.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_NORMAL = NormalDist()
POWER = 0.8  # the power every minimum detectable effect (mde) refers to


def normal_quantile(q: float) -> float:
    return _NORMAL.inv_cdf(q)


def normal_cdf(x: float) -> float:
    return _NORMAL.cdf(x)


def one_sided_alpha(level: float) -> float:
    """The one-sided level of each scope test: (1 - level) / 2 (2.5% for 95% intervals)."""
    return (1.0 - float(level)) / 2.0


# --- binomial --------------------------------------------------------------------------------


def _log_factorials(m: int) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, m + 1, dtype=float)))])


def binom_pmf(m: int, p: float) -> np.ndarray:
    """P(X = x) for x = 0..m, X ~ Binomial(m, p)."""
    m = int(m)
    pmf = np.zeros(m + 1)
    if p <= 0.0:
        pmf[0] = 1.0
        return pmf
    if p >= 1.0:
        pmf[m] = 1.0
        return pmf
    x = np.arange(m + 1)
    lf = _log_factorials(m)
    return np.exp(lf[m] - lf[x] - lf[m - x] + x * math.log(p) + (m - x) * math.log1p(-p))


def binom_cdf(x: int, m: int, p: float) -> float:
    """P(X <= x)."""
    if x < 0:
        return 0.0
    if x >= m:
        return 1.0
    return float(min(1.0, binom_pmf(m, p)[: x + 1].sum()))


def binom_sf(x: int, m: int, p: float) -> float:
    """P(X >= x)."""
    if x <= 0:
        return 1.0
    if x > m:
        return 0.0
    return float(min(1.0, binom_pmf(m, p)[x:].sum()))


def _bisect(f, low: float, high: float, iterations: int = 60) -> float:
    """Root of an increasing f on [low, high] (f(low) < 0 <= f(high))."""
    for _ in range(iterations):
        mid = 0.5 * (low + high)
        if f(mid) < 0:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def clopper_pearson(x: int, m: int, level: float = 0.95) -> tuple[float, float]:
    """Exact two-sided interval for a binomial share x/m (each side at (1 - level)/2).

    0/m gives [0, 1 - (a)^(1/m)], m/m gives [a^(1/m), 1] with a = (1 - level)/2; NaNs when m
    is 0. The lower end L solves P(X >= x | L) = a, the upper end U solves P(X <= x | U) = a,
    so L >= t exactly when the one-sided exact test of "share <= t" has p <= a.
    """
    x, m = int(x), int(m)
    if m == 0:
        return float("nan"), float("nan")
    if not 0 <= x <= m:
        raise ValueError(f"need 0 <= x <= m, got x={x}, m={m}")
    a = one_sided_alpha(level)
    if x == 0:
        low = 0.0
    elif x == m:
        low = a ** (1.0 / m)
    else:
        low = _bisect(lambda p: binom_sf(x, m, p) - a, 0.0, 1.0)
    if x == m:
        high = 1.0
    elif x == 0:
        high = 1.0 - a ** (1.0 / m)
    else:
        high = _bisect(lambda p: a - binom_cdf(x, m, p), 0.0, 1.0)
    return float(low), float(high)


def binomial_pvalues(x: int, m: int, threshold: float) -> tuple[float, float]:
    """One-sided exact p-values (p_above, p_below) of x successes in m against ``threshold``:
    p_above = P(X >= x | threshold) tests "share > threshold", p_below = P(X <= x | threshold)
    tests "share < threshold"."""
    return binom_sf(x, m, threshold), binom_cdf(x, m, threshold)


def binomial_mde(m: int, threshold: float, direction: str, level: float,
                 power: float = POWER) -> float | None:
    """Smallest distance from ``threshold`` (in ``direction``, "above" or "below") at which
    the one-sided exact binomial test with m trials rejects with probability >= power at
    level (1 - level)/2. None when no true share in [0, 1] is detected that often (e.g.
    "share < 0.05" cannot be shown with 12 problems: 0 of 12 has p = 0.54)."""
    m = int(m)
    if m < 1:
        return None
    a = one_sided_alpha(level)
    pmf = binom_pmf(m, threshold)
    if direction == "above":
        tails = np.cumsum(pmf[::-1])[::-1]  # tails[x] = P(X >= x)
        reject = np.flatnonzero(tails <= a)
        if reject.size == 0:
            return None
        crit = int(reject[0])
        detect = lambda p: binom_sf(crit, m, p) - power  # noqa: E731  increasing in p
        if detect(1.0) < 0:
            return None
        return float(_bisect(detect, threshold, 1.0) - threshold)
    if direction == "below":
        cdf = np.cumsum(pmf)
        reject = np.flatnonzero(cdf <= a)
        if reject.size == 0:
            return None
        crit = int(reject[-1])
        detect = lambda p: binom_cdf(crit, m, 1.0 - p) - power  # noqa: E731  increasing in p
        if detect(1.0) < 0:
            return None
        return float(threshold - (1.0 - _bisect(detect, 1.0 - threshold, 1.0)))
    raise ValueError(f"direction must be 'above' or 'below', got {direction!r}")


# --- the paired sign-flip test -----------------------------------------------------------------


def sign_flips(n_problems: int, n_flips: int, seed: int) -> np.ndarray:
    """(n_flips, n_problems) random signs +-1: the Monte Carlo draws of the sign-flip tests
    (one matrix per benchmark, like the bootstrap weights)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, size=(n_flips, n_problems), dtype=np.int8) * 2 - 1


def _lattice(values: np.ndarray, scales) -> np.ndarray | None:
    """|values| * L as integers for the first scale L that makes them integral, else None."""
    for scale in scales:
        scaled = np.abs(values) * scale
        rounded = np.rint(scaled)
        if np.allclose(scaled, rounded, rtol=0.0, atol=1e-6):
            return rounded.astype(np.int64)
    return None


def _subset_sum_distribution(a: np.ndarray) -> np.ndarray:
    """P(sum of a random subset of a = t), t = 0..sum(a), each element in with chance 1/2."""
    dist = np.zeros(int(a.sum()) + 1)
    dist[0] = 1.0
    top = 0
    for value in np.sort(a):
        value = int(value)
        shifted = dist[: top + 1].copy()
        dist[: top + 1] *= 0.5
        dist[value: value + top + 1] += 0.5 * shifted
        top += value
    return dist


MAX_LATTICE = 5_000_000


def sign_flip_pvalues(d, scales=(1,), flips: np.ndarray | None = None) -> tuple[float, float]:
    """One-sided p-values (p_greater, p_less) of the paired sign-flip test of sum(d).

    p_greater = P(sum(s d) >= sum(d)), p_less = P(sum(s d) <= sum(d)) over independent
    signs s = +-1. Exact when |d| * L is integral for some L in ``scales`` (pass@1 with n
    samples: L = n; pass@n: L = 1); otherwise from ``flips`` (rows of signs), as
    (1 + #{flips at least as extreme}) / (1 + #flips). No nonzero difference: (1, 1).
    """
    d = np.asarray(d, dtype=float)
    nonzero = d != 0
    if not nonzero.any():
        return 1.0, 1.0
    values = d[nonzero]
    integral = _lattice(values, scales)
    if integral is not None and integral.sum() <= MAX_LATTICE:
        dist = _subset_sum_distribution(integral)
        observed = int(integral[values > 0].sum())  # sum(d) = 2 * observed - total
        p_greater = float(min(1.0, dist[observed:].sum()))
        p_less = float(min(1.0, dist[: observed + 1].sum()))
        return p_greater, p_less
    if flips is None:
        raise ValueError("differences are not on a lattice: pass sign flips for Monte Carlo")
    flips = np.asarray(flips)
    if flips.shape[1] != d.shape[0]:
        raise ValueError(f"flips shape {flips.shape} does not match {d.shape[0]} problems")
    observed = values.sum()
    null = flips[:, nonzero] @ values
    tolerance = 1e-9 * max(1.0, np.abs(values).sum())
    count = flips.shape[0] + 1
    p_greater = (1 + int((null >= observed - tolerance).sum())) / count
    p_less = (1 + int((null <= observed + tolerance).sum())) / count
    return float(p_greater), float(p_less)


def min_nonzero_for_level(level: float) -> int:
    """The fewest differing problems with which the exact sign-flip test can reach its
    one-sided level at all (all m differences one way has p = 2^-m): 6 at 95%."""
    return int(math.ceil(math.log2(1.0 / one_sided_alpha(level)) - 1e-12))


def _mcnemar_power(n_problems: int, discordance: float, delta: float, level: float) -> float:
    """Power of the one-sided exact sign test (McNemar) when each problem is discordant with
    probability ``discordance`` and the mean difference is ``delta`` (unconditional on the
    number of discordant problems)."""
    a = one_sided_alpha(level)
    theta = min(1.0, 0.5 * (1.0 + delta / discordance))
    weights = binom_pmf(n_problems, discordance)
    power = 0.0
    for j in np.flatnonzero(weights > 1e-12):
        j = int(j)
        null_tail = np.cumsum(binom_pmf(j, 0.5)[::-1])[::-1]
        reject = np.flatnonzero(null_tail <= a)
        if reject.size:
            power += weights[j] * binom_sf(int(reject[0]), j, theta)
    return float(power)


def paired_mde(d, binary: bool, level: float, power: float = POWER) -> tuple[float | None, str]:
    """Minimum detectable effect of the one-sided sign-flip test on per-problem differences d
    (the claim's direction positive). Returns (mde or None, how it was computed / why none).

    binary (d in {-1, 0, 1}, e.g. pass@n): the exact unconditional power of McNemar's test
    with the scope's discordance rate psi (share of problems with d != 0) held fixed; the mde
    is the smallest delta in (0, psi] with power >= 0.8. Otherwise a normal approximation:
    reject when sum(d) > z * sqrt(sum(d^2)); with the scope's per-problem SD s, the mde is
    the delta solving delta * sqrt(P) - z_(1-a) * sqrt(s^2 + delta^2) = z_(0.8) * s.
    None when fewer problems differ than the exact test needs to reach its level at all,
    or no delta <= 1 is detected that often.
    """
    d = np.asarray(d, dtype=float)
    n_problems = d.size
    differing = int((d != 0).sum())
    needed = min_nonzero_for_level(level)
    if differing < needed:
        return None, (f"{differing} problems differ: the exact test needs at least {needed} "
                      "to reach its level")
    if binary:
        psi = differing / n_problems
        if _mcnemar_power(n_problems, psi, psi, level) < power:
            return None, (f"even a difference equal to the discordance {psi:.3f} has power "
                          f"< {power:g}")
        mde = _bisect(lambda x: _mcnemar_power(n_problems, psi, x, level) - power, 0.0, psi,
                      iterations=40)
        return float(mde), f"exact McNemar power at discordance {psi:.3f}"
    sd = float(d.std(ddof=1)) if n_problems > 1 else 0.0
    if sd == 0.0:
        return None, "every problem has the same difference: no variance to scale the power"
    z_a, z_b = normal_quantile(1.0 - one_sided_alpha(level)), normal_quantile(power)
    root_p = math.sqrt(n_problems)

    def excess(delta):
        return delta * root_p - z_a * math.sqrt(sd * sd + delta * delta) - z_b * sd

    if excess(1.0) < 0:
        return None, "no difference up to 1 reaches the power"
    return float(_bisect(excess, 0.0, 1.0)), f"normal approximation, per-problem SD {sd:.3f}"


def ci_mde(half_width: float, level: float, power: float = POWER) -> float | None:
    """Minimum detectable distance from a threshold for a test read off a two-sided CI:
    (z_(1-a) + z_power) * SE with SE = half_width / z_(1-a), ``half_width`` the half of the
    CI that faces the threshold (value - low for "above", high - value for "below")."""
    if half_width is None or not np.isfinite(half_width):
        return None
    z_a = normal_quantile(1.0 - one_sided_alpha(level))
    return float((z_a + normal_quantile(power)) * max(0.0, half_width) / z_a)


def ci_pvalue(value: float, low: float, high: float, threshold: float, side: str,
              level: float) -> float | None:
    """Normal-approximation one-sided p-value of "the effect lies ``side`` ('above' or
    'below') ``threshold``" read off a two-sided CI, with the SE from the half of the CI that
    faces the threshold ((value - low) / z for 'above', (high - value) / z for 'below'), so
    p <= (1 - level)/2 exactly when that CI end clears the threshold. A zero-width half:
    0 when the value lies strictly on that side, else 1."""
    if value is None or low is None or high is None:
        return None
    z_a = normal_quantile(1.0 - one_sided_alpha(level))
    if side == "above":
        se, distance = (value - low) / z_a, value - threshold
    elif side == "below":
        se, distance = (high - value) / z_a, threshold - value
    else:
        raise ValueError(f"side must be 'above' or 'below', got {side!r}")
    if se <= 0:
        return 0.0 if distance > 0 else 1.0
    return float(1.0 - normal_cdf(distance / se))


# --- multiplicity ------------------------------------------------------------------------------


def holm(pvalues) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given): the i-th smallest p becomes
    max over j <= i of min(1, (m - j + 1) p_(j)). Reject where adjusted p <= level: the
    family-wise error rate stays <= level under any dependence."""
    p = np.asarray(list(pvalues), dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(stepped)
    return adjusted.tolist()
