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
(problem, extracted answer) pairs are graded once, in a process pool: math-verify's time
limit uses signals, which only work in a process's main thread.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import re
import signal
import time
from contextlib import contextmanager

import pandas as pd

from .benchmarks import last_boxed
from .task import GRADE_STATUSES
from .workflow_io import progress_line

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


def _math_verify_status(gold: str, answer: str | None, completion_tail: str,
                        timeout_s: float) -> str:
    from math_verify import parse, verify

    try:
        with _time_limit(timeout_s):
            gold_parsed = parse(f"\\boxed{{{scientific_to_latex(gold)}}}", parsing_timeout=None)
            text = (f"\\boxed{{{scientific_to_latex(answer)}}}" if answer is not None
                    else completion_tail)
            answer_parsed = parse(text, parsing_timeout=None)
            if not answer_parsed:
                return "unparsable"
            if not gold_parsed:
                raise ValueError(f"math-verify cannot parse the gold answer {gold!r}")
            return "correct" if verify(gold_parsed, answer_parsed, timeout_seconds=None) else "wrong"
    except _AnswerTimeout:
        return "timeout"


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


def _lenient_status(gold: str, answer: str | None, timeout_s: float) -> str:
    if answer is None:
        return "unparsable"
    if lenient_equal(gold, answer):
        return "correct"
    # The original falls back to symbolic equality (sympy); math-verify plays that part
    # here, and, as in the original, a timeout is scored as wrong.
    return "correct" if _math_verify_status(gold, answer, "", timeout_s) == "correct" else "wrong"


def _warm_up() -> None:
    """Import math-verify (sympy, the LaTeX parser) and grade one answer here, before the pool
    forks, so its workers start warm instead of each importing it (again after a restart).
    No alarm: this may run outside the main thread, and "1" parses at once."""
    from math_verify import parse, verify

    verify(parse("\\boxed{1}", parsing_timeout=None), parse("\\boxed{1}", parsing_timeout=None),
           timeout_seconds=None)


def _grade_one(item: tuple) -> str:
    grader, gold, answer, tail, timeout_s = item
    if grader == "math_verify":
        return _math_verify_status(gold, answer, tail, timeout_s)
    return _lenient_status(gold, answer, timeout_s)


# --- many answers: dedup, process pool, hard limit -----------------------------------------

def grade_answers(items: list[tuple[str, str | None, str]], grader: str, threads: int = 1,
                  timeout_s: float = DEFAULT_TIMEOUT_S,
                  hard_limit_s: float | None = None) -> list[str]:
    """Status of each (gold, extracted answer or None, completion tail) under ``grader``.
    Items must be unique already (see :func:`grade_completions`). ``hard_limit_s``: how
    long to wait for one answer before restarting the pool (default 4 x timeout + 5 s)."""
    if grader not in GRADERS:
        raise ValueError(f"unknown grader {grader!r}; choose from {GRADERS}")
    work = [(grader, gold, answer, tail, timeout_s) for gold, answer, tail in items]
    statuses: list[str | None] = [None] * len(work)
    hard_limit = hard_limit_s if hard_limit_s is not None else HARD_LIMIT_FACTOR * timeout_s + 5
    context = multiprocessing.get_context("fork")
    if work:
        _warm_up()
    started = last_log = time.perf_counter()
    while any(s is None for s in statuses):
        pending = [i for i, s in enumerate(statuses) if s is None]
        with context.Pool(processes=max(1, int(threads))) as pool:
            results = {i: pool.apply_async(_grade_one, (work[i],)) for i in pending}
            for i in pending:
                try:
                    statuses[i] = results[i].get(timeout=hard_limit)
                    if time.perf_counter() - last_log >= PROGRESS_EVERY_S:
                        last_log = time.perf_counter()
                        _log_progress(sum(s is not None for s in statuses), len(work), started)
                except multiprocessing.TimeoutError:
                    # A worker ignored the alarm: record the timeout, keep what the other
                    # workers finished, restart the pool for the rest.
                    statuses[i] = "timeout" if grader == "math_verify" else "wrong"
                    for j in pending:
                        if statuses[j] is None and results[j].ready():
                            statuses[j] = results[j].get()
                    pool.terminate()
                    break
    assert set(statuses) <= set(GRADE_STATUSES)
    if time.perf_counter() - started >= PROGRESS_EVERY_S:
        _log_progress(len(work), len(work), started)
    return statuses  # type: ignore[return-value]


def _log_progress(done: int, total: int, started: float) -> None:
    log.info("graded distinct answers %s", progress_line(done, total, started))


def _answer_and_tail(completion: str, grader: str) -> tuple[str | None, str]:
    """The grader's extracted answer, and - when math-verify finds no boxed answer - the
    completion's end it reads instead (with the answer, the grading key)."""
    answer = (extract_boxed if grader == "math_verify" else extract_lenient)(completion)
    return answer, "" if answer is not None else completion[-TAIL_CHARS:]


def grade_completions(samples: pd.DataFrame, gold: dict[str, str], grader: str,
                      threads: int = 1, timeout_s: float = DEFAULT_TIMEOUT_S) -> pd.DataFrame:
    """``samples`` (problem_id, completion, finish_reason, ...) with ``answer_<grader>``
    (the extracted answer) and ``grade_status_<grader>`` added. Truncated samples are not
    graded; identical (problem, extracted answer) pairs are graded once."""
    missing = set(samples.problem_id) - set(gold)
    if missing:
        raise ValueError(f"no gold answer for {len(missing)} problems, e.g. {sorted(missing)[:3]}")
    out = samples.copy()
    extracted = [_answer_and_tail(text, grader) for text in out.completion]
    answers = [answer for answer, _ in extracted]
    keys = [(p, answer, tail) for p, (answer, tail) in zip(out.problem_id, extracted)]
    graded = out.finish_reason.to_numpy() != "length"
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


def grading_summary(scored: pd.DataFrame, model: str, benchmark: str,
                    temperature: float) -> pd.DataFrame:
    """One row: samples, truncated (finish_reason = length), and per grader the correct,
    timeout and unparsable counts, with math-verify's disagreement with the lenient rules."""
    row = {"model": model, "benchmark": benchmark, "temperature": float(temperature),
           "samples": len(scored), "truncated": int((scored.finish_reason == "length").sum())}
    for grader in GRADERS:
        status = scored[f"grade_status_{grader}"]
        for name in ("correct", "timeout", "unparsable"):
            row[f"{name}_{grader}"] = int((status == name).sum())
    comparison = grader_comparison(scored.assign(benchmark=benchmark), GRADERS[0], GRADERS[1])
    only = comparison.iloc[-1]
    row["only_math_verify"] = int(only.only_first)
    row["only_lenient"] = int(only.only_second)
    row["disagreement_rate"] = float(only.disagreement_rate)
    return pd.DataFrame([row])


def grade_completion(gold: str, completion: str, finish_reason: str = "stop",
                     timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """One completion's math-verify status in this process (e.g. an RL reward)."""
    if finish_reason == "length":
        return "truncated"
    return _math_verify_status(gold, *_answer_and_tail(completion, "math_verify"), timeout_s)
