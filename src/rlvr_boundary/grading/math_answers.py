"""Grading math answers: math-verify (the default) and the paper's lenient rules, compared.

``math_verify``: the answer is the last ``\\boxed{}`` of the completion (math-verify's own
extraction of the completion's end when there is none); gold and answer are compared by
math-verify (LaTeX parsing, symbolic and numeric equivalence).

``lenient``: the Qwen2.5-Math evaluation rules the paper used: boxed answer, else
"the answer is ...", else the LAST NUMBER in the text; equal after string normalisation,
or numerically within 1e-4 relative, also when off by a factor of 100 (percentages); a
timeout counts as wrong. Its leniency inflates large-k pass rates (a last number can be
right by accident); :func:`grader_comparison` measures how often the two disagree.

Every answer gets a status from task.GRADE_STATUSES. A sample cut off by the length limit
is ``truncated``; an answer whose grading exceeds the per-answer time limit is
``timeout`` under math_verify (its own status, never silently "wrong"). Identical
(problem, extracted answer) pairs are graded once, in a process pool (math-verify's time
limit uses signals, which only work in a process's main thread); an answer given to several
problems is parsed once for all of them, two plain integers are compared as integers, and
LaTeX is parsed two-stage (:mod:`.latex_parsing`: same results, 2.5x faster parses).
"""

from __future__ import annotations

import functools
import logging
import math
import multiprocessing
import re
import signal
import time
from contextlib import contextmanager

import pandas as pd

from ..sampling.benchmarks import last_boxed
from ..world.task import GRADE_STATUSES
from ..workflow.job_io import progress_line

log = logging.getLogger(__name__)
GRADERS = ("math_verify", "lenient")
# math-verify warns on every call that its own timeout is off: ours replaces it.
logging.getLogger("math_verify").setLevel(logging.ERROR)
DEFAULT_TIMEOUT_S = 5.0
# A worker stuck in C code ignores the alarm; the pool is restarted after this many
# per-answer limits without a result.
HARD_LIMIT_FACTOR = 4
TAIL_CHARS = 1000  # math-verify's fallback extraction looks at the completion's end only
PROGRESS_EVERY_S = 30.0  # a log line with rate and ETA this often while grading


class _AnswerTimeout(BaseException):
    """Raised by the alarm; a BaseException so math-verify's ``except Exception`` cannot
    swallow it and report the answer as wrong."""


@contextmanager
def _time_limit(seconds: float):
    def handler(signum, frame):
        raise _AnswerTimeout()

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- extraction ---------------------------------------------------------------------------

def extract_boxed(completion: str) -> str | None:
    """The answer math_verify grades: the last boxed expression, None when there is none."""
    return last_boxed(completion)


_THE_ANSWER_IS = re.compile(r"the (?:final )?answer is[:\s]*(.+?)(?:\.\s|\.?$|\n)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def extract_lenient(completion: str) -> str | None:
    """The paper's extraction: boxed, else "the answer is X", else the last number."""
    boxed = last_boxed(completion)
    if boxed is not None:
        return boxed
    said = _THE_ANSWER_IS.findall(completion)
    if said:
        return said[-1].strip().strip("$").strip()
    numbers = _NUMBER.findall(completion)
    return numbers[-1].replace(",", "") if numbers else None


# --- the two graders on one (gold, answer) pair --------------------------------------------

_SCIENTIFIC = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)e([+-]?\d+)(?!\w)")


def scientific_to_latex(text: str) -> str:
    """``4.5e33`` -> ``4.5 \\times 10^{33}``: math-verify does not read e-notation inside LaTeX,
    and 58 of Minerva's 272 gold answers are written that way."""
    return _SCIENTIFIC.sub(r"\1 \\times 10^{\2}", text)


# A plain integer both sides: math-verify would parse both to sympy Integers and compare
# them; int() gives the same verdict without the LaTeX parser (most golds of GSM8K, AIME and
# MATH500 are integers). Bounded length: int() refuses over 4,300 digits.
_PLAIN_INTEGER = re.compile(r"-?\d{1,100}")


