"""The real-data section: Qwen2.5-7B vs SimpleRL-Zoo-7B counts on MATH500, exactly right."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rlvr_boundary.stats.passk import pass_at_k
from rlvr_boundary.stats.passk_table import passk_table
from rlvr_boundary.analyses.real_counts import (
    HISTOGRAM_BINS,
    REAL_DEFAULTS,
    REAL_MODELS,
    accuracy_histogram,
    coverage_sets,
    load_real_counts,
    math500_problem_ids,
    real_report_markdown,
    real_settings,
    real_summary,
)

REPO = Path(__file__).resolve().parents[2]
CSV = REPO / REAL_DEFAULTS["counts"]
PROBLEMS = REPO / REAL_DEFAULTS["problems"]
BASE, RL = REAL_MODELS["base"]["model"], REAL_MODELS["simplerl"]["model"]
# The reproduction's own published pooled curve (audit/pass_at_k_curve.csv, commit 85ce075):
# an independent computation from the same counts.
PUBLISHED = {BASE: {1: 0.613921875, 2: 0.7340831692913385, 8: 0.8681727477486968,
                    64: 0.9474446568195055, 128: 0.962},
             RL: {1: 0.779328125, 4: 0.8567501336707911, 32: 0.9150862887604729, 128: 0.93}}


@pytest.fixture(scope="module")
def counts():
    ids = math500_problem_ids(PROBLEMS, 500)
    return load_real_counts(CSV, ids, "math500", 0.6, "paper_grader", 128)


@pytest.fixture(scope="module")
def passk(counts):
    return passk_table(counts, list(range(1, 129)), 200, 7, 0.95)


def test_csv_is_the_documented_file():
    digest = hashlib.sha256(CSV.read_bytes()).hexdigest()
    assert digest in (CSV.parent / "SOURCE.md").read_text()


def test_counts_schema_and_totals(counts):
    assert list(counts.columns) == ["model", "benchmark", "temperature", "metric", "problem_id", "n", "c"]
    assert counts.groupby("model").size().to_dict() == {BASE: 500, RL: 500}
    assert counts.groupby("model").c.sum().to_dict() == {BASE: 39291, RL: 49877}
    assert (counts.n == 128).all() and counts.c.between(0, 128).all()
    assert set(counts.temperature) == {0.6} and set(counts.metric) == {"paper_grader"}


def test_problem_id_is_the_unique_id_of_the_line(counts):
    lines = [json.loads(line) for line in PROBLEMS.read_text().splitlines()]
    raw = pd.read_csv(CSV)
    for index in (0, 1, 250, 499):
        expected = raw[(raw.model == "base") & (raw.problem_index == index)].correct.item()
        row = counts[(counts.model == BASE) & (counts.problem_id == lines[index]["unique_id"])]
        assert row.c.item() == expected


def _write(tmp_path, frame):
    path = tmp_path / "counts.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("breakage, message", [
    (lambda d: d.drop(index=3), "exactly one row"),
    (lambda d: d.assign(n=d.n.where(d.index != 5, 64)), "n differs"),
    (lambda d: d.assign(correct=d.correct.where(d.index != 5, 129)), "outside"),
    (lambda d: d.assign(model=d.model.replace("simplerl", "rl")), "models"),
    (lambda d: d.rename(columns={"correct": "c"}), "columns"),
])
def test_malformed_files_are_refused(tmp_path, breakage, message):
    ids = math500_problem_ids(PROBLEMS, 500)
    with pytest.raises(ValueError, match=message):
        load_real_counts(_write(tmp_path, breakage(pd.read_csv(CSV))), ids, "math500", 0.6, "g", 128)


def test_problem_file_of_wrong_length_is_refused(tmp_path):
    short = tmp_path / "test.jsonl"
    short.write_text("\n".join(PROBLEMS.read_text().splitlines()[:499]) + "\n")
    with pytest.raises(ValueError, match="expected 500 problems, found 499"):
        math500_problem_ids(short, 500)


def test_passk_table_matches_direct_computation(counts, passk):
    assert set(passk.k) == set(range(1, 129))
    for model in (BASE, RL):
        table = counts[counts.model == model]
        for k in (1, 2, 7, 15, 64, 128):
            direct = np.mean([pass_at_k(n, c, k) for n, c in zip(table.n, table.c)])
            got = passk[(passk.model == model) & (passk.k == k)].pass_at_k.item()
            assert abs(got - direct) < 1e-12, (model, k)
        for k, value in PUBLISHED[model].items():
            assert abs(passk[(passk.model == model) & (passk.k == k)].pass_at_k.item() - value) < 1e-12
    assert passk.ci_low.le(passk.pass_at_k).all() and passk.ci_high.ge(passk.pass_at_k).all()


def test_coverage_sets(counts):
    coverage = coverage_sets(counts, BASE, RL).set_index("set")
    assert coverage.n_problems.to_dict() == {"both": 462, "base_only": 19, "rl_only": 3, "neither": 16}
    assert (coverage.k == 128).all()
    base_solved = set(counts[(counts.model == BASE) & (counts.c > 0)].problem_id)
    rl_solved = set(counts[(counts.model == RL) & (counts.c > 0)].problem_id)
    assert set(coverage.loc["rl_only", "problem_ids"].split(";")) == rl_solved - base_solved
    assert set(coverage.loc["base_only", "problem_ids"].split(";")) == base_solved - rl_solved


def test_accuracy_histogram(counts):
    histogram = accuracy_histogram(counts)
    for model, table in histogram.groupby("model"):
        assert table.n_problems.sum() == 500 and tuple(table.bin) == HISTOGRAM_BINS
        c = counts[counts.model == model].c
        assert table.set_index("bin").loc["0", "n_problems"] == (c == 0).sum()
        assert table.set_index("bin").loc["1", "n_problems"] == (c == 128).sum()


def test_summary_and_report(counts, passk):
    settings = {**REAL_DEFAULTS, "bootstrap_resamples": 200}
    coverage = coverage_sets(counts, BASE, RL)
    summary = real_summary(counts, passk, coverage, accuracy_histogram(counts), settings, 7)

    def point(model, k):
        return passk[(passk.model == model) & (passk.k == k)].pass_at_k.item()

    assert summary["C1"]["value"] == pytest.approx(point(RL, 1) - point(BASE, 1), abs=1e-12)
    assert summary["C2"]["value"] == pytest.approx(point(BASE, 128) - point(RL, 128), abs=1e-12)
    # The crossover is the first k of the table where base >= RL.
    base_curve = passk[passk.model == BASE].sort_values("k").pass_at_k.to_numpy()
    rl_curve = passk[passk.model == RL].sort_values("k").pass_at_k.to_numpy()
    assert summary["C2"]["crossover_k"] == int(np.argmax(base_curve >= rl_curve)) + 1
    assert summary["C2"]["crossover_ci_low"] <= summary["C2"]["crossover_k"] <= summary["C2"]["crossover_ci_high"]
    assert summary["models"]["base"]["total_correct"] == 39291
    markdown = real_report_markdown(summary)
    for text in ("cc1107yss/limit-of-rlvr-qwen7b-math500-reproduction", "lenient",
                 "Assumed problem order", "crossover k = ", "base only 19", "RL only 3"):
        assert text in markdown


def test_defaults_equal_the_schema_fragment():
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())["properties"]["real"]
    assert {key: spec["default"] for key, spec in schema["properties"].items()} == REAL_DEFAULTS
    assert real_settings({}) == REAL_DEFAULTS
    assert real_settings({"real": {"ci_level": 0.9}})["ci_level"] == 0.9
    with pytest.raises(ValueError, match="unknown keys"):
        real_settings({"real": {"ci_levl": 0.9}})
