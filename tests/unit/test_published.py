"""The report's comparison with the paper's printed numbers: a small constructed table with a
number the run matches within tolerance, one outside it and one the run did not sample; and
the shipped table's rows checked against its own rules."""

from __future__ import annotations

import pandas as pd
import pytest

from rlvr_boundary.report.published import (
    PUBLISHED_COLUMNS,
    compare_with_published,
    load_published,
    published_section,
)
from workflow_runner import REPO

REGISTRY = pd.DataFrame([
    {"model": "base", "role": "base", "parent": "", "algorithm": "", "step": "",
     "source": "hub", "revision_or_sha256": "Qwen/Qwen2.5-7B@d149729 sha256:aa"},
    {"model": "base-rl", "role": "rl", "parent": "base", "algorithm": "grpo", "step": "100",
     "source": "hub", "revision_or_sha256": "hkust-nlp/Qwen-2.5-7B-SimpleRL-Zoo@d630142 sha256:bb"},
    {"model": "base-rl-grpo-step00150", "role": "rl", "parent": "base", "algorithm": "grpo",
     "step": "150", "source": "local", "revision_or_sha256": "results/checkpoints/x sha256:cc"},
])


def passk_row(model, benchmark, k, value, low, high, n=128, problems=500, metric="lenient"):
    return {"model": model, "benchmark": benchmark, "temperature": 0.6, "metric": metric, "k": k,
            "pass_at_k": value, "ci_low": low, "ci_high": high, "n_samples": n,
            "n_problems": problems}


PASSK = pd.DataFrame([
    passk_row("base", "math500", 128, 0.950, 0.940, 0.960),       # 95.0 vs 96.0: within 3
    passk_row("base-rl", "math500", 128, 0.880, 0.870, 0.890),    # 88.0 vs 93.4: outside
    passk_row("base-rl", "math500", 128, 0.930, 0.92, 0.94, metric="math_verify"),
    passk_row("base", "aime24", 1024, 0.600, 0.40, 0.80, n=1024, problems=30),  # CI wider
    passk_row("base-rl-grpo-step00150", "math500", 1, 0.70, 0.69, 0.71),
])


def published(*rows) -> pd.DataFrame:
    base = {"model_label": "", "hub_id": "", "base_hub_id": "", "algorithm": "", "step": "",
            "setting": "main", "temperature": 0.6, "metric": "pass@k", "problems": 500,
            "source": "Table 2", "derivation": "printed"}
    return pd.DataFrame([{**base, **row} for row in rows], columns=PUBLISHED_COLUMNS)


def compare(table, metric="lenient", tolerance=3.0):
    return compare_with_published(PASSK, REGISTRY, table, metric, tolerance)


def test_within_outside_and_not_run():
    table = published(
        {"model_label": "Qwen2.5-7B", "hub_id": "Qwen/Qwen2.5-7B", "benchmark": "math500",
         "k": 128, "value": 96.0},
        {"model_label": "SimpleRL", "hub_id": "hkust-nlp/qwen-2.5-7b-simplerl-zoo",
         "benchmark": "math500", "k": 128, "value": 93.4},
        {"model_label": "Qwen2.5-14B", "hub_id": "Qwen/Qwen2.5-14B", "benchmark": "math500",
         "k": 128, "value": 97.0})
    result = compare(table)
    assert list(result.status) == ["within", "outside", "not run"]
    assert list(result.model) == ["base", "base-rl", ""]
    assert result.note.iloc[2] == "no model of this run is Qwen/Qwen2.5-14B"
    assert result.difference.iloc[0] == pytest.approx(-1.0)
    assert result.difference.iloc[1] == pytest.approx(-5.4)
    assert result.tolerance.iloc[1] == pytest.approx(3.0)  # CI half-width 1 point < 3
    section = published_section(result, "lenient", 3.0, "a stated reason.", "the table")
    assert "| SimpleRL | base-rl | math500 | 128 | 93.4 | 88.0 | -5.4 | 3.0 | **outside** |" \
        in section
    assert "1 within, 1 outside, 1 not run" in section and "a stated reason." in section