def _plain_integer_status(gold: str, answer: str | None) -> str | None:
    """correct/wrong when gold and answer are both plain integers, else None."""
    if answer is None or not (_PLAIN_INTEGER.fullmatch(gold) and _PLAIN_INTEGER.fullmatch(answer)):
        return None
    return "correct" if int(gold) == int(answer) else "wrong"


def _math_verify_statuses(golds: list[str], answer: str | None, completion_tail: str,
                          timeout_s: float) -> list[str]:
    """One answer against several golds: the answer is parsed once (its parse does not depend
    on the gold); each (gold, answer) pair still has ``timeout_s`` for parsing both and
    verifying, the answer's parse time counted in every pair's budget."""
    from math_verify import parse

    from .latex_parsing import use_two_stage_parsing  # heavy imports, as math_verify's

    use_two_stage_parsing()  # already on in pool workers (see _warm_up); here for direct calls
    statuses = [_plain_integer_status(gold, answer) for gold in golds]
    rest = [gold for gold, status in zip(golds, statuses) if status is None]
    if not rest:
        return statuses  # type: ignore[return-value]
    started = time.perf_counter()
    try:
        with _time_limit(timeout_s):
            answer_parsed = parse(_boxed(answer) if answer is not None else completion_tail,
                                  parsing_timeout=None)
    except _AnswerTimeout:
        graded = ["timeout"] * len(rest)
    else:
        budget = timeout_s - (time.perf_counter() - started)
        graded = [_verify_status(gold, answer_parsed, budget) for gold in rest]
    remaining = iter(graded)
    return [status or next(remaining) for status in statuses]


def _verify_status(gold: str, answer_parsed: list, budget_s: float) -> str:
    from math_verify import verify

    if not answer_parsed:
        return "unparsable"
    if budget_s <= 0:  # the answer's parse alone took the pair's whole time
        return "timeout"
    try:
        with _time_limit(budget_s):
            gold_parsed = _parse_gold(gold)
            if not gold_parsed:
                raise ValueError(f"math-verify cannot parse the gold answer {gold!r}")
            return "correct" if verify(gold_parsed, answer_parsed, timeout_seconds=None) else "wrong"
    except _AnswerTimeout:
        return "timeout"


@functools.lru_cache(maxsize=4096)
def _parse_gold(gold: str) -> list:
    """A gold meets many answers; math-verify's own cache holds only its last 20 parses."""
    from math_verify import parse

    return parse(_boxed(gold), parsing_timeout=None)


def _boxed(answer: str) -> str:
    """An answer as math-verify reads it: in a box, e-notation written as LaTeX."""
    return f"\\boxed{{{scientific_to_latex(answer)}}}"


_STRIP = [(r"\\left|\\right|\\!|\\,|\\;|\\:|\s|\$", ""), (r"\\[dt]frac", r"\\frac"),
          (r"\\text\{\s*([^{}]*)\}", r"\1"), (r"\^\{?\\circ\}?|°", ""), (r"\.$", "")]


def _normalise(text: str) -> str:
    for pattern, replacement in _STRIP:
        text = re.sub(pattern, replacement, text)
    return text.lower()


def _number(text: str) -> float | None:
    text = _normalise(text).replace(",", "").rstrip("%").replace("\\%", "")
    try:
        value = float(text)
    except ValueError:
        match = re.fullmatch(r"\\frac\{(-?\d+)\}\{(-?\d+)\}", text)
        if match is None or int(match.group(2)) == 0:
            return None
        value = int(match.group(1)) / int(match.group(2))
    return value if math.isfinite(value) else None


def lenient_equal(gold: str, answer: str) -> bool:
    """The paper's rules: normalised strings equal, or numbers close (rel 1e-4), also
    after scaling the gold by 100 or 1/100 (percentage tolerance)."""
    if _normalise(gold) == _normalise(answer):
        return True
    gold_value, answer_value = _number(gold), _number(answer)
    if gold_value is None or answer_value is None:
        return False
    return any(math.isclose(answer_value, candidate, rel_tol=1e-4, abs_tol=1e-12)
               for candidate in (gold_value, gold_value / 100, gold_value * 100))


