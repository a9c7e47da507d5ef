"""The studies of the test configuration: numbers recomputed from the tables they come from."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.report.decision import VERDICTS
from workflow_runner import TEST_CONFIG, run_snakemake


@pytest.fixture(scope="module")
def results(test_study):
    return test_study / "results"


def _passk(results):
    table = pd.read_csv(results / "tables/passk.csv")
    table = table[(table.metric == "trace") & np.isclose(table.temperature, 1.0)]
    return table.set_index(["model", "benchmark", "k"]).pass_at_k


def test_dse_is_base_pass_at_n_minus_pass_at_1_from_passk(results):
    gap = pd.read_csv(results / "tables/sampling_efficiency_gap.csv")
    passk = _passk(results)
    assert sorted(gap.algorithm.unique()) == ["dapo", "grpo", "ppo", "reinforce_pp", "remax", "rloo"]
    assert set(gap.benchmark) == {"t_easy"}  # the study's benchmarks (configs/test.yaml)
    for row in gap.itertuples():
        expected = passk["tdeep-base", row.benchmark, 16] - passk[row.model, row.benchmark, 1]
        assert row.dse == pytest.approx(expected, abs=1e-9)
        assert row.dse_ci_low <= row.dse <= row.dse_ci_high
    grpo = gap[gap.algorithm == "grpo"]
    assert set(grpo.model) == {"tdeep-rl-narrow"}  # the main model, not trained twice


def test_training_length_follows_the_checkpoints(results):
    table = pd.read_csv(results / "tables/training_length.csv")
    passk = _passk(results)
    assert sorted(table.step.unique()) == [0, 3, 6]
    for row in table.itertuples():
        assert row.pass_at_1 == pytest.approx(passk[row.model, row.benchmark, 1], abs=1e-9)
        assert row.pass_at_k_max == pytest.approx(passk[row.model, row.benchmark, 16], abs=1e-9)


def test_coverage_sets_match_the_counts(results):
    coverage = pd.read_csv(results / "tables/coverage.csv")
    counts = pd.read_parquet(results / "tables/counts.parquet")
    counts = counts[(counts.metric == "trace") & np.isclose(counts.temperature, 1.0)]
    solved = counts.assign(solved=counts.c > 0).set_index(["model", "benchmark", "problem_id"]).solved
    for row in coverage.itertuples():
        base = solved[row.base_model, row.benchmark]
        other = solved[row.other_model, row.benchmark]
        assert row.both == int((base & other).sum())
        assert row.base_only == int((base & ~other).sum())
        assert row.other_only == int((~base & other).sum())
        assert row.both + row.base_only + row.other_only + row.neither == row.n_problems


def test_every_study_table_and_figure_exists(results):
    for name in ("regimes", "crossover_seeds", "crossover_spread", "cot_validity",
                 "accuracy_histogram", "perplexity_shift", "temperature_study", "algorithm_pairs"):
        assert len(pd.read_csv(results / f"tables/{name}.csv")) > 0, name
    for name in ("passk_curves_algorithms", "training_curves_algorithms", "training_length",
                 "coverage", "cot_validity", "regime_gap", "crossover_spread",
                 "accuracy_histograms_tdeep", "perplexity_tdeep", "passk_temperatures_twide"):
        assert (results / f"figures/{name}.png").stat().st_size > 2000, name


def test_regimes_sweep_includes_the_rarity_variant(results):
    regimes = pd.read_csv(results / "tables/regimes.csv")
    assert {"tdeep", "twide", "twide_common"} <= set(regimes.family)
    assert set(regimes.c2_verdict) <= set(VERDICTS)
    markdown = (results / "report/claims.md").read_text()
    assert "## Regimes sweep" in markdown and "resembles `narrow`" in markdown


def test_crossover_never_counts_flat_curves(results):
    """Curves both at 0 (or both at 1) at every k are not compared: no crossover at k = 1 for
    them (the crossover used to be k = 1 wherever neither model solved anything)."""
    passk = _passk(results)
    for name in ("crossover_seeds", "regimes"):
        table = pd.read_csv(results / f"tables/{name}.csv")
        model = table["model"]
        base = table.get("base_model", pd.Series(["tdeep-base"] * len(table)))
        for row, rl, parent in zip(table.itertuples(), model, base):
            curves = [(passk[parent, row.benchmark, k], passk[rl, row.benchmark, k])
                      for k in (1, 2, 4, 8, 16)]
            if all(b == r == 0 for b, r in curves):
                assert np.isnan(row.crossover_k), (name, rl, row.benchmark)
    spread = pd.read_csv(results / "tables/crossover_spread.csv")
    assert {"n_not_compared", "n_no_crossover"} <= set(spread.columns)
    claims = json.loads((results / "report/claims.json").read_text())
    c2 = [r for r in claims if r["id"] == "C2" and r["scope"] ==
          "family=tdeep/regime=narrow/benchmark=t_easy"]
    assert c2 and "crossover across 2 RL seeds" in c2[0]["evidence"]


def test_perplexity_shift_has_both_variants(results):
    shift = pd.read_csv(results / "tables/perplexity_shift.csv")
    assert set(shift.variant) == {"per_token", "matched_length"}
    assert set(shift.model) == {"tdeep-rl-narrow", "tdeep-rl-untrained", "twide-rl-narrow",
                                "twide-rl-untrained"}
    # The untrained copy's responses come from the base's own distribution.
    untrained = shift[shift.model.str.endswith("untrained")]
    assert ((untrained.ci_low < 0.2) & (untrained.ci_high > -0.2)).all()


def test_temperature_study_matches_entropy(results):
    table = pd.read_csv(results / "tables/temperature_study.csv")
    assert set(table.comparison) == {"same temperature", "entropy-matched"}
    matched = table[table.comparison == "entropy-matched"]
    assert set(matched.rl_temperature) <= {0.5, 1.0}


def test_c6_rows_are_computed(results):
    claims = json.loads((results / "report/claims.json").read_text())
    c6 = [row for row in claims if row["id"] == "C6"]
    parts = {row["scope"].rsplit("part=", 1)[-1] for row in c6 if "part=" in row["scope"]}
    assert parts == {"alike", "far"}
    assert all(row["verdict"] in VERDICTS for row in c6)


def test_snakemake_html_report(study_copy):
    run_snakemake(study_copy, "--configfile", TEST_CONFIG, "--report", "report.html")
    html = (study_copy / "report.html").read_text(errors="replace")
    for caption in ("against k (log scale)", "six RL algorithms", "Boundary analyses",
                    "Perplexity of responses", "several sampling temperatures",
                    "Every claim C1-C8"):
        assert caption in html
