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
    c2 = summary["C2"]
    # The crossover is the first k of the table where base >= RL, and the only lead change.
    base_curve = passk[passk.model == BASE].sort_values("k").pass_at_k.to_numpy()
    rl_curve = passk[passk.model == RL].sort_values("k").pass_at_k.to_numpy()
    first = int(np.argmax(base_curve >= rl_curve)) + 1
    assert c2["crossover_k"] == first
    assert c2["lead_changes"] == [[1, "RL"], [first, "base"]]
    assert c2["crossover_ci_low"] <= first <= c2["crossover_ci_high"]
    assert summary["models"]["base"]["total_correct"] == 39291
    for short, model in (("base", BASE), ("simplerl", RL)):  # Bayes@N: mean of (c+1)/(n+2)
        c = counts[counts.model == model].c
        posterior = summary["models"][short]["bayes_at_n"]
        assert posterior["mean"] == pytest.approx(((c + 1) / 130).mean(), abs=1e-12)
        assert posterior["ci_low"] < posterior["mean"] < posterior["ci_high"]
    markdown = real_report_markdown(summary)
    for text in ("cc1107yss/limit-of-rlvr-qwen7b-math500-reproduction", "lenient",
                 "Assumed problem order", f"crossover k={first}", "base only 19", "RL only 3",
                 "simultaneous 95%", "**Power** at 500 problems", "| Bayes@N |"):
        assert text in markdown


def _ks(text):
    """"1-7,9" -> {1, ..., 7, 9}."""
    ks = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        ks |= set(range(int(low), int(high or low) + 1))
    return ks


def test_summary_crossover_is_the_all_crossings_one(counts, passk):
    """The real section's crossover is stats.crossover's (the claims' own), not a first
    crossing with a bootstrap interval: its interval runs from the end of RL's significant
    lead at small k to the start of the base's significant lead."""
    settings = {**REAL_DEFAULTS, "bootstrap_resamples": 300}
    c2 = real_summary(counts, passk, coverage_sets(counts, BASE, RL), accuracy_histogram(counts),
                      settings, 11)["C2"]
    rl_ahead, base_ahead = _ks(c2["rl_ahead_k"]), _ks(c2["base_ahead_k"])
    # RL leads significantly at small k and the base at large k (pass@1: +0.165 for RL,
    # pass@128: +0.032 for the base, both with CIs clear of 0).
    assert 1 in rl_ahead and 128 in base_ahead and not rl_ahead & base_ahead
    assert max(rl_ahead) < c2["crossover_k"] <= min(base_ahead)
    run = max(k for k in range(0, 129) if set(range(1, k + 1)) <= rl_ahead)
    assert (c2["crossover_ci_low"], c2["crossover_ci_high"]) == (run + 1, min(base_ahead))
    base_curve = passk[passk.model == BASE].sort_values("k").pass_at_k.to_numpy()
    rl_curve = passk[passk.model == RL].sort_values("k").pass_at_k.to_numpy()
    assert all(base_curve[k - 1] < rl_curve[k - 1] for k in rl_ahead)
    assert all(base_curve[k - 1] > rl_curve[k - 1] for k in base_ahead)
    assert c2["flat_k"] == ""  # some problem is unsolved by one model at every k


def test_summary_power_is_the_claims_mde(counts, passk):
    from rlvr_boundary.stats.exact import paired_mde
    from rlvr_boundary.stats.power import normal_mde

    summary = real_summary(counts, passk, coverage_sets(counts, BASE, RL),
                           accuracy_histogram(counts),
                           {**REAL_DEFAULTS, "bootstrap_resamples": 50}, 0)
    base = counts[counts.model == BASE].sort_values("problem_id")
    rl = counts[counts.model == RL].sort_values("problem_id")
    d1 = rl.c.to_numpy() / 128 - base.c.to_numpy() / 128
    assert summary["C1"]["power"]["mde"] == pytest.approx(paired_mde(d1, False, 0.95)[0])
    needed = summary["C1"]["power"]["problems_needed"]
    sd = d1.std(ddof=1)
    assert normal_mde(sd, needed) <= 0.05 < normal_mde(sd, needed - 1)
    d2 = (rl.c.to_numpy() > 0).astype(float) - (base.c.to_numpy() > 0).astype(float)
    assert summary["C2"]["power"]["mde"] == pytest.approx(paired_mde(-d2, True, 0.95)[0])
    # 22 of 500 problems differ at k = 128: a difference of 0.05 cannot occur, so the size
    # asked for is the one that detects a difference of 0.044.
    assert summary["C2"]["power"]["spread"] == pytest.approx(22 / 500)
    assert "above the discordance" in summary["C2"]["power"]["method"]


def test_defaults_equal_the_schema_fragment():
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())["properties"]["real"]
    assert {key: spec["default"] for key, spec in schema["properties"].items()} == REAL_DEFAULTS
    assert real_settings({}) == REAL_DEFAULTS
    assert real_settings({"real": {"ci_level": 0.9}})["ci_level"] == 0.9
    with pytest.raises(ValueError, match="unknown keys"):
        real_settings({"real": {"ci_levl": 0.9}})
