"""The test configuration's finished study honours the output contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.report.decision import VERDICTS
from rlvr_boundary.grading.counting import COUNT_COLUMNS
from rlvr_boundary.stats.passk import pass_at_k
from rlvr_boundary.stats.passk_table import PASSK_COLUMNS
from rlvr_boundary.models.registry import REGISTRY_COLUMNS
from rlvr_boundary.world.task import GRADE_STATUSES
from rlvr_boundary.workflow.job_io import sha256_file

CLAIMS = [f"C{i}" for i in range(1, 9)]


@pytest.fixture(scope="module")
def tables(test_study):
    results = test_study / "results"
    return {
        "registry": pd.read_csv(results / "tables/models.csv", keep_default_na=False),
        "counts": pd.read_parquet(results / "tables/counts.parquet"),
        "passk": pd.read_csv(results / "tables/passk.csv"),
        "claims": json.loads((results / "report/claims.json").read_text()),
    }


def test_registry_lists_every_model(tables, test_study):
    registry = tables["registry"]
    assert list(registry.columns) == REGISTRY_COLUMNS
    assert set(registry.role) == {"base", "rl", "distilled", "teacher"}
    main = registry[registry.study == ""]
    assert len(main) == 2 * (1 + 2 + 1) + 1  # 2 families x (base, 2 regimes, distilled) + teacher
    # 5 more algorithms, 1 checkpoint, 1 more RL seed, a rarity base with its narrow RL model.
    assert registry.study.value_counts().to_dict() == {"": 9, "algorithms": 5, "length": 1,
                                                      "seeds": 1, "rarity": 2}
    assert registry.revision_or_sha256.str.fullmatch("[0-9a-f]{64}").all()
    assert registry.revision_or_sha256.is_unique  # a checkpoint is hashed, not its whole run
    rl = registry[registry.role == "rl"]
    assert set(rl.parent) == set(registry.model[registry.role == "base"])


def test_every_model_folder_is_a_hugging_face_checkpoint(tables, test_study):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    registry = tables["registry"]
    for model in registry.model[registry.checkpoint_of == ""]:
        folder = test_study / "results/models" / model
        AutoModelForCausalLM.from_pretrained(folder)
        assert AutoTokenizer.from_pretrained(folder).decode([5, 6]) != ""


def test_rl_keeps_intermediate_checkpoints(test_study):
    checkpoints = sorted((test_study / "results/checkpoints/tdeep-rl-narrow").glob("step-*"))
    assert [c.name for c in checkpoints] == ["step-00003"]
    assert (checkpoints[0] / "config.json").exists()


def test_scored_samples_schema(test_study):
    scored = pd.read_parquet(test_study / "results/scored/tdeep-base/t_easy/T1.0.parquet")
    for column in ["problem_id", "sample_id", "grade_status_trace", "grade_status_answer",
                   "correct", "answer_correct", "completion", "finish_reason"]:
        assert column in scored.columns
    assert set(scored.grade_status_trace) <= set(GRADE_STATUSES)
    assert (scored.groupby("problem_id").size() == 16).all()
    assert scored.correct.equals(scored.grade_status_trace == "correct")
    # A right trace always has the right answer; the reverse need not hold.
    assert not (scored.correct & ~scored.answer_correct).any()


def test_counts_contract_and_consistency(tables, test_study):
    counts = tables["counts"]
    assert list(counts.columns) == COUNT_COLUMNS
    assert set(counts.metric) == {"trace", "answer"}
    scored = pd.read_parquet(test_study / "results/scored/twide-rl-narrow/t_hard/T1.0.parquet")
    mine = counts[(counts.model == "twide-rl-narrow") & (counts.benchmark == "t_hard")
                  & (counts.metric == "trace")].set_index("problem_id").c
    assert mine.to_dict() == scored.groupby("problem_id").correct.sum().to_dict()


def test_passk_contract_and_values(tables):
    passk, counts = tables["passk"], tables["counts"]
    assert list(passk.columns) == PASSK_COLUMNS
    assert sorted(passk.k.unique()) == [1, 2, 4, 8, 16]
    assert ((passk.ci_low <= passk.pass_at_k + 1e-12) & (passk.pass_at_k <= passk.ci_high + 1e-12)).all()
    for (model, benchmark, temperature, metric), group in counts.groupby(
            ["model", "benchmark", "temperature", "metric"]):
        for k in (1, 16):
            expected = np.mean([pass_at_k(n, c, k) for n, c in zip(group.n, group.c)])
            row = passk[(passk.model == model) & (passk.benchmark == benchmark)
                        & np.isclose(passk.temperature, temperature)
                        & (passk.metric == metric) & (passk.k == k)]
            assert row.pass_at_k.item() == pytest.approx(expected, abs=1e-9)


def test_every_claim_has_an_overall_verdict(tables):
    claims = tables["claims"]
    for row in claims:
        assert set(row) == {"id", "scope", "statement", "metric", "value", "ci_low", "ci_high",
                            "verdict", "estimable", "why", "mde", "p_holds", "p_refutes",
                            "p_refutes_holm", "evidence"}
        assert row["verdict"] in VERDICTS
        # A non-estimable scope says why, and carries no test that could move a verdict.
        assert row["estimable"] == (row["verdict"] != "not estimable") or "benchmark=" not in \
            row["scope"]
        if not row["estimable"]:
            assert row["why"] and row["p_refutes_holm"] is None and row["mde"] is None
    overall = {row["id"]: row for row in claims if row["scope"] == "overall"}
    assert sorted(overall) == CLAIMS
    # Every claim is computed from its own evidence: scopes with numbers behind the verdict.
    for claim in CLAIMS:
        scoped = [row for row in claims if row["id"] == claim and "benchmark=" in row["scope"]]
        if claim != "C8":  # C8 is derived per regime from C1, C4 and C7
            assert scoped, claim
            assert any(row["value"] is not None for row in scoped), claim


def test_claim_values_match_passk_table(tables):
    passk = tables["passk"]
    passk = passk[np.isclose(passk.temperature, 1.0)].set_index(["model", "benchmark", "metric", "k"]).pass_at_k
    for row in tables["claims"]:
        if row["id"] in ("C1", "C2") and row["scope"].startswith("family="):
            scope = dict(part.split("=") for part in row["scope"].split("/"))
            base, rl = f"{scope['family']}-base", f"{scope['family']}-rl-{scope['regime']}"
            k = 1 if row["id"] == "C1" else 16
            difference = passk[rl, scope["benchmark"], "trace", k] - passk[base, scope["benchmark"], "trace", k]
            expected = difference if row["id"] == "C1" else -difference
            assert row["value"] == pytest.approx(expected, abs=1e-9)
            assert row["ci_low"] <= row["value"] <= row["ci_high"]


def test_null_control_never_holds(tables):
    """The untrained regime (null control)'s "RL model" is an untrained copy of the base: it
    can neither beat the base (C1) nor fall behind it (C2), so nothing derived holds (C8).
    (C3-C5 say RL stays inside the base's support, which a copy trivially does.)"""
    untrained_rows = [row for row in tables["claims"] if "regime=untrained" in row["scope"]
                      and row["id"] in ("C1", "C2", "C8")]
    assert len(untrained_rows) == 2 * (2 * 2 + 1) + 1  # C1, C2: 2 families x 2 benchmarks + regime
    assert all(row["verdict"] != "holds" for row in untrained_rows)


def test_report_and_figures_exist(test_study):
    markdown = (test_study / "results/report/claims.md").read_text()
    for claim in CLAIMS:
        assert f"## {claim}:" in markdown
    for family in ("tdeep", "twide"):
        for target in ("figures", "quick/figures"):
            figure = test_study / f"results/{target}/passk_curves_{family}.png"
            if target == "figures":
                assert figure.stat().st_size > 5000


def test_provenance_hashes_the_tables(test_study, tables):
    provenance = json.loads((test_study / "results/provenance.json").read_text())
    assert provenance["packages"]["torch"].startswith("2.13.0")
    assert provenance["seeds"]["master"] == 7
    for path, digest in provenance["files"].items():
        assert sha256_file(test_study / path) == digest
    assert set(provenance["checkpoints"]) == set(tables["registry"].model)
