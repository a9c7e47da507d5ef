"""Grading sample tables and counting correct samples per problem."""

from __future__ import annotations

import pandas as pd
import pytest

from rlvr_boundary.grading.counting import (
    COUNT_COLUMNS,
    benchmark_samples,
    check_counts,
    count_correct,
    grade_benchmark,
    grade_samples,
    grading_summary,
)
from rlvr_boundary.workflow.recorded import write_recorded_parquet
from rlvr_boundary.world.data import problems_frame
from rlvr_boundary.world.task import Problem

BENCHMARK = problems_frame([Problem(4, (("+", 3), ("*", 2))), Problem(1, (("-", 2),))], "b")


def _samples():
    return pd.DataFrame({
        "problem_id": ["b-00000"] * 3 + ["b-00001"] * 3,
        "sample_id": [0, 1, 2, 0, 1, 2],
        "completion": ["+3=7*2=4|4", "+3=8*2=6|4", "+3=7*2=4|4", "-2=9|9", "-2=9|", "-2=9|9"],
        "finish_reason": ["stop", "stop", "length", "stop", "stop", "stop"],
        "completion_tokens": [10, 10, 10, 5, 4, 5],
    })


def test_grade_and_count():
    scored = grade_samples(_samples(), BENCHMARK, "trace")
    assert scored.grade_status_trace.tolist() == ["correct", "wrong", "truncated", "correct",
                                                  "unparsable", "correct"]
    assert scored.answer_correct.tolist() == [True, True, False, True, False, True]
    counts = count_correct(scored, "m", "b", 1.0, ["trace", "answer"])
    assert list(counts.columns) == COUNT_COLUMNS
    assert counts.set_index(["metric", "problem_id"]).c.to_dict() == {
        ("trace", "b-00000"): 1, ("trace", "b-00001"): 2,
        ("answer", "b-00000"): 2, ("answer", "b-00001"): 2}
    check_counts(counts)


def test_a_benchmarks_rows_of_a_sampling_jobs_table():
    other = _samples().assign(problem_id="x-00000")
    job = pd.concat([other.assign(benchmark="x"), _samples().assign(benchmark="b")], ignore_index=True)
    pd.testing.assert_frame_equal(benchmark_samples(job, "b"), _samples())
    with pytest.raises(ValueError, match="'benchmark' column"):
        benchmark_samples(_samples(), "b")


@pytest.mark.parametrize("breakage, message", [
    (lambda s: s.drop(columns="finish_reason"), "lacks columns"),
    (lambda s: s.assign(problem_id="nope"), "not in the benchmark"),
    (lambda s: s.assign(sample_id=0), "duplicate"),
    (lambda s: s.assign(finish_reason="eos"), "finish_reason"),
])
def test_malformed_samples_are_refused(breakage, message):
    with pytest.raises(ValueError, match=message):
        grade_samples(breakage(_samples()), BENCHMARK, "trace")


def test_bad_counts_are_refused():
    counts = count_correct(grade_samples(_samples(), BENCHMARK, "trace"), "m", "b", 1.0, ["trace"])
    with pytest.raises(ValueError, match="c > n"):
        check_counts(counts.assign(c=99))


def test_grade_benchmark_uses_the_benchmarks_grader(tmp_path):
    path = tmp_path / "b.parquet"
    write_recorded_parquet(BENCHMARK, path)  # as make_task_data writes it
    graded = grade_benchmark(_samples(), str(path), {"kind": "tiny_world", "claim_metric": "trace"})
    pd.testing.assert_frame_equal(graded, grade_samples(_samples(), BENCHMARK, "trace"))
    with pytest.raises(ValueError, match="unknown grader 'exact'"):
        grade_benchmark(_samples(), str(path), {"kind": "exact"})


def test_grading_summary_counts_statuses_and_disagreement():
    scored = grade_samples(_samples(), BENCHMARK, "trace")
    row = grading_summary(scored, "m", "b", 1.0, ["trace", "answer"]).iloc[0]
    assert (row.samples, row.truncated) == (6, 1)
    assert (row.correct_trace, row.unparsable_trace, row.correct_answer) == (3, 1, 4)
    # Sample 1 of b-00000: wrong trace, right answer; nothing the other way round.
    assert (row.only_trace, row.only_answer) == (0, 1)
    assert row.disagreement_rate == pytest.approx(1 / 6)