def test_the_metric_and_the_tolerance_decide():
    table = published({"model_label": "SimpleRL", "hub_id": "hkust-nlp/Qwen-2.5-7B-SimpleRL-Zoo",
                       "benchmark": "math500", "k": 128, "value": 93.4})
    assert compare(table, metric="math_verify").status.tolist() == ["within"]
    assert compare(table, tolerance=6.0).status.tolist() == ["within"]


def test_a_wide_ci_widens_the_tolerance_and_a_subset_is_noted():
    table = published({"model_label": "Qwen2.5-7B", "hub_id": "Qwen/Qwen2.5-7B",
                       "benchmark": "aime24", "k": 1024, "value": 76.6, "problems": 30},
                      {"model_label": "Qwen2.5-7B", "hub_id": "Qwen/Qwen2.5-7B",
                       "benchmark": "math500", "k": 128, "value": 96.0, "problems": 1000})
    result = compare(table)
    assert result.tolerance.iloc[0] == pytest.approx(20.0)  # half of [40, 80]
    assert result.status.iloc[0] == "within"  # 60.0 vs 76.6: inside the CI's half-width
    assert result.note.iloc[1] == "run on 500 of the paper's 1000 problems"


def test_k_above_n_and_unsampled_benchmarks_are_not_run_with_why():
    table = published({"model_label": "Qwen2.5-7B", "hub_id": "Qwen/Qwen2.5-7B",
                       "benchmark": "math500", "k": 256, "value": 96.2},
                      {"model_label": "Qwen2.5-7B", "hub_id": "Qwen/Qwen2.5-7B",
                       "benchmark": "omni_math_rule_test", "k": 1, "value": 10.2})
    result = compare(table)
    assert result.status.tolist() == ["not run", "not run"]
    assert result.note.tolist() == ["k = 256 above the run's n = 128",
                                    "omni_math_rule_test not sampled at T=0.6"]


def test_models_the_paper_trained_match_by_base_algorithm_and_step():
    table = published(
        {"model_label": "GRPO-step150", "base_hub_id": "Qwen/Qwen2.5-7B", "algorithm": "grpo",
         "step": "150", "setting": "controlled", "benchmark": "math500", "k": 1, "value": 74.4},
        {"model_label": "GRPO-step450", "base_hub_id": "Qwen/Qwen2.5-7B", "algorithm": "grpo",
         "step": "450", "setting": "controlled", "benchmark": "math500", "k": 1, "value": 76.3},
        # A released checkpoint's number from the paper's RL study: another protocol.
        {"model_label": "Qwen2.5-7B", "hub_id": "Qwen/Qwen2.5-7B", "setting": "controlled",
         "benchmark": "math500", "k": 1, "value": 34.5})
    result = compare(table)
    assert result.model.tolist() == ["base-rl-grpo-step00150", "", ""]
    assert result.status.tolist() == ["outside", "not run", "not run"]
    assert result.difference.iloc[0] == pytest.approx(70.0 - 74.4)


def test_the_shipped_table_is_well_formed_and_cites_a_table_of_the_paper(tmp_path):
    table = load_published(REPO / "data/published/yue2025.csv")
    assert len(table) > 0
    assert table.source.str.contains(r"arXiv:2504\.13837v\d+ Table \d").all()
    # Table 2's pass@k at k = n are sums of two printed cells; each model's pair adds up.
    main = table[table.setting == "main"].set_index(["hub_id", "benchmark"]).value
    assert main[("Qwen/Qwen2.5-7B", "math500")] - main[
        ("hkust-nlp/Qwen-2.5-7B-SimpleRL-Zoo", "math500")] == pytest.approx(3.6 - 1.0)
    bad = tmp_path / "bad.csv"
    table.assign(source="").to_csv(bad, index=False)
    with pytest.raises(ValueError, match="no source"):
        load_published(bad)
    table.assign(hub_id="", base_hub_id="").to_csv(bad, index=False)
    with pytest.raises(ValueError, match="give hub_id"):
        load_published(bad)
