"""Grading many math completions: ``grade_completions`` vs naive per-sample math-verify.

    python perf/grading.py [--problems 500] [--samples 200] [--threads N] [--timeout 5]

A seeded corpus of realistic answers: gold answers are integers, fractions, roots,
intervals, multiples of pi, polynomials and pairs; each problem's samples end in
``\\boxed{...}`` after some reasoning text, a few dozen distinct answers per problem
(the gold as written, equivalent rewrites, wrong answers with a long tail), a few without
a box (math-verify reads their tail) or cut off by the length limit, and in some problems a
pathological answer (power towers, huge factorials, long sums, thousands of digits) that is
slow for sympy or times out.

Ours: ``math_grading.grade_completions(..., "math_verify", threads)`` (dedup of (problem,
answer); an answer shared by problems parsed once; plain integers compared as integers;
two-stage LaTeX parsing, or with ``--ours-parsing ll`` latex2sympy's own; process pool;
per-answer timeout). Baseline: for every sample in turn, extract the box,
``math_verify.parse`` gold and answer and ``verify`` under the same per-answer alarm, with
math-verify's parser as it ships (LL).
The baseline would take many minutes on the whole corpus, so it runs on a random subset,
stratified (ordinary samples: all samples of a few random problems, in order; samples with a
pathological answer: a random few) and each stratum's time is scaled by its share of the
corpus (said in the output). Statuses of the subset must agree.
Target (issue 7): >= 10x.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import time
from collections import Counter

import numpy as np
import pandas as pd

from rlvr_boundary.grading import latex_parsing
from rlvr_boundary.grading.math_answers import (
    DEFAULT_TIMEOUT_S,
    TAIL_CHARS,
    extract_boxed,
    grade_completions,
    scientific_to_latex,
)

# --- the corpus ----------------------------------------------------------------------------


def _gold_and_rewrites(rng) -> tuple[str, list[str], list[str]]:
    """(gold, equivalent rewrites, wrong answers) of one random problem."""
    kind = rng.choice(["int", "int", "int", "frac", "sqrt", "interval", "pi", "poly", "pair"])
    a, b = int(rng.integers(2, 60)), int(rng.integers(2, 60))
    if kind == "int":
        v = int(rng.integers(-50, 5000))
        gold = str(v)
        same = [f"{v}.0", f"\\frac{{{2 * v}}}{{2}}", f"{{{v}}}", f"{v}.00",
                f"\\dfrac{{{3 * v}}}{{3}}"]
        wrong = [str(v + d) for d in range(-40, 41) if d] + [
            f"{-v - 1}", f"{v}^2", f"\\frac{{{v}}}{{2}}"]
    elif kind == "frac":
        q = int(rng.choice([3, 4, 5, 7, 8, 9, 11, 16, 25]))
        p = int(rng.integers(1, 5 * q))
        while np.gcd(p, q) != 1:
            p += 1
        gold = f"\\frac{{{p}}}{{{q}}}"
        same = [f"\\dfrac{{{p}}}{{{q}}}", f"{p}/{q}", f"\\frac{{{2 * p}}}{{{2 * q}}}",
                f"\\tfrac{{{p}}}{{{q}}}", f"\\frac{{{p * 5}}}{{{q * 5}}}"]
        if q in (4, 5, 8, 16, 25):
            same.append(str(p / q))
        wrong = [f"\\frac{{{p + d}}}{{{q}}}" for d in range(1, 30)] + [f"\\frac{{{q}}}{{{p}}}",
                                                                         f"{p / q + 0.1:.3f}"]
    elif kind == "sqrt":
        b = int(rng.choice([2, 3, 5, 6, 7, 10, 11, 13]))
        gold = f"{a}\\sqrt{{{b}}}"
        same = [f"\\sqrt{{{a * a * b}}}", f"{a} \\sqrt{{{b}}}", f"\\sqrt{{{b}}} \\cdot {a}",
                f"{a}\\sqrt {b}"]
        wrong = [f"{a + d}\\sqrt{{{b}}}" for d in range(1, 20)] + [
            f"{a}\\sqrt{{{b + d}}}" for d in range(1, 10)] + [f"\\sqrt{{{a * b}}}"]
    elif kind == "interval":
        lo, hi = sorted((int(rng.integers(-20, 20)), int(rng.integers(21, 60))))
        gold = f"[{lo}, {hi})"
        same = [f"[{lo},{hi})", f"\\left[{lo}, {hi}\\right)", f"[{lo},\\ {hi})"]
        wrong = [f"({lo}, {hi})", f"[{lo}, {hi}]", f"({lo}, {hi}]"] + [
            f"[{lo}, {hi + d})" for d in range(1, 15)] + [f"[{lo - d}, {hi})" for d in range(1, 15)]
    elif kind == "pi":
        gold = f"\\frac{{{a}\\pi}}{{{b}}}"
        same = [f"\\frac{{{a}}}{{{b}}}\\pi", f"\\frac{{\\pi {a}}}{{{b}}}", f"{a}\\pi/{b}",
                f"\\dfrac{{{2 * a}\\pi}}{{{2 * b}}}"]
        wrong = [f"\\frac{{{a + d}\\pi}}{{{b}}}" for d in range(1, 25)] + [f"{a / b:.4f}",
                                                                           f"\\frac{{{a}}}{{{b}}}"]
    elif kind == "poly":
        gold = f"x^2 + {a}x + {b}"
        same = [f"{a}x + x^2 + {b}", f"x^{{2}}+{a}x+{b}", f"{b} + {a} x + x^2", f"x(x+{a})+{b}"]
        wrong = [f"x^2 + {a + d}x + {b}" for d in range(1, 15)] + [
            f"x^2 + {a}x + {b + d}" for d in range(1, 15)] + [f"x^2 - {a}x + {b}"]
    else:  # pair
        gold = f"({a}, {b})"
        same = [f"({a},{b})", f"\\left({a}, {b}\\right)", f"({a}, \\ {b})"]
        wrong = [f"({b}, {a})"] + [f"({a + d}, {b})" for d in range(1, 20)] + [
            f"({a}, {b + d})" for d in range(1, 20)]
    return gold, same, wrong


# Slow for sympy: power towers, huge factorials, nested squares (time out under 5 s), a
# nested fraction (times out against a number), long sums and products (up to seconds),
# thousands of digits (fast, but huge).
PATHOLOGICAL = [
    lambda rng: "9^{9^{9^{" + str(int(rng.integers(5, 10))) + "}}}",
    lambda rng: f"({10 ** int(rng.integers(9, 12))})!",
    lambda rng: "(" * 25 + f"x+{int(rng.integers(1, 9))}" + ")^2" * 25,
    lambda rng: "+".join(f"x^{{{i}}}" for i in range(int(rng.integers(120, 200)))),
    lambda rng: "".join(str(d) for d in rng.integers(0, 10, size=int(rng.integers(2000, 6000)))),
    lambda rng: "\\frac{1}{" * 40 + "2" + "}" * 40,
    lambda rng: "".join(f"(x+{i})" for i in range(1, int(rng.integers(30, 50)))),
]

WORDS = ("first", "note", "that", "we", "compute", "so", "then", "hence", "the", "sum", "of",
         "terms", "gives", "substituting", "simplify", "check", "which", "equals", "since")


def _reasoning(rng) -> str:
    parts = []
    for _ in range(int(rng.integers(4, 12))):
        x, y = int(rng.integers(1, 100)), int(rng.integers(1, 100))
        words = " ".join(rng.choice(WORDS, size=int(rng.integers(4, 12))))
        parts.append(f"{words.capitalize()} ${x} + {y} = {x + y}$.")
    return " ".join(parts)


def make_corpus(problems: int, samples: int, seed: int,
                pathological_rate: float = 0.04) -> tuple[pd.DataFrame, dict[str, str]]:
    """Samples (problem_id, completion, finish_reason, pathological) and the gold answers;
    a share ``pathological_rate`` of problems has one to three pathological samples."""
    rng = np.random.default_rng(seed)
    rows, gold = [], {}
    texts = [_reasoning(rng) for _ in range(5000)]  # reasoning paragraphs to draw from
    for p in range(problems):
        pid = f"p{p:05d}"
        answer, same, wrong = _gold_and_rewrites(rng)
        gold[pid] = answer
        solve = float(rng.beta(0.6, 0.6))
        n_wrong = int(rng.integers(15, min(50, len(wrong)) + 1))
        wrong = list(rng.choice(wrong, size=n_wrong, replace=False))
        # gold as written, its rewrites, then wrong answers with a Zipf-like tail
        w_wrong = 1.0 / np.arange(1, n_wrong + 1)
        weights = np.concatenate([[0.8 * solve], np.full(len(same), 0.2 * solve / len(same)),
                                  (1 - solve) * w_wrong / w_wrong.sum()])
        candidates = [answer] + same + wrong
        picks = rng.choice(len(candidates), size=samples, p=weights / weights.sum())
        weird = rng.random() < pathological_rate  # this problem drew a pathological answer or two
        for i, pick in enumerate(picks):
            box, finish, patho = candidates[pick], "stop", False
            u = rng.random()
            if weird and i < int(rng.integers(1, 4)):
                box, patho = PATHOLOGICAL[int(rng.integers(len(PATHOLOGICAL)))](rng), True
            elif u < 0.01:  # no box: math-verify reads the completion's end
                box = None
            elif u < 0.02:
                finish = "length"
            text = texts[int(rng.integers(len(texts)))]
            if finish == "length":
                completion = text
            elif box is None:
                completion = f"{text} So I believe the result is {candidates[pick]}."
            else:
                completion = f"{text} Therefore, the final answer is $\\boxed{{{box}}}$."
            rows.append((pid, completion, finish, patho))
    columns = ["problem_id", "completion", "finish_reason", "pathological"]
    return pd.DataFrame(rows, columns=columns), gold


# --- the naive baseline --------------------------------------------------------------------


class _Timeout(BaseException):
    pass


def _raise(signum, frame):
    raise _Timeout()


def naive_status(gold: str, completion: str, finish_reason: str, timeout_s: float) -> str:
    """One sample, graded from scratch: parse gold and answer, verify, under an alarm."""
    from math_verify import parse, verify

    if finish_reason == "length":
        return "truncated"
    answer = extract_boxed(completion)
    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        gold_parsed = parse(f"\\boxed{{{scientific_to_latex(gold)}}}", parsing_timeout=None)
        text = (f"\\boxed{{{scientific_to_latex(answer)}}}" if answer is not None
                else completion[-TAIL_CHARS:])
        answer_parsed = parse(text, parsing_timeout=None)
        if not answer_parsed:
            return "unparsable"
        return "correct" if verify(gold_parsed, answer_parsed, timeout_seconds=None) else "wrong"
    except _Timeout:
        return "timeout"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the pool's workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--samples", type=int, default=200, help="samples per problem")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="per answer, s")
    parser.add_argument("--naive-problems", type=int, default=12,
                        help="problems whose ordinary samples the naive baseline grades (scaled)")
    parser.add_argument("--naive-pathological", type=int, default=6,
                        help="samples with a pathological answer the baseline grades (scaled)")
    parser.add_argument("--naive-order", choices=["grouped", "shuffled"], default="grouped",
                        help="baseline's ordinary samples grouped by problem, or shuffled")
    parser.add_argument("--pathological-rate", type=float, default=0.04,
                        help="share of problems with 1-3 pathological samples")
    parser.add_argument("--ours-parsing", choices=["two-stage", "ll"], default="two-stage",
                        help="ours with two-stage LaTeX parsing (as the workflow) or LL only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    corpus, gold = make_corpus(args.problems, args.samples, args.seed, args.pathological_rate)
    boxes = [extract_boxed(c) for c in corpus.completion]
    graded = corpus.finish_reason != "length"
    keys = {(p, b if b is not None else c[-TAIL_CHARS:], w) for p, b, c, g, w in zip(
        corpus.problem_id, boxes, corpus.completion, graded, corpus.pathological) if g}
    per_problem = corpus.assign(box=boxes)[graded].groupby("problem_id").box.nunique()
    print(f"{args.problems} problems x {args.samples} samples = {len(corpus):,} samples; "
          f"{len(keys):,} distinct (problem, answer) pairs to grade "
          f"({sum(k[2] for k in keys)} of them pathological); distinct boxed answers per "
          f"problem: median {per_problem.median():.0f}, max {per_problem.max()}; "
          f"{int(corpus.pathological.sum())} pathological samples in "
          f"{corpus[corpus.pathological].problem_id.nunique()} problems")

    if args.ours_parsing == "ll":  # the grader switches two-stage parsing on: make that LL
        latex_parsing._two_stage_create_parser = latex_parsing._LL_CREATE_PARSER
    started, cpu_started = time.perf_counter(), _cpu_s()
    ours = grade_completions(corpus, gold, "math_verify", threads=args.threads,
                             timeout_s=args.timeout)
    ours_s, ours_cpu = time.perf_counter() - started, _cpu_s() - cpu_started
    statuses = ours.grade_status_math_verify
    print(f"statuses (ours): {dict(Counter(statuses).most_common())}")

    # naive, per stratum: a random subset, its time scaled by the stratum's size. Ordinary
    # samples, --naive-order grouped: every sample of some random problems in corpus order, as
    # a sequential run meets them (math-verify's small parse cache then sees a problem's
    # repeated answers); shuffled: as many random samples, in random order (samples not
    # grouped by problem: the cache rarely hits).
    rng = np.random.default_rng(args.seed + 1)
    chosen = rng.choice(corpus.problem_id.unique(), size=min(args.naive_problems, args.problems),
                        replace=False)
    ordinary = ~corpus.pathological.to_numpy()
    subset = np.flatnonzero(ordinary & corpus.problem_id.isin(chosen))
    how = f"all samples of {len(chosen)} random problems"
    if args.naive_order == "shuffled":
        subset = rng.choice(np.flatnonzero(ordinary), size=len(subset), replace=False)
        how = "random samples in random order"
    strata = [("ordinary", ordinary, subset, how)]
    pathological = np.flatnonzero(~ordinary)
    if len(pathological) and args.naive_pathological > 0:
        strata.append(("pathological", ~ordinary, np.sort(rng.choice(
            pathological, size=min(args.naive_pathological, len(pathological)), replace=False)),
            "random samples"))
    latex_parsing.use_two_stage_parsing(False)  # the baseline parses as math-verify ships
    naive_s, naive_cpu, agree, checked, notes = 0.0, 0.0, 0, 0, []
    for name, members, subset, how in strata:
        started, cpu_started = time.perf_counter(), time.process_time()
        naive = [naive_status(gold[corpus.problem_id.iat[i]], corpus.completion.iat[i],
                              corpus.finish_reason.iat[i], args.timeout) for i in subset]
        spent = time.perf_counter() - started
        naive_s += spent / len(subset) * members.sum()
        naive_cpu += (time.process_time() - cpu_started) / len(subset) * members.sum()
        agree += sum(a == b for a, b in zip(naive, statuses.iloc[subset]))
        checked += len(subset)
        notes.append(f"{name}: {len(subset):,} of {members.sum():,} samples ({how}) in "
                     f"{spent:.1f} s, scaled to {spent / len(subset) * members.sum():.0f} s")

    rate, naive_rate = len(corpus) / ours_s, len(corpus) / naive_s
    print(f"grade_completions : {ours_s:8.1f} s  {rate:8.0f} samples/s  CPU {ours_cpu:7.1f} s  "
          f"({args.threads} processes, timeout {args.timeout:g} s, {args.ours_parsing} parsing)")
    print(f"naive sequential  : {naive_s:8.1f} s  {naive_rate:8.0f} samples/s  "
          f"CPU {naive_cpu:7.1f} s  (estimated: timed on a stratified random subset, scaled "
          f"per stratum; {'; '.join(notes)})")
    print(f"ratio             : {naive_s / ours_s:8.1f}x wall, {naive_cpu / ours_cpu:.1f}x CPU "
          f"(CPU: this process and its pool workers)")
    print(f"statuses agree on {agree}/{checked} subset samples; target >= 10x wall: "
          f"{'met' if naive_s / ours_s >= 10 else 'missed'}")
    if agree != checked:
        raise SystemExit("statuses differ between ours and the naive baseline")


if __name__ == "__main__":
    main()
