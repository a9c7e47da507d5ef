"""The study plan: which models exist, what they are, and where each is sampled."""

from __future__ import annotations

import yaml

from rlvr_boundary.workflow.study_plan import (
    checkpoint_steps,
    plan_evaluations,
    plan_models,
    rarity_families,
    sampled_benchmarks,
)
from workflow_runner import REPO


def _config(name="config.yaml"):
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / name).read_text())
    validate(config, str(REPO / "schemas/config.schema.yaml"))
    return config


def test_default_plan_has_every_study_and_unique_ids():
    config = _config()
    models = plan_models(config)
    studies = {spec.study for spec in models.values()}
    assert studies == {"", "algorithms", "length", "seeds", "rarity"}
    main = [m for m, s in models.items() if s.study == ""]
    assert main == ["deep-base", "wide-base", "deep-rl-broad", "deep-rl-mid", "deep-rl-narrow",
                    "wide-rl-broad", "wide-rl-mid", "wide-rl-narrow", "deep-distilled",
                    "wide-distilled", "teacher"]
    # The main algorithm's model is shared with the algorithm study, not trained twice.
    algorithms = {s.algorithm for s in models.values() if s.study == "algorithms"}
    assert algorithms == {"ppo", "remax", "rloo", "reinforce_pp", "dapo"}
    assert models["deep-rl-narrow-ppo"].parent == "deep-base"
    assert models["deep-rl-narrow-seed2"].rl_seed == 2


def test_checkpoints_are_models_of_the_length_study():
    config = _config()
    steps = checkpoint_steps(config, "narrow")
    assert steps == [67, 133]  # round(.333 * 200), round(.667 * 200)
    models = plan_models(config)
    checkpoint = models["deep-rl-narrow-step00067"]
    assert (checkpoint.checkpoint_of, checkpoint.step, checkpoint.study) == ("deep-rl-narrow", 67,
                                                                             "length")


def test_untrained_regime_keeps_no_checkpoints():
    config = _config("configs/test.yaml")
    assert checkpoint_steps(config, "untrained") == []


def test_rarity_variant_reuses_the_family_with_its_own_corpus():
    config = _config()
    derived = rarity_families(config)
    assert derived["deep_common"]["architecture"] == config["families"]["deep"]["architecture"]
    assert derived["deep_common"]["corpus"] == {"rare_wrong_rate": [0.5, 0.8]}


def _restricted_config():
    """The default study with the temperature and seeds studies limited to two benchmarks
    (a study's `benchmarks` key), so that what is left out can be checked."""
    config = _config()
    for study in ("temperatures", "seeds"):
        config["studies"][study]["benchmarks"] = ["easy", "medium"]
    return config


def test_evaluations_follow_each_study():
    config = _restricted_config()
    triples = plan_evaluations(config, plan_models(config))
    assert len(triples) == len(set(triples))
    by_model = {}
    for model, benchmark, temperature in triples:
        by_model.setdefault(model, set()).add((benchmark, temperature))
    assert by_model["deep-base"] >= {("hard", "1.0"), ("easy", "0.6"), ("medium", "1.2")}
    assert ("hard", "0.6") not in by_model["deep-base"]  # the temperature study's benchmarks
    assert by_model["deep-rl-narrow-ppo"] == {(b, "1.0") for b in ("easy", "medium", "hard")}
    assert by_model["deep-rl-narrow-seed1"] == {("easy", "1.0"), ("medium", "1.0")}
    assert by_model["teacher"] == {(b, "1.0") for b in ("easy", "medium", "hard")}
    assert "deep-rl-broad" in by_model and ("easy", "0.6") not in by_model["deep-rl-broad"]


def test_one_sampling_job_covers_a_models_benchmarks_at_a_temperature():
    config = _restricted_config()
    triples = plan_evaluations(config, plan_models(config))
    jobs = sampled_benchmarks(triples)
    assert sorted((m, b, t) for (m, t), bs in jobs.items() for b in bs) == sorted(triples)
    assert jobs["deep-base", "1.0"] == ["easy", "hard", "medium"]  # the config's sorted names
    assert jobs["deep-base", "0.6"] == ["easy", "medium"]
    assert jobs["deep-rl-narrow-seed1", "1.0"] == ["easy", "medium"]
    assert len(jobs) < len(triples)