def _lenient_statuses(golds: list[str], answer: str | None, timeout_s: float) -> list[str]:
    if answer is None:
        return ["unparsable"] * len(golds)
    statuses = ["correct" if lenient_equal(gold, answer) else None for gold in golds]
    # The original falls back to symbolic equality (sympy); math-verify plays that part
    # here, and, as in the original, a timeout is scored as wrong.
    symbolic = iter(_math_verify_statuses([g for g, s in zip(golds, statuses) if s is None],
                                          answer, "", timeout_s))
    return [status or ("correct" if next(symbolic) == "correct" else "wrong")
            for status in statuses]


def _warm_up() -> None:
    """Import math-verify (sympy, the LaTeX parser) and grade one answer here, before the pool
    forks, so its workers start warm instead of each importing it (again after a restart).
    No alarm: this may run outside the main thread, and "1" parses at once. Two-stage LaTeX
    parsing is switched on here, so the workers inherit it."""
    from math_verify import parse, verify

    from .latex_parsing import use_two_stage_parsing

    use_two_stage_parsing()
    verify(parse("\\boxed{1}", parsing_timeout=None), parse("\\boxed{1}", parsing_timeout=None),
           timeout_seconds=None)


def _grade_answer(task: tuple) -> list[str]:
    """One extracted answer (or completion tail) against each of its golds."""
    grader, golds, answer, tail, timeout_s = task
    if grader == "math_verify":
        return _math_verify_statuses(golds, answer, tail, timeout_s)
    return _lenient_statuses(golds, answer, timeout_s)


# --- many answers: dedup, process pool, hard limit -----------------------------------------

def grade_answers(items: list[tuple[str, str | None, str]], grader: str, threads: int = 1,
                  timeout_s: float = DEFAULT_TIMEOUT_S,
                  hard_limit_s: float | None = None) -> list[str]:
    """Status of each (gold, extracted answer or None, completion tail) under ``grader``.
    Items must be unique already (see :func:`grade_completions`). Items with the same answer
    (and tail) are one task: the answer is parsed once for all its golds. ``hard_limit_s``:
    how long to wait for one item before restarting the pool (default 4 x timeout + 5 s; a
    task of several items gets ``timeout_s`` more per further item)."""
    if grader not in GRADERS:
        raise ValueError(f"unknown grader {grader!r}; choose from {GRADERS}")
    members: dict[tuple, list[int]] = {}
    for i, (_, answer, tail) in enumerate(items):
        members.setdefault((answer, tail), []).append(i)
    tasks = [(key, members[key]) for key in sorted(members, key=repr)]
    work = [(grader, [items[i][0] for i in indices], *key, timeout_s) for key, indices in tasks]
    done: list[list[str] | None] = [None] * len(work)
    hard_limit = hard_limit_s if hard_limit_s is not None else HARD_LIMIT_FACTOR * timeout_s + 5
    gave_up = "timeout" if grader == "math_verify" else "wrong"
    context = multiprocessing.get_context("fork")
    if work:
        _warm_up()
    started = last_log = time.perf_counter()
    while any(d is None for d in done):
        pending = [t for t, d in enumerate(done) if d is None]
        with context.Pool(processes=max(1, int(threads))) as pool:
            results = {t: pool.apply_async(_grade_answer, (work[t],)) for t in pending}
            for t in pending:
                try:
                    done[t] = results[t].get(timeout=hard_limit + timeout_s * (len(tasks[t][1]) - 1))
                    if time.perf_counter() - last_log >= PROGRESS_EVERY_S:
                        last_log = time.perf_counter()
                        _log_progress(sum(len(tasks[u][1]) for u, d in enumerate(done) if d),
                                      len(items), started)
                except multiprocessing.TimeoutError:
                    # A worker ignored the alarm: record the timeout, keep what the other
                    # workers finished, restart the pool for the rest.
                    done[t] = [gave_up] * len(tasks[t][1])
                    for u in pending:
                        if done[u] is None and results[u].ready():
                            done[u] = results[u].get()
                    pool.terminate()
                    break
    statuses: list[str] = [""] * len(items)
    for (_, indices), task_statuses in zip(tasks, done):
        for i, status in zip(indices, task_statuses):
            statuses[i] = status
    assert set(statuses) <= set(GRADE_STATUSES)
    if time.perf_counter() - started >= PROGRESS_EVERY_S:
        _log_progress(len(items), len(items), started)
    return statuses


