"""C5 annotation export / import on hand-made counts, scored samples and annotation files."""

import math

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.report.boundary_claims import c5_rows
from rlvr_boundary.analyses.cot_annotation import (
    ANNOTATION_COLUMNS,
    annotation_pages,
    c5_from_annotations,
    export_annotations,
    page_name,
    read_annotations,
)
from rlvr_boundary.analyses.cot_validity import COT_COLUMNS
from rlvr_boundary.stats.exact import clopper_pearson
from rlvr_boundary.workflow.job_io import write_csv

REGISTRY = pd.DataFrame([
    dict(model="b", family="f", role="base", parent="", regime="", study=""),
    dict(model="r", family="f", role="rl", parent="b", regime="narrow", study=""),
    dict(model="d", family="f", role="distilled", parent="b", regime="", study=""),
])
PROBLEMS = pd.DataFrame({
    "problem_id": ["p0", "p1", "p2", "p3"],
    "question": ["What is 1+1?", "Is <script>alert(1)</script> & x < y?", "3*3?", "4*4?"],
    "reference_answer": ["2", "yes", "9", "16"],
    "source": "hand"})


def counts_rows(model, correct, metric="math_verify", temperature=0.6, benchmark="bench", n=4):
    return pd.DataFrame({
        "model": model, "benchmark": benchmark, "temperature": temperature, "metric": metric,
        "problem_id": [f"p{i}" for i in range(len(correct))], "n": n, "c": correct})


# The RL model solves p0, p1, p2 under math_verify at 0.6 (not p3). Decoys: at another
# temperature and another metric it "solves" p3, which must not be exported.
COUNTS = pd.concat([
    counts_rows("r", [2, 1, 3, 0]),
    counts_rows("b", [3, 1, 0, 1]),
    counts_rows("r", [0, 0, 0, 4], temperature=1.0),
    counts_rows("r", [0, 0, 0, 4], metric="lenient"),
    counts_rows("d", [4, 4, 4, 4]),
], ignore_index=True)


def scored(rows):
    """rows: (problem_id, sample_id, math_verify status)."""
    return pd.DataFrame([
        dict(problem_id=p, sample_id=s, completion=f"chain {p}/{s} <b>", finish_reason="stop",
             completion_tokens=10, answer_math_verify="x", grade_status_math_verify=status,
             answer_lenient="x", grade_status_lenient="correct")
        for p, s, status in rows])


# Base samples 0..3 per problem, deliberately unsorted. p0: 3, 0, 2 correct -> first two
# by sample_id are 0 and 2. p1: only 1 correct. p2: none correct (lenient says correct:
# the metric must be respected). p3: all correct but the RL model does not solve it.
BASE_SCORED = scored([
    ("p0", 3, "correct"), ("p0", 1, "wrong"), ("p0", 2, "correct"), ("p0", 0, "correct"),
    ("p1", 0, "wrong"), ("p1", 1, "correct"), ("p1", 2, "wrong"), ("p1", 3, "no_answer"),
    ("p2", 0, "wrong"), ("p2", 1, "wrong"), ("p2", 2, "wrong"), ("p2", 3, "wrong"),
    ("p3", 0, "correct"), ("p3", 1, "correct"), ("p3", 2, "correct"), ("p3", 3, "correct"),
])


def export(**changes):
    arguments = dict(counts=COUNTS, registry=REGISTRY, scored_by_model={"b": BASE_SCORED},
                     problems=PROBLEMS, benchmark="bench", metric="math_verify",
                     temperature=0.6, samples_per_problem=2) | changes
    return export_annotations(**arguments)


def test_a_study_model_is_not_exported():
    # An algorithm-study RL model solving p3 leaves the sheet as it was: C5 is about the
    # main models.
    registry = pd.concat([REGISTRY, pd.DataFrame([dict(
        model="s", family="f", role="rl", parent="b", regime="algorithms", study="algorithms")])],
        ignore_index=True)
    counts = pd.concat([COUNTS, counts_rows("s", [0, 0, 0, 4])], ignore_index=True)
    with_study = export(registry=registry, counts=counts)
    assert set(with_study.rl_model) == {"r"}
    pd.testing.assert_frame_equal(with_study, export())


def test_export_picks_rl_solved_problems_and_first_correct_base_samples():
    sheet = export()
    assert list(sheet.columns) == ANNOTATION_COLUMNS
    assert list(zip(sheet.problem_id, sheet.sample_id)) == [
        ("p0", 0), ("p0", 2), ("p1", 1), ("p2", -1)]
    assert set(sheet.rl_model) == {"r"}  # the distilled model is no RL pair
    assert set(sheet.base_model) == {"b"}
    assert (sheet.family == "f").all() and (sheet.regime == "narrow").all()
    assert sheet.temperature.tolist() == [0.6] * 4
    assert sheet.completion.iloc[1] == "chain p0/2 <b>"
    assert sheet.question.iloc[2] == PROBLEMS.question[1]
    assert sheet.reference_answer.iloc[0] == "2"
    assert sheet.valid.iloc[:3].isna().all()
    one = export(samples_per_problem=1)
    assert list(zip(one.problem_id, one.sample_id)) == [("p0", 0), ("p1", 1), ("p2", -1)]


