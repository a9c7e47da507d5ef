"""Importing the paper's math_eval jsonl outputs into our sample schema."""

import json
from pathlib import Path

import pytest

from rlvr_boundary.sampling.benchmarks import load_benchmark, load_local
from rlvr_boundary.grading.counting import SAMPLE_COLUMNS, check_counts, check_samples
from rlvr_boundary.grading.math_answers import grade_completions
from rlvr_boundary.analyses.real_counts import REAL_DEFAULTS
from rlvr_boundary.sampling.imported import benchmark_index, import_math_eval, original_counts

REPO = Path(__file__).resolve().parents[2]


def _benchmark(name):
    spec = REAL_DEFAULTS["benchmarks"][name]
    table, _ = load_benchmark(name, spec, root=REPO)
    records, _ = load_local(REPO / spec["file"])
    return table, benchmark_index(records, table.problem_id.tolist())


def _math_eval_row(idx, question, gt, codes, scores, finish=True):
    """One line as LeapLabTHU/limit-of-RLVR math_eval.py writes it (after evaluate())."""
    row = {"idx": idx, "question": question, "gt_cot": "...", "gt": gt, "level": 1,
           "solution": "...", "answer": gt, "code": codes,
           "pred": [c.split("boxed{")[-1].rstrip("}") if "boxed{" in c else "" for c in codes],
           "report": [None] * len(codes), "score": scores}
    if finish:
        row["finish_reason"] = ["length" if c.endswith("...") else "stop" for c in codes]
    return row


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def math500_outputs(tmp_path):
    table, _ = _benchmark("math500")
    golds = table.reference_answer.tolist()
    seed1 = [_math_eval_row(i, table.question[i], golds[i],
                            [f"so \\boxed{{{golds[i]}}}", "I give up ...", "\\boxed{0}"],
                            [True, False, i == 1]) for i in range(3)]
    seed2 = [_math_eval_row(i, table.question[i], golds[i],
                            [f"\\boxed{{{golds[i]}}}", f"\\boxed{{{golds[i]}}}", "\\boxed{1}"],
                            [True, True, False]) for i in (2, 1, 0)]
    return [_write(tmp_path / "test_qwen-boxed_-1_seed2_t0.6_s0_e-1.jsonl", seed2),
            _write(tmp_path / "test_qwen-boxed_-1_seed1_t0.6_s0_e-1.jsonl", seed1)]


def test_import_into_sample_schema(math500_outputs):
    table, index = _benchmark("math500")
    samples = import_math_eval(math500_outputs, index)
    assert list(samples.columns[:len(SAMPLE_COLUMNS)]) == SAMPLE_COLUMNS
    assert len(samples) == 18 and samples.groupby("problem_id").size().eq(6).all()
    assert samples.problem_id.iloc[0] == table.problem_id[0] == "test/precalculus/807.json"
    assert samples.sample_id.tolist()[:6] == [0, 1, 2, 3, 4, 5]
    # seed1 comes first (sorted file names), whatever order the problems had in the file.
    assert samples.source_file.iloc[0].startswith("test_qwen-boxed_-1_seed1")
    assert samples.finish_reason.tolist()[:3] == ["stop", "length", "stop"]
    check_samples(samples, table.rename(columns={"question": "prompt"}))
    counts = original_counts(samples, "imported", "math500", 0.6)
    check_counts(counts)
    by_problem = counts.set_index("problem_id").c
    assert by_problem[table.problem_id[0]] == 3 and by_problem[table.problem_id[1]] == 4


def test_regrading_imported_samples(math500_outputs):
    table, index = _benchmark("math500")
    samples = import_math_eval(math500_outputs, index)
    gold = dict(zip(table.problem_id, table.reference_answer))
    scored = grade_completions(samples, gold, "math_verify")
    first = scored[scored.problem_id == table.problem_id[0]].grade_status_math_verify.tolist()
    assert first == ["correct", "truncated", "wrong", "correct", "correct", "wrong"]


def test_idx_is_the_line_when_the_benchmark_has_none(tmp_path):
    table, index = _benchmark("aime24")  # aime24 has `id`, no `idx`: idx = line
    rows = [_math_eval_row(0, table.question[0], "204", ["\\boxed{204}"], [True])]
    samples = import_math_eval([_write(tmp_path / "a.jsonl", rows)], index)
    assert samples.problem_id.tolist() == ["aime24/60"] and samples.prompt_index.tolist() == [0]
    gsm8k, gsm8k_index = _benchmark("gsm8k")
    rows = [_math_eval_row(5, gsm8k.question[5], gsm8k.reference_answer[5], ["x"], [False])]
    assert import_math_eval([_write(tmp_path / "g.jsonl", rows)], gsm8k_index).problem_id.tolist() == ["gsm8k/5"]


def test_refusals(tmp_path):
    table, index = _benchmark("aime24")
    no_finish = [_math_eval_row(0, "q", "204", ["\\boxed{204}"], [True], finish=False)]
    path = _write(tmp_path / "old.jsonl", no_finish)
    with pytest.raises(ValueError, match="no finish_reason"):
        import_math_eval([path], index)
    assert import_math_eval([path], index, missing_finish_reason="stop").finish_reason.tolist() == ["stop"]
    with pytest.raises(ValueError, match="not a problem"):
        import_math_eval([_write(tmp_path / "b.jsonl", [_math_eval_row(99, "q", "1", ["x"], [True])])], index)
    uneven = [_math_eval_row(0, "q", "1", ["x", "y"], [True]), ]
    with pytest.raises(ValueError, match="differ in length"):
        import_math_eval([_write(tmp_path / "c.jsonl", uneven)], index)
    ragged = [_math_eval_row(0, "q", "1", ["x", "y"], [True, False]),
              _math_eval_row(1, "q", "1", ["x"], [True])]
    with pytest.raises(ValueError, match="different sample counts"):
        import_math_eval([_write(tmp_path / "d.jsonl", ragged)], index)
