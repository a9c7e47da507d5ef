"""What the per-answer time limit and the machine's load change in grading, in one run.

    python perf/grading_limits.py [--limits 2 1 0.5] [--load 2] [--threads 2]
                                  [--problems 500] [--samples 200]

perf/grading.py's corpus (100,000 samples, 43 pathological pairs) graded by
``grade_completions`` as the workflow does. The baseline is the default limit
(math_grading.DEFAULT_TIMEOUT_S, 5 s) on an idle machine. Then each of --limits, and the
default limit again while --load busy processes compete for the CPUs. Prints each run's wall
time, its ratio to the baseline's, and every status that differs from the baseline's (as
from -> to counts over samples and distinct pairs).

Two questions for issue 7's grading target: how much a shorter limit buys and which answers it
regrades, and whether the wall-clock limit (an alarm: math-verify's own and ours) makes
statuses depend on other work on the machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter

import pandas as pd
from grading import make_corpus

from rlvr_boundary.grading.math_answers import DEFAULT_TIMEOUT_S, grade_completions

STATUS = "grade_status_math_verify"


def timed_grading(corpus: pd.DataFrame, gold: dict, threads: int, limit: float,
                  load: int = 0) -> tuple[float, pd.DataFrame]:
    """Wall seconds and the graded frame, with ``load`` busy-looping processes alongside."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
    try:
        started = time.perf_counter()
        graded = grade_completions(corpus, gold, "math_verify", threads=threads, timeout_s=limit)
        return time.perf_counter() - started, graded
    finally:
        for burner in burners:
            burner.kill()


def changes(baseline: pd.DataFrame, graded: pd.DataFrame) -> str:
    """Statuses that differ from the baseline's: from -> to, samples (distinct pairs)."""
    differ = (graded[STATUS] != baseline[STATUS]).to_numpy()
    if not differ.any():
        return "no status changed"
    moved = graded[differ].assign(before=baseline[STATUS][differ])
    parts = []
    for (before, after), group in moved.groupby(["before", STATUS]):
        pairs = len(group[["problem_id", "answer_math_verify"]].drop_duplicates())
        parts.append(f"{before} -> {after}: {len(group)} samples ({pairs} pairs)")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limits", type=float, nargs="*", default=[2.0, 1.0, 0.5],
                        help="per-answer limits (s) to compare with the default")
    parser.add_argument("--load", type=int, default=2, help="busy processes in the load run; 0: none")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--samples", type=int, default=200, help="samples per problem")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    corpus, gold = make_corpus(args.problems, args.samples, args.seed)
    base_s, baseline = timed_grading(corpus, gold, args.threads, DEFAULT_TIMEOUT_S)
    print(f"{len(corpus):,} samples, {args.threads} processes; baseline: limit "
          f"{DEFAULT_TIMEOUT_S:g} s, idle: {base_s:.1f} s, statuses "
          f"{dict(Counter(baseline[STATUS]).most_common())}", flush=True)
    runs = [(f"limit {limit:g} s, idle", limit, 0) for limit in args.limits]
    if args.load:
        runs.append((f"limit {DEFAULT_TIMEOUT_S:g} s, {args.load} busy processes",
                     DEFAULT_TIMEOUT_S, args.load))
    for name, limit, load in runs:
        seconds, graded = timed_grading(corpus, gold, args.threads, limit, load)
        print(f"{name:34s}: {seconds:6.1f} s ({base_s / seconds:4.2f}x the baseline); "
              f"{changes(baseline, graded)}", flush=True)


if __name__ == "__main__":
    main()
