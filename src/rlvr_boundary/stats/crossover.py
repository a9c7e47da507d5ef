"""Where base and RL pass@k curves cross: every lead change, and the k where either model is
significantly ahead, simultaneously over all k.

For per-problem differences D[i, k] = pass@k_base(i) - pass@k_RL(i), k = 1..k_max:

- A k is *flat* when both mean curves are at 0, or both at 1 (every problem unsolved, or
  solved, by both at that k): nothing is compared there. Flat k are never crossings.
- Point curve: the base leads at k when mean D[:, k] >= 0 (a tie counts for the base, as in
  the paper's "base catches up"), RL leads otherwise. ``point`` is the first non-flat k where
  the base leads (None if RL leads at every non-flat k); ``lead_changes`` lists every k where
  the leader differs from the previous non-flat k (all crossings, not only the first).
- Significance: the paired sign-flip max-|t| test over all non-flat k at once. Each problem's
  differences flip sign together (the two models exchanged on that problem);
  T_k = sum_i D[i, k] / sqrt(sum_i D[i, k]^2); a k is significant when the share of flips
  whose max_k |T*_k| reaches |T_k| is <= 1 - level. With probability >= level no k is put on
  the wrong side (family-wise over every k and both directions), so ``rl_ahead`` (RL
  significantly ahead) and ``base_ahead`` are the k where the simultaneous paired CI excludes
  zero in each direction.
- The first crossing's confidence interval follows: if RL is significantly ahead at every k
  of 1..a, the true first crossing is > a; if the base is significantly ahead at b, it is
  <= b. So [a + 1, min(base_ahead)], with k_max + 1 standing for "beyond k_max". It covers
  the true first crossing whenever no k is misassigned (probability >= level).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .passk import pass_at_k_matrix


@dataclass(frozen=True)
class Crossover:
    k_max: int
    point: int | None
    ci_low: int
    ci_high: int
    lead_changes: tuple  # ((k, "base" | "RL"), ...): who leads from k on, first entry included
    rl_ahead: tuple  # k where RL is significantly ahead
    base_ahead: tuple  # k where the base is significantly ahead
    flat: tuple  # k where both curves are at 0 or both at 1
    level: float

    @property
    def compared(self) -> bool:
        return len(self.flat) < self.k_max

    def significant_crossings(self) -> list[tuple[str, int, int]]:
        """(direction, low, high) for every change of the significant leader: the lead passes
        between the end of one significant run and the start of the next, e.g.
        ("RL->base", 5, 12)."""
        marks = sorted([(k, "RL") for k in self.rl_ahead] + [(k, "base") for k in self.base_ahead])
        changes = []
        for (k_prev, who_prev), (k_next, who_next) in zip(marks, marks[1:]):
            if who_prev != who_next:
                changes.append((f"{who_prev}->{who_next}", k_prev + 1, k_next))
        return changes


def ranges(ks) -> str:
    """Compact text for a sorted set of k: "1-4,7,9-16"; "" when empty."""
    ks = sorted(int(k) for k in ks)
    parts, start = [], None
    for i, k in enumerate(ks):
        if start is None:
            start = k
        if i + 1 == len(ks) or ks[i + 1] != k + 1:
            parts.append(f"{start}" if start == k else f"{start}-{k}")
            start = None
    return ",".join(parts)


def crossover(base_n, base_c, rl_n, rl_c, flips: np.ndarray, level: float = 0.95) -> Crossover:
    """The crossover of one (base, RL) pair on one benchmark; counts in the same problem
    order, ``flips`` (M, P) random signs (stats.exact.sign_flips) shared by the benchmark."""
    base_n, base_c = np.asarray(base_n), np.asarray(base_c)
    rl_n, rl_c = np.asarray(rl_n), np.asarray(rl_c)
    k_max = int(min(base_n.min(), rl_n.min()))
    ks = np.arange(1, k_max + 1)
    base_pass = pass_at_k_matrix(base_n, base_c, ks)
    rl_pass = pass_at_k_matrix(rl_n, rl_c, ks)
    diff = base_pass - rl_pass
    flat = (((base_pass == 0) & (rl_pass == 0)).all(axis=0)
            | ((base_pass == 1) & (rl_pass == 1)).all(axis=0))
    mean = diff.mean(axis=0)

    lead_changes, previous = [], None
    for k in ks[~flat]:
        leader = "base" if mean[k - 1] >= 0 else "RL"
        if leader != previous:
            lead_changes.append((int(k), leader))
            previous = leader
    base_leads = [k for k, who in lead_changes if who == "base"]
    point = base_leads[0] if base_leads else None

    norms = np.sqrt((diff ** 2).sum(axis=0))
    tested = (~flat) & (norms > 0)
    rl_ahead, base_ahead = (), ()
    if tested.any():
        flips = np.asarray(flips, dtype=float)
        if flips.shape[1] != diff.shape[0]:
            raise ValueError(f"flips shape {flips.shape} does not match {diff.shape[0]} problems")
        observed = diff[:, tested].sum(axis=0) / norms[tested]
        null_max = np.abs(flips @ diff[:, tested] / norms[tested]).max(axis=1)
        exceed = (null_max[None, :] >= np.abs(observed)[:, None] - 1e-12).sum(axis=1)
        pvalues = (1 + exceed) / (1 + flips.shape[0])
        significant = pvalues <= 1.0 - level
        tested_ks = ks[tested]
        rl_ahead = tuple(int(k) for k in tested_ks[significant & (observed < 0)])
        base_ahead = tuple(int(k) for k in tested_ks[significant & (observed > 0)])

    run = 0  # RL significantly ahead at every k of 1..run
    while run + 1 in rl_ahead:
        run += 1
    ci_high = min(base_ahead) if base_ahead else k_max + 1
    return Crossover(k_max, point, run + 1, ci_high, tuple(lead_changes), rl_ahead, base_ahead,
                     tuple(int(k) for k in ks[flat]), float(level))


def _k(value: int, k_max: int) -> str:
    return f">{k_max}" if value > k_max else f"{value}"


def crossover_text(cross: Crossover) -> str:
    """One line for claims.md: the point crossing with its CI, every lead change, and where
    either model is significantly ahead."""
    k_max, level = cross.k_max, f"{cross.level:.0%}"
    if not cross.compared:
        return "both curves flat (at 0 or at 1) at every k: no crossover to speak of"
    ci = f"[{level} CI {_k(cross.ci_low, k_max)}, {_k(cross.ci_high, k_max)}]"
    if cross.point is None:
        head = f"no crossover up to n={k_max} {ci}"
    elif cross.point == 1:
        head = f"base >= RL already at k=1 (RL never ahead) {ci}"
    else:
        head = f"crossover k={cross.point} {ci}"
    # The head names the first change to the base; any further lead change is listed.
    later = cross.lead_changes[2:] if cross.lead_changes[0][1] == "RL" else cross.lead_changes[1:]
    if later:
        head += "; then " + ", ".join(f"{who} leads from k={k}" for k, who in later)
    ahead = []
    if cross.rl_ahead:
        ahead.append(f"RL ahead at k {ranges(cross.rl_ahead)}")
    if cross.base_ahead:
        ahead.append(f"base ahead at k {ranges(cross.base_ahead)}")
    significance = ("; ".join(ahead) if ahead else "neither significantly ahead at any k")
    flat = f"; flat at k {ranges(cross.flat)}" if cross.flat else ""
    return f"{head}; simultaneous {level}: {significance}{flat}"