def test_solved_problem_without_correct_base_sample_is_prefilled_invalid():
    row = export().set_index("problem_id").loc["p2"]
    assert row["sample_id"] == -1
    assert row["completion"] == ""
    assert row["valid"] == 0
    assert row["note"] == "base has no correct sample"


def test_export_refuses_missing_base_samples():
    with pytest.raises(ValueError, match="no scored samples of base 'b'"):
        export(scored_by_model={"r": BASE_SCORED})
    with pytest.raises(ValueError, match="no samples of bench problem 'p1'"):
        export(scored_by_model={"b": BASE_SCORED[BASE_SCORED.problem_id != "p1"]})


def test_pages_escape_text_and_index_lists_every_problem():
    pages = annotation_pages(export())
    assert set(pages) == {"index.html", "bench__p0.html", "bench__p1.html", "bench__p2.html"}
    page = pages["bench__p1.html"]
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; x &lt; y?" in page
    assert "<pre>chain p1/1 &lt;b&gt;</pre>" in page
    assert "base has no correct sample" in pages["bench__p2.html"]
    index = pages["index.html"]
    for name in ("bench__p0.html", "bench__p1.html", "bench__p2.html"):
        assert f'href="{name}"' in index
    assert "<td>p0</td><td>2</td><td>1</td>" in index  # 2 base samples, 1 RL model
    assert "<td>p2</td><td>0</td><td>1</td>" in index


def test_page_names_are_filename_safe_and_distinct():
    slash, underscore = page_name("math500", "test/algebra/1.json"), page_name(
        "math500", "test_algebra_1.json")
    assert "/" not in slash and slash != underscore
    assert underscore == "math500__test_algebra_1.json.html"


def write_sheet(sheet, path, valid):
    """The exported sheet with ``valid`` filled in (strings as a person types them)."""
    filled = sheet.astype({"valid": object})
    filled["valid"] = valid
    write_csv(filled, path)
    return path


def test_read_annotations_normalises_valid(tmp_path):
    sheet = export()
    path = write_sheet(sheet, tmp_path / "a.csv", ["Yes", "", "FALSE", "0"])
    table = read_annotations(path)
    assert list(table.columns) == ANNOTATION_COLUMNS
    assert str(table.valid.dtype) == "Int64"
    assert table.valid.tolist()[0] == 1 and table.valid.tolist()[2:] == [0, 0]
    assert table.valid.isna().tolist() == [False, True, False, False]
    assert table.sample_id.tolist() == [0, 2, 1, -1]
    assert table.completion.iloc[0] == "chain p0/0 <b>"


def test_read_errors_name_file_and_line(tmp_path):
    sheet = export()
    # Completions spanning several lines: the reported line is the one an editor shows.
    sheet["completion"] = sheet["completion"] + "\nstep 2\nstep 3"
    bad = write_sheet(sheet, tmp_path / "bad.csv", ["1", "maybe", "", "0"])
    # header on line 1, each record takes 3 lines: records start at 2, 5, 8, 11
    with pytest.raises(ValueError, match=r"bad\.csv, line 5: valid must be .*'maybe'"):
        read_annotations(bad)
    missing = tmp_path / "missing.csv"
    write_csv(sheet.drop(columns=["valid"]), missing)
    with pytest.raises(ValueError, match=r"missing\.csv, line 1: missing columns \['valid'\]"):
        read_annotations(missing)
    doubled = pd.concat([sheet, sheet.iloc[[1]]], ignore_index=True)
    duplicate = write_sheet(doubled, tmp_path / "dup.csv", ["1", "0", "", "0", "1"])
    with pytest.raises(ValueError, match=r"dup\.csv, line 14: duplicate of line 5"):
        read_annotations(duplicate)
    lucky = write_sheet(sheet, tmp_path / "lucky.csv", ["", "", "", "1"])
    with pytest.raises(ValueError, match=r"lucky\.csv, line 11: sample_id -1"):
        read_annotations(lucky)


def annotations(problem_valid, model="r", benchmark="bench"):
    """problem -> list of valid values (1, 0 or None), one per base sample."""
    return pd.DataFrame([
        dict(family="f", regime="narrow", base_model="b", rl_model=model, benchmark=benchmark,
             temperature=0.6, problem_id=p, sample_id=i, question="", reference_answer="",
             completion="", valid=pd.NA if v is None else v, note="")
        for p, values in problem_valid.items() for i, v in enumerate(values)],
        columns=ANNOTATION_COLUMNS).astype({"valid": "Int64"})


