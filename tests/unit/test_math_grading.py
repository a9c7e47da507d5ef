"""math-verify grading on the shipped benchmarks' gold answers, the lenient grader, timeouts."""

import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from rlvr_boundary.grading import math_answers as math_grading
from rlvr_boundary.sampling.benchmarks import load_benchmark
from rlvr_boundary.grading.math_answers import (
    extract_lenient,
    grade_answers,
    grade_completions,
    grader_comparison,
    lenient_equal,
)
from rlvr_boundary.analyses.real_counts import REAL_DEFAULTS
from rlvr_boundary.world.task import GRADE_STATUSES

REPO = Path(__file__).resolve().parents[2]


def _table(name):
    return load_benchmark(name, REAL_DEFAULTS["benchmarks"][name], root=REPO)[0]


def _samples(table, answers):
    return pd.DataFrame({"problem_id": table.problem_id, "finish_reason": "stop",
                         "completion": [f"Let me work it out. So the answer is $\\boxed{{{a}}}$."
                                        for a in answers]})


@pytest.mark.parametrize("name", ["math500", "gsm8k", "minerva_math", "aime24"])
def test_every_gold_answer_is_correct_against_itself(name):
    table = _table(name)
    gold = dict(zip(table.problem_id, table.reference_answer))
    out = grade_completions(_samples(table, table.reference_answer), gold, "math_verify", threads=2)
    failing = out[out.grade_status_math_verify != "correct"]
    assert failing.empty, failing[["problem_id", "answer_math_verify", "grade_status_math_verify"]]


def _integer_golds(names):
    table = pd.concat([_table(n) for n in names], ignore_index=True)
    return table[table.reference_answer.str.fullmatch(r"-?\d+")].reset_index(drop=True)


def test_equivalent_and_wrong_rewrites_of_integer_golds():
    table = _integer_golds(["gsm8k", "aime24", "math500"]).iloc[::10].reset_index(drop=True)
    assert len(table) > 120
    gold = dict(zip(table.problem_id, table.reference_answer))
    equivalent = [f"\\frac{{{2 * int(a)}}}{{2}}" for a in table.reference_answer]
    wrong = [str(int(a) + 1) for a in table.reference_answer]
    assert set(grade_completions(_samples(table, equivalent), gold, "math_verify",
                                 threads=2).grade_status_math_verify) == {"correct"}
    assert set(grade_completions(_samples(table, wrong), gold, "math_verify",
                                 threads=2).grade_status_math_verify) == {"wrong"}


@pytest.mark.parametrize("gold, answer, status", [
    ("\\frac{1}{2}", "0.5", "correct"),
    ("0.5", "1/2", "correct"),
    ("\\frac{1}{2}", "\\dfrac12", "correct"),
    ("\\frac{1}{2}", "\\frac{1}{3}", "wrong"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\pi/2)", "correct"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\pi)", "wrong"),
    ("p - q", "-q+p", "correct"),
    ("p - q", "q - p", "wrong"),
    ("\\frac{14}{3}", "4\\frac{2}{3}", "correct"),
    ("1.6", "1.60", "correct"),
    ("4.5e33", "4.5 \\times 10^{33}", "correct"),
    ("4.5e33", "4.6 \\times 10^{33}", "wrong"),
    ("1e-5", "0.00001", "correct"),  # Minerva writes 58 golds in e-notation
])
def test_math_verify_equivalences(gold, answer, status):
    assert grade_answers([(gold, answer, "")], "math_verify")[0] == status


def test_statuses_truncated_unparsable_and_dedup():
    samples = pd.DataFrame({
        "problem_id": ["a", "a", "a", "a", "b"],
        "completion": ["\\boxed{2}", "so \\boxed{2}", "\\boxed{2} cut", "no answer at all", "\\boxed{3}"],
        "finish_reason": ["stop", "stop", "length", "stop", "stop"]})
    calls = []
    original = math_grading.grade_answers

    def counting(items, *args, **kwargs):
        calls.append(list(items))
        return original(items, *args, **kwargs)

    math_grading.grade_answers = counting
    try:
        out = grade_completions(samples, {"a": "2", "b": "4"}, "math_verify")
    finally:
        math_grading.grade_answers = original
    assert out.grade_status_math_verify.tolist() == ["correct", "correct", "truncated", "unparsable", "wrong"]
    assert len(calls[0]) == 3  # (a, 2) once, (a, no box: tail) once, (b, 3) once
    assert set(out.grade_status_math_verify) <= set(GRADE_STATUSES)
    # As the paper graded them: the truncated sample's boxed answer counts.
    paper = grade_completions(samples, {"a": "2", "b": "4"}, "math_verify", grade_truncated=True)
    assert paper.grade_status_math_verify.tolist() == ["correct", "correct", "correct",
                                                       "unparsable", "wrong"]


def test_pathological_answer_times_out_not_wrong():
    started = time.perf_counter()
    statuses = grade_answers([("1", "9^{9^{9^{9}}}", ""), ("2", "2", "")], "math_verify", threads=2,
                             timeout_s=1.0)
    assert statuses == ["timeout", "correct"]
    assert time.perf_counter() - started < 20


