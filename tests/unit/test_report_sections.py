"""The studies' sections of claims.md render their tables faithfully."""

import pandas as pd

from rlvr_boundary.report.sections import (
    PAPER_REGIME_NOTE,
    algorithms_section,
    real_section,
    regimes_section,
    stop_reasons_section,
    temperature_section,
    training_length_section,
)
from rlvr_boundary.report.precision import bayes_section


def test_regimes_section_states_the_paper_regime_and_every_row():
    regimes = pd.DataFrame([
        dict(family="f", regime="narrow", breadth=64, benchmark="b", gap=0.04, gap_ci_low=0.01,
             gap_ci_high=0.08, both=96, base_only=4, rl_only=0, crossover_k=17.0,
             c1_verdict="holds", c2_verdict="holds"),
        dict(family="f", regime="broad", breadth=5000, benchmark="b", gap=-0.2, gap_ci_low=-0.3,
             gap_ci_high=-0.1, both=70, base_only=2, rl_only=22, crossover_k=float("nan"),
             c1_verdict="holds", c2_verdict="does not hold")])
    text = regimes_section(regimes)
    assert PAPER_REGIME_NOTE in text
    assert "| f | narrow | 64 | b | +0.040 [+0.010, +0.080] | 96 | 4 | 0 | 17 | holds | holds |" in text
    assert "| f | broad | 5000 | b | -0.200 [-0.300, -0.100] | 70 | 2 | 22 | none |" in text
    assert text.index("| f | narrow") < text.index("| f | broad")  # by breadth


def test_levels_are_unsigned_and_differences_signed():
    gap = pd.DataFrame([dict(algorithm="ppo", benchmark="b", k_max=16, pass_at_1=0.5,
                             pass_at_1_ci_low=0.4, pass_at_1_ci_high=0.6, base_pass_at_k_max=0.9,
                             dse=0.4, dse_ci_low=0.3, dse_ci_high=0.5)])
    assert "| ppo | b | 0.500 [0.400, 0.600] | 0.900 | 0.400 [0.300, 0.500] |" in algorithms_section(gap)
    length = pd.DataFrame([dict(model="m", step=0, benchmark="b", k_max=16, pass_at_1=0.2,
                                pass_at_1_ci_low=0.1, pass_at_1_ci_high=0.3, pass_at_k_max=0.8,
                                pass_at_k_max_ci_low=0.7, pass_at_k_max_ci_high=0.9)])
    assert "pass@16 [CI]" in training_length_section(length)


def test_real_section_is_nested_under_its_own_heading():
    text = real_section("## Real models: base vs RL\n\n### Details\nbody")
    assert text.startswith("## Real models (not the tiny world)\n")
    assert "### Real models: base vs RL" in text and "#### Details" in text


def test_stop_reasons_section_escapes_stop_strings():
    stops = pd.DataFrame({"model": ["m", "m"], "benchmark": ["b", "b"], "temperature": [0.6, 0.6],
                          "stop_reason": ["<|im_end|>", "\nProblem"], "samples": [3, 1],
                          "share": [0.75, 0.25]})
    last = stop_reasons_section(stops).splitlines()[-1]
    assert last == "| m | b | 0.6 | 4 | `<\\|im_end\\|>` 75.0%, `\\nProblem` 25.0% |"


def test_temperature_section_shows_the_crossover_interval_and_where_either_leads():
    row = dict(rl_model="r", benchmark="b", comparison="same temperature", base_temperature=1.0,
               rl_temperature=1.0, base_entropy=0.9, rl_entropy=0.2, k_max=16, gap_k_max=0.3,
               gap_ci_low=0.1, gap_ci_high=0.5)
    table = pd.DataFrame([
        {**row, "crossover_k": 3.0, "crossover_ci_low": 2.0, "crossover_ci_high": 9.0,
         "lead_changes": "RL@1;base@3", "rl_ahead_k": "1", "base_ahead_k": "9-16"},
        {**row, "comparison": "entropy-matched", "crossover_k": float("nan"),
         "crossover_ci_low": 1.0, "crossover_ci_high": 17.0, "lead_changes": "RL@1",
         "rl_ahead_k": float("nan"), "base_ahead_k": float("nan")},
        {**row, "crossover_k": float("nan"), "crossover_ci_low": 1.0, "crossover_ci_high": 17.0,
         "lead_changes": float("nan"), "rl_ahead_k": float("nan"),
         "base_ahead_k": float("nan")}])
    lines = temperature_section(table).splitlines()
    assert lines[-3].endswith("| +0.300 [+0.100, +0.500] | 3 [2, 9] | 1 | 9-16 |")
    assert lines[-2].endswith("| +0.300 [+0.100, +0.500] | none [1, >16] |  |  |")
    assert lines[-1].endswith("| flat at every k |  |  |")


def test_bayes_section_puts_the_credible_interval_beside_pass_at_1():
    row = dict(model="m", benchmark="b", temperature=1.0, metric="trace", n=8, n_problems=30,
               pass_at_1=0.5, pass_at_1_ci_low=0.4, pass_at_1_ci_high=0.6, bayes_mean=0.5,
               bayes_sd=0.02, ci_low=0.46, ci_high=0.54, ci_level=0.95, prior="uniform")
    table = pd.DataFrame([row, {**row, "temperature": 0.5, "model": "hot"}])
    text = bayes_section(table, "trace", 1.0)
    assert "| m | b | 8 | 30 | 0.500 [0.400, 0.600] | 0.500 [0.460, 0.540] | 0.0200 |" in text
    assert "hot" not in text and "Prior: uniform" in text
