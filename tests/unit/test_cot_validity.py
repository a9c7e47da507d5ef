"""C5 share and lucky-guess rates on hand-made trace/answer count tables."""

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.analyses.cot_validity import cot_validity_table, lucky_guess_rate


def counts(model, metric, correct, n=8, benchmark="x"):
    return pd.DataFrame({
        "model": model, "benchmark": benchmark, "temperature": 1.0, "metric": metric,
        "problem_id": [f"{benchmark}-{i}" for i in range(len(correct))], "n": n,
        "c": np.asarray(correct, dtype=int)})


REGISTRY = pd.DataFrame([
    dict(model="b", family="f", role="base", parent="", regime=""),
    dict(model="r", family="f", role="rl", parent="b", regime="narrow"),
    dict(model="d", family="f", role="distilled", parent="b", regime=""),
])
# 5 problems. RL solves (trace) p0, p1, p2, p3. The base has a valid chain on p0 and p1;
# on p2 it has right answers but only by wrong chains (lucky guesses); p3 nothing at all.
BASE_TRACE = [2, 1, 0, 0, 0]
BASE_ANSWER = [3, 1, 4, 0, 2]
RL_TRACE = [8, 5, 1, 2, 0]
RL_ANSWER = [8, 6, 1, 2, 0]
TABLE = pd.concat([counts("b", "trace", BASE_TRACE), counts("b", "answer", BASE_ANSWER),
                   counts("r", "trace", RL_TRACE), counts("r", "answer", RL_ANSWER),
                   counts("d", "trace", [8] * 5), counts("d", "answer", [8] * 5)])


def test_lucky_guess_rate():
    assert lucky_guess_rate(BASE_ANSWER, BASE_TRACE) == pytest.approx((1 + 0 + 4 + 0 + 2) / 10)
    assert lucky_guess_rate(RL_ANSWER, RL_TRACE) == pytest.approx(1 / 17)
    assert np.isnan(lucky_guess_rate([0, 0], [0, 0]))
    with pytest.raises(ValueError, match="exceeds"):
        lucky_guess_rate([1], [2])


def test_trace_mode_share_counts_only_valid_base_chains():
    table = cot_validity_table(TABLE, REGISTRY, 1.0, 400, 0)
    assert list(table["model"]) == ["r"]  # RL models only by default
    row = table.iloc[0]
    assert (row["model_solved"], row["base_valid"]) == (4, 2)
    assert row["share"] == pytest.approx(0.5)
    assert row["ci_low"] <= 0.5 <= row["ci_high"]
    assert row["steps_checked"] and row["mode"] == "trace"
    assert row["lucky_guess_base"] == pytest.approx(0.7)
    assert row["lucky_guess_model"] == pytest.approx(1 / 17)


def test_answer_only_mode_keeps_shape_and_marks_steps_unchecked():
    trace = cot_validity_table(TABLE, REGISTRY, 1.0, 400, 0)
    answer = cot_validity_table(TABLE, REGISTRY, 1.0, 400, 0, mode="answer_only")
    assert list(answer.columns) == list(trace.columns)
    row = answer.iloc[0]
    assert not row["steps_checked"] and row["mode"] == "answer_only"
    # RL answers right on p0-p3; the base has a right answer on p0, p1, p2 -> 3/4: the
    # lucky guesses on p2 count when chains are not checked.
    assert (row["model_solved"], row["base_valid"]) == (4, 3)
    assert row["share"] == pytest.approx(0.75)


def test_answer_only_without_trace_counts_has_nan_lucky_rates():
    only_answer = TABLE[TABLE["metric"] == "answer"]
    row = cot_validity_table(only_answer, REGISTRY, 1.0, 100, 0, mode="answer_only").iloc[0]
    assert row["share"] == pytest.approx(0.75)
    assert np.isnan(row["lucky_guess_base"]) and np.isnan(row["lucky_guess_model"])


def test_roles_and_unsolved_and_bad_mode():
    table = cot_validity_table(TABLE, REGISTRY, 1.0, 100, 0, roles=("rl", "distilled"))
    assert sorted(table["model"]) == ["d", "r"]
    nothing = pd.concat([counts("b", "trace", BASE_TRACE), counts("r", "trace", [0] * 5)])
    row = cot_validity_table(nothing, REGISTRY, 1.0, 100, 0).iloc[0]
    assert row["model_solved"] == 0 and np.isnan(row["share"])
    with pytest.raises(ValueError, match="mode"):
        cot_validity_table(TABLE, REGISTRY, 1.0, 100, 0, mode="steps")