def _log_progress(done: int, total: int, started: float) -> None:
    log.info("graded distinct answers %s", progress_line(done, total, started))


def _answer_and_tail(completion: str, grader: str) -> tuple[str | None, str]:
    """The grader's extracted answer, and - when math-verify finds no boxed answer - the
    completion's end it reads instead (with the answer, the grading key)."""
    answer = (extract_boxed if grader == "math_verify" else extract_lenient)(completion)
    return answer, "" if answer is not None else completion[-TAIL_CHARS:]


def grade_completions(samples: pd.DataFrame, gold: dict[str, str], grader: str,
                      threads: int = 1, timeout_s: float = DEFAULT_TIMEOUT_S,
                      grade_truncated: bool = False) -> pd.DataFrame:
    """``samples`` (problem_id, completion, finish_reason, ...) with ``answer_<grader>``
    (the extracted answer) and ``grade_status_<grader>`` added. Truncated samples get the
    status ``truncated``, or with ``grade_truncated`` are graded like the others (as the
    paper's evaluation did); identical (problem, extracted answer) pairs are graded once."""
    missing = set(samples.problem_id) - set(gold)
    if missing:
        raise ValueError(f"no gold answer for {len(missing)} problems, e.g. {sorted(missing)[:3]}")
    out = samples.copy()
    extracted = [_answer_and_tail(text, grader) for text in out.completion]
    answers = [answer for answer, _ in extracted]
    keys = [(p, answer, tail) for p, (answer, tail) in zip(out.problem_id, extracted)]
    graded = (out.finish_reason.to_numpy() != "length") | grade_truncated
    unique = sorted({key for key, g in zip(keys, graded) if g}, key=repr)
    statuses = grade_answers([(gold[p], a, t) for p, a, t in unique], grader, threads, timeout_s)
    by_key = dict(zip(unique, statuses))
    out[f"answer_{grader}"] = answers
    out[f"grade_status_{grader}"] = [by_key[key] if g else "truncated" for key, g in zip(keys, graded)]
    return out


def grader_comparison(scored: pd.DataFrame, first: str = "math_verify",
                      second: str = "lenient") -> pd.DataFrame:
    """How often two graders disagree, per benchmark (if the frame has one) and overall:
    both correct, only ``first``, only ``second``, neither, and the disagreement rate."""
    a = scored[f"grade_status_{first}"] == "correct"
    b = scored[f"grade_status_{second}"] == "correct"
    frame = pd.DataFrame({"benchmark": scored.get("benchmark", pd.Series("all", index=scored.index)),
                          "a": a, "b": b})
    rows = []
    groups = list(frame.groupby("benchmark", sort=True))
    if len(groups) > 1:
        groups.append(("all", frame))
    for benchmark, group in groups:
        only_a, only_b = int((group.a & ~group.b).sum()), int((~group.a & group.b).sum())
        rows.append({"benchmark": benchmark, "first": first, "second": second,
                     "samples": len(group), "both_correct": int((group.a & group.b).sum()),
                     "only_first": only_a, "only_second": only_b,
                     "neither": int((~group.a & ~group.b).sum()),
                     "disagreement_rate": (only_a + only_b) / len(group),
                     "accuracy_first": float(group.a.mean()),
                     "accuracy_second": float(group.b.mean())})
    return pd.DataFrame(rows)


def grade_completion(gold: str, completion: str, finish_reason: str = "stop",
                     timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """One completion's math-verify status in this process (e.g. an RL reward)."""
    if finish_reason == "length":
        return "truncated"
    answer, tail = _answer_and_tail(completion, "math_verify")
    return _math_verify_statuses([gold], answer, tail, timeout_s)[0]
