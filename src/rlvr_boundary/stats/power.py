"""Power of the main paired tests at other benchmark sizes: the minimum detectable effect
(mde) at P problems, and the problems needed for a target mde.

The scope tests are those of the claims (stats.exact.paired_mde, one-sided at
(1 - level)/2, power 0.8), with the scope's per-problem distribution held fixed while the
number of problems changes:

- pass@1 (differences c/n - c'/n, not all 0 or +-1): the normal approximation of the
  sign-flip test with per-problem SD s, delta sqrt(P) - z_a sqrt(s^2 + delta^2) = z_b s,
  whose root is

      mde(P) = s (z_b sqrt(P) + z_a sqrt(P + z_b^2 - z_a^2)) / (P - z_a^2)   (P > z_a^2),

  about (z_a + z_b) s / sqrt(P): a quarter of the mde needs 16 times the problems. Solved for
  P: P(delta) = ((z_a sqrt(s^2 + delta^2) + z_b s) / delta)^2, raised where needed until,
  at the scope's share of differing problems, as many differ as the exact test needs to
  reach its level at all (stats.exact.min_nonzero_for_level: 6 at 95%).
- pass@k at k = n (differences in {-1, 0, 1}): McNemar's exact test with the discordance psi
  (share of problems where the two models differ) held fixed, its exact unconditional power
  (stats.exact); no true difference can exceed psi. Above EXACT_LIMIT problems the normal
  approximation of the same test, delta sqrt(P) - z_a sqrt(psi) = z_b sqrt(psi - delta^2).

Sampling cost grows linearly with the problems: problems_needed x n samples per model.
"""

from __future__ import annotations

import math

import numpy as np

from .exact import (POWER, _mcnemar_power, min_nonzero_for_level, normal_quantile,
                    one_sided_alpha, paired_mde)

# Benchmarks beyond this many problems get the normal approximation of McNemar's test (the
# exact power sums over every possible number of discordant problems).
EXACT_LIMIT = 20_000


def _z(level: float, power: float) -> tuple[float, float]:
    return normal_quantile(1.0 - one_sided_alpha(level)), normal_quantile(power)


def normal_mde(sd: float, n_problems: int, level: float = 0.95,
               power: float = POWER) -> float | None:
    """The mde of the normal-approximation paired test (per-problem SD ``sd``) at
    ``n_problems`` problems; None where P <= z_a^2, sd is 0, or the mde exceeds 1."""
    z_a, z_b = _z(level, power)
    p = float(n_problems)
    if sd <= 0 or p <= z_a * z_a:
        return None
    mde = sd * (z_b * math.sqrt(p) + z_a * math.sqrt(p + z_b * z_b - z_a * z_a)) / (p - z_a * z_a)
    return float(mde) if mde <= 1.0 else None


def normal_problems_needed(sd: float, target: float, level: float = 0.95,
                           power: float = POWER) -> int | None:
    """Fewest problems at which :func:`normal_mde` is at most ``target``."""
    if sd <= 0 or target <= 0:
        return None
    z_a, z_b = _z(level, power)
    needed = ((z_a * math.sqrt(sd * sd + target * target) + z_b * sd) / target) ** 2
    return max(1, math.ceil(needed - 1e-9))


def mcnemar_mde(n_problems: int, discordance: float, level: float = 0.95,
                power: float = POWER) -> float | None:
    """The mde of McNemar's exact test at ``n_problems`` problems and discordance psi, as
    stats.exact.paired_mde computes it for a scope of that size; None where even a
    difference equal to psi has less than ``power``."""
    if discordance <= 0 or n_problems < 1:
        return None
    if n_problems > EXACT_LIMIT:
        return _mcnemar_normal_mde(n_problems, discordance, level, power)
    if _mcnemar_power(n_problems, discordance, discordance, level) < power:
        return None
    low, high = 0.0, discordance
    for _ in range(40):
        mid = 0.5 * (low + high)
        if _mcnemar_power(n_problems, discordance, mid, level) < power:
            low = mid
        else:
            high = mid
    return float(0.5 * (low + high))


def _mcnemar_normal_mde(n_problems, discordance, level, power):
    z_a, z_b = _z(level, power)
    root_p = math.sqrt(n_problems)

    def excess(delta):
        return delta * root_p - z_a * math.sqrt(discordance) - z_b * math.sqrt(
            max(0.0, discordance - delta * delta))

    if excess(discordance) < 0:
        return None
    low, high = 0.0, discordance
    for _ in range(60):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if excess(mid) < 0 else (low, mid)
    return float(0.5 * (low + high))


def mcnemar_problems_needed(discordance: float, target: float, level: float = 0.95,
                            power: float = POWER) -> tuple[int | None, str]:
    """Fewest problems whose mde (:func:`mcnemar_mde`) is at most ``target``: where McNemar's
    test detects ``target`` with ``power`` at discordance psi (bisection over P: the
    unconditional power is close to monotone in P). A target above psi, which no true
    difference can exceed, is met once psi itself is detected. Returns (problems or None,
    how)."""
    if discordance <= 0:
        return None, "no problem differs: no discordance to scale"
    note = ""
    if target > discordance:
        target = discordance
        note = (f"; target above the discordance {discordance:.3f} (no true difference at "
                "k = n exceeds it): the size that detects a difference equal to it")
    how, rough_how = "exact McNemar power" + note, "normal approximation of McNemar's test" + note
    z_a, z_b = _z(level, power)
    rough = ((z_a * math.sqrt(discordance)
              + z_b * math.sqrt(max(0.0, discordance - target * target))) / target) ** 2
    if rough > EXACT_LIMIT / 2:
        return max(1, math.ceil(rough - 1e-9)), rough_how
    low, high = 0, max(8, 2 * math.ceil(rough))  # power(low) < power <= power(high)
    while _mcnemar_power(high, discordance, target, level) < power:
        low, high = high, 2 * high
        if high > EXACT_LIMIT:
            return None, f"more than {EXACT_LIMIT} problems"
    while high - low > 1:
        mid = (low + high) // 2
        if _mcnemar_power(mid, discordance, target, level) < power:
            low = mid
        else:
            high = mid
    return high, how


def scope_power(d, binary: bool, target: float, level: float = 0.95,
                power: float = POWER) -> dict:
    """For one scope's per-problem differences d: its mde now (stats.exact.paired_mde, the
    claims' own), the problems needed for ``target`` and cost_factor = problems_needed /
    problems now. ``spread``: the discordance (binary) or the per-problem SD."""
    d = np.asarray(d, dtype=float)
    n_problems = d.size
    mde, _ = paired_mde(d, binary, level, power) if n_problems else (None, "")
    if binary:
        discordance = float((d != 0).mean()) if n_problems else 0.0
        needed, how = mcnemar_problems_needed(discordance, target, level, power)
        spread = discordance
    else:
        sd = float(d.std(ddof=1)) if n_problems > 1 else 0.0
        needed = normal_problems_needed(sd, target, level, power)
        how = ("normal approximation of the sign-flip test" if needed is not None
               else "every problem has the same difference: no variance to scale")
        if needed is not None:
            # The exact test reaches its level only once enough problems differ at all.
            floor = math.ceil(min_nonzero_for_level(level) / float((d != 0).mean()) - 1e-9)
            if floor > needed:
                needed = floor
                how += (f"; raised so that {min_nonzero_for_level(level)} problems differ, "
                        "the fewest with which the exact test can reach its level")
        spread = sd
    return {"n_problems": n_problems, "spread": spread, "mde": mde, "target": float(target),
            "problems_needed": needed, "method": how,
            "cost_factor": None if needed is None else needed / n_problems}
