"""pass@k for every k: ``pass_at_k_matrix`` vs the classic per-problem loop, in the same run.

    python perf/passk.py [--problems 10000] [--n 1024] [--loop-problems 200] [--resamples 1000]

Counts are seeded: per-problem success rates from a Beta(0.3, 0.5) (many problems never or
always solved, as in real runs), c ~ Binomial(n, p). The baseline is Chen et al.'s
``estimate_pass_at_k`` (numpy, one problem at a time, called once per k). Looping over all
problems x all k would take minutes, so it runs on --loop-problems problems and its time is
scaled per problem to the full set (said in the output). Then the bootstrap CIs of every k
(``bootstrap_weights`` + ``bootstrap_mean_ci``, --resamples resamples) are timed.
Targets (issue 7): matrix under 1 s, >= 50x the loop, bootstrap a few seconds.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from rlvr_boundary.stats.passk import bootstrap_mean_ci, bootstrap_weights, pass_at_k_matrix


def estimate_pass_at_k(num_samples, num_correct, k):
    """Chen et al. (2021), verbatim: pass@k of each problem, one problem at a time."""

    def estimator(n: int, c: int, k: int) -> float:
        if n - c < k:
            return 1.0
        return 1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))

    if isinstance(num_samples, int):
        num_samples_it = itertools.repeat(num_samples, len(num_correct))
    else:
        assert len(num_samples) == len(num_correct)
        num_samples_it = iter(num_samples)
    return np.array([estimator(int(n), int(c), k) for n, c in zip(num_samples_it, num_correct)])


def timed(repeats: int, fn):
    """(fastest wall time, slowest wall time, result) over ``repeats`` calls."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), max(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", type=int, default=10_000)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--loop-problems", type=int, default=200,
                        help="problems the classic loop runs on (scaled per problem)")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = np.full(args.problems, args.n)
    c = rng.binomial(args.n, rng.beta(0.3, 0.5, size=args.problems))
    ks = np.arange(1, args.n + 1)
    print(f"{args.problems} problems x n={args.n}, all k = 1..{args.n} "
          f"({args.problems * args.n:,} pass@k values); c=0 for {np.mean(c == 0):.0%}, "
          f"c=n for {np.mean(c == args.n):.0%} of problems")

    ours, ours_worst, matrix = timed(args.repeats, lambda: pass_at_k_matrix(n, c, ks))

    sub = rng.choice(args.problems, size=min(args.loop_problems, args.problems), replace=False)
    loop_s, _, looped = timed(1, lambda: np.column_stack(
        [estimate_pass_at_k(int(args.n), c[sub], int(k)) for k in ks]))
    scaled = loop_s / len(sub) * args.problems
    diff = float(np.max(np.abs(looped - matrix[sub])))

    print(f"pass_at_k_matrix   : {ours:8.3f} s  (best of {args.repeats}; "
          f"slowest {ours_worst:.3f} s; {matrix.size / ours / 1e6:.1f} M values/s)")
    print(f"classic loop       : {scaled:8.1f} s  (timed {loop_s:.2f} s on {len(sub)} random "
          f"problems, scaled per problem to {args.problems}; "
          f"{looped.size / loop_s / 1e6:.3f} M values/s)")
    print(f"ratio              : {scaled / ours:8.0f}x")
    print(f"max |diff|         : {diff:.2e} on the {len(sub)} looped problems x {args.n} k")

    weights_s, _, weights = timed(args.repeats, lambda: bootstrap_weights(
        args.problems, args.resamples, seed=args.seed))
    ci_s, _, (point, low, high) = timed(args.repeats, lambda: bootstrap_mean_ci(matrix, weights))
    assert np.all(low <= point + 1e-12) and np.all(point <= high + 1e-12)
    print(f"bootstrap weights  : {weights_s:8.3f} s  ({args.resamples} resamples x "
          f"{args.problems} problems)")
    print(f"bootstrap CIs      : {ci_s:8.3f} s  (all {args.n} k; total with weights "
          f"{weights_s + ci_s:.3f} s, best of {args.repeats})")
    k_index = [0, min(args.n, 64) - 1, args.n - 1]
    print("e.g. " + ", ".join(f"pass@{ks[i]} {point[i]:.4f} [{low[i]:.4f}, {high[i]:.4f}]"
                              for i in k_index))


if __name__ == "__main__":
    main()