def _stuck(golds, answer, tail, timeout_s):
    """A grader that ignores the alarm (as if stuck in C code) when the answer says so."""
    if answer == "stuck":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    return ["correct"] * len(golds)


def test_a_worker_that_ignores_the_alarm_is_replaced(monkeypatch):
    monkeypatch.setattr(math_grading, "_math_verify_statuses", _stuck)  # inherited by fork
    started = time.perf_counter()
    statuses = grade_answers([("1", "1", ""), ("2", "stuck", ""), ("3", "stuck", ""), ("4", "4", "")],
                             "math_verify", threads=1, timeout_s=0.5, hard_limit_s=2)
    # both items of the stuck answer's task time out; the others are kept
    assert statuses == ["correct", "timeout", "timeout", "correct"]
    assert time.perf_counter() - started < 15


@pytest.mark.parametrize("gold, answer", [
    ("42", "42"), ("42", "042"), ("0", "-0"), ("-7", "-7"), ("-7", "7"), ("5", "50"),
    ("100", "1000"), ("123456789012345678901234567890", "123456789012345678901234567890"),
    ("123456789012345678901234567890", "123456789012345678901234567891"),
])
def test_plain_integers_compared_as_integers_agree_with_math_verify(gold, answer):
    from math_verify import parse

    fast = math_grading._plain_integer_status(gold, answer)
    assert fast is not None
    assert fast == math_grading._verify_status(gold, parse(f"\\boxed{{{answer}}}"), 5.0)


def test_plain_integer_shortcut_leaves_everything_else_to_math_verify():
    for gold, answer in [("42", "42.0"), ("1/2", "1/2"), ("42", None), ("4" * 101, "4" * 101),
                         ("1,000", "1000"), ("42", " 42")]:
        assert math_grading._plain_integer_status(gold, answer) is None


def test_an_answer_shared_by_problems_is_parsed_once(monkeypatch):
    import math_verify

    parsed = []
    real_parse = math_verify.parse

    def counting_parse(text, *args, **kwargs):
        parsed.append(text)
        return real_parse(text, *args, **kwargs)

    monkeypatch.setattr(math_verify, "parse", counting_parse)
    math_grading._parse_gold.cache_clear()
    statuses = math_grading._math_verify_statuses(["\\frac{1}{2}", "0.5", "\\frac{1}{3}", "7"],
                                                  "1/2", "", 5.0)
    assert statuses == ["correct", "correct", "wrong", "wrong"]
    assert parsed.count("\\boxed{1/2}") == 1
    # A shared answer whose parse times out is a timeout for every gold, not graded again.
    assert math_grading._math_verify_statuses(["1", "2"], "9^{9^{9^{9}}}", "", 0.5) == [
        "timeout", "timeout"]
    assert parsed.count("\\boxed{9^{9^{9^{9}}}}") == 1


@pytest.mark.parametrize("completion, extracted", [
    ("so \\boxed{12}", "12"),
    ("Thus the answer is 7.", "7"),
    ("we get 3 apples and then 1,250 pears", "1250"),
    ("nothing numeric", None),
])
def test_lenient_extraction(completion, extracted):
    assert extract_lenient(completion) == extracted


def test_lenient_rules_are_lenient():
    assert lenient_equal("50", "0.5")  # percentage tolerance: x / 100
    assert lenient_equal("0.25", "25")  # and x 100
    assert lenient_equal("\\dfrac{1}{2}", "\\frac{1}{2}")
    assert lenient_equal("3", "3.00001")  # rel 1e-4
    assert not lenient_equal("3", "3.01")
    assert grade_answers([("50", "0.5", "")], "math_verify") == ["wrong"]
    assert grade_answers([("50", "0.5", "")], "lenient") == ["correct"]


def test_grader_comparison_counts_disagreements():
    samples = pd.DataFrame({
        "benchmark": ["x", "x", "x", "y"],
        "problem_id": ["p1", "p1", "p2", "p3"],
        # boxed right; last number right but no box; percentage slip; wrong for both
        "completion": ["\\boxed{50}", "I think it is 50", "\\boxed{0.5}", "\\boxed{7}"],
        "finish_reason": "stop"})
    gold = {"p1": "50", "p2": "50", "p3": "8"}
    scored = grade_completions(grade_completions(samples, gold, "math_verify"), gold, "lenient")
    # math-verify reads the unboxed "50" from the completion's end too; the percentage slip
    # is only lenient's.
    assert scored.grade_status_math_verify.tolist() == ["correct", "correct", "wrong", "wrong"]
    assert scored.grade_status_lenient.tolist() == ["correct", "correct", "correct", "wrong"]
    table = grader_comparison(scored).set_index("benchmark")
    assert table.loc["x", "only_second"] == 1 and table.loc["x", "only_first"] == 0
    assert table.loc["x", "second"] == "lenient"
    assert table.loc["all", "disagreement_rate"] == pytest.approx(0.25)
    assert table.loc["y", "neither"] == 1