def test_undecided_problems_are_excluded_and_counted():
    table = c5_from_annotations(annotations({
        "valid_first": [1, None],       # decided: a valid chain, the blank does not matter
        "valid_late": [0, 1],           # decided: valid
        "all_wrong": [0, 0],            # decided: no valid chain
        "undecided": [0, None],         # blank and none valid: excluded
        "blank": [None, None],          # excluded
    }), REGISTRY)
    assert list(table.columns) == COT_COLUMNS + ["n_undecided"]
    row = table.iloc[0]
    assert (row.n_problems, row.model_solved, row.base_valid, row.n_undecided) == (5, 3, 2, 2)
    assert row.share == pytest.approx(2 / 3)
    assert row.ci_low < 2 / 3 < row.ci_high
    assert row["mode"] == "annotated" and row.steps_checked
    assert (row.model, row.base_model, row.family, row.regime, row.role, row.study) == (
        "r", "b", "f", "narrow", "rl", "")
    assert row.temperature == 0.6
    assert math.isnan(row.lucky_guess_model) and math.isnan(row.lucky_guess_base)


def test_nothing_decided_gives_nan_share():
    row = c5_from_annotations(annotations({"a": [None], "b": [0, None]}), REGISTRY).iloc[0]
    assert row.model_solved == 0 and row.n_undecided == 2
    assert np.isnan([row.share, row.ci_low, row.ci_high]).all()


def test_no_correct_sample_row_counts_invalid_even_when_blank():
    table = annotations({"p": [1], "q": [None]})
    table.loc[table.problem_id == "q", "sample_id"] = -1
    row = c5_from_annotations(table, REGISTRY).iloc[0]
    assert (row.model_solved, row.base_valid, row.n_undecided) == (2, 1, 0)


def test_c5_refuses_inconsistent_annotations():
    twice = pd.concat([annotations({"p": [1]}), annotations({"p": [1]})], ignore_index=True)
    with pytest.raises(ValueError, match="duplicate annotation rows"):
        c5_from_annotations(twice, REGISTRY)
    registry = pd.concat([REGISTRY, pd.DataFrame([dict(
        model="r2", family="f", role="rl", parent="b", regime="broad", study="")])])
    both_ways = pd.concat([annotations({"p": [1]}), annotations({"p": [0]}, model="r2")])
    with pytest.raises(ValueError, match="both valid and not valid"):
        c5_from_annotations(both_ways, registry)
    with pytest.raises(ValueError, match="not in the registry"):
        c5_from_annotations(annotations({"p": [1]}, model="ghost"), REGISTRY)


@pytest.mark.parametrize("successes, trials, low, high", [
    (0, 30, 0.0, 0.1157),
    (4, 4, 0.3976, 1.0),
    (5, 10, 0.1871, 0.8129),
    (1, 10, 0.0025, 0.4450),
])
def test_clopper_pearson_known_values(successes, trials, low, high):
    got = clopper_pearson(successes, trials, 0.95)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_clopper_pearson_closed_forms_and_level():
    # With no successes the upper end is 1 - (alpha/2)^(1/n); with all, the lower end
    # is (alpha/2)^(1/n).
    assert clopper_pearson(0, 30, 0.9)[1] == pytest.approx(1 - 0.05 ** (1 / 30), rel=1e-9)
    assert clopper_pearson(7, 7, 0.99)[0] == pytest.approx(0.005 ** (1 / 7), rel=1e-9)
    wide, narrow = clopper_pearson(12, 40, 0.99), clopper_pearson(12, 40, 0.8)
    assert wide[0] < narrow[0] < 12 / 40 < narrow[1] < wide[1]
    assert np.isnan(clopper_pearson(0, 0)).all()


def test_export_fill_import_feeds_c5_rows(tmp_path):
    sheet = export()
    path = write_sheet(sheet, tmp_path / "filled.csv", ["0", "1", "0", ""])
    table = c5_from_annotations(read_annotations(path), REGISTRY, level=0.95)
    assert list(table.columns) == COT_COLUMNS + ["n_undecided"]
    row = table.iloc[0]
    # p0 valid (sample 2), p1 not, p2 has no correct base sample -> 1 of 3.
    assert (row.n_problems, row.model_solved, row.base_valid, row.n_undecided) == (3, 3, 1, 0)
    assert (row.ci_low, row.ci_high) == pytest.approx(clopper_pearson(1, 3), abs=1e-12)
    # The table goes through the workflow's CSV like the automatic one does.
    write_csv(table, tmp_path / "c5.csv")
    rows = c5_rows(pd.read_csv(tmp_path / "c5.csv"), REGISTRY, majority=0.5)
    scoped = next(r for r in rows if r["scope"] == "family=f/regime=narrow/benchmark=bench")
    assert scoped["id"] == "C5"
    assert scoped["value"] == pytest.approx(1 / 3)
    assert scoped["verdict"] == "inconclusive"  # [0.008, 0.906] contains 0.5
    assert "a fully valid chain on 1 of the 3 problems" in scoped["evidence"]
    overall = next(r for r in rows if r["scope"] == "overall")
    assert overall["verdict"] == "inconclusive"
