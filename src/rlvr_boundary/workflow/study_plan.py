"""Which models the study trains and evaluates, derived from the config alone.

One table of model specs drives the DAG (what to train, sample and compare), the model
registry and the claims, so a model id always means the same thing everywhere:

  {family}-base, {family}-distilled, teacher
  {family}-rl-{regime}                 the main RL models (rl.algorithm, seed index 0)
  {family}-rl-{regime}-{algorithm}     the six-algorithm study (C6)
  {family}-rl-{regime}-seed{i}         the RL-seed study (crossover spread)
  {family}-rl-{regime}-step{s:05d}     intermediate checkpoints (training-length study)
  {family}_{variant}-base / -rl-{r}    a base pretrained on a corpus with other rarity

The main models carry study "" (the claims C1-C5, C7 are about them); every other model
names its study, so no extra model can change a main claim's verdict.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

_RESERVED_SUFFIX = re.compile(r"^(seed|step)[0-9]+$")


@dataclass(frozen=True)
class ModelSpec:
    model: str
    family: str = ""
    role: str = "base"  # base | rl | distilled | teacher
    parent: str = ""
    regime: str = ""
    algorithm: str = ""
    step: int = 0  # RL steps the model was trained for (a checkpoint: the step it was saved at)
    study: str = ""  # "" (main) | algorithms | seeds | length | rarity
    rl_seed: int = 0  # index of the RL training seed (0 = the main model's seed)
    checkpoint_of: str = ""  # for an intermediate checkpoint: the run that wrote it

    def row(self) -> dict:
        return asdict(self)


def regime_steps(config: dict, regime: str) -> int:
    spec = config["rl"]["regimes"][regime]
    return int(spec.get("steps", config["rl"]["steps"]))


def checkpoint_steps(config: dict, regime: str) -> list[int]:
    """Steps at which a run of the regime saves checkpoints (none for an untrained control)."""
    steps = regime_steps(config, regime)
    if steps == 0:
        return []
    chosen = {max(1, round(f * steps)) for f in config["rl"].get("checkpoint_fractions", [])}
    return sorted(s for s in chosen if s < steps)


def studies(config: dict) -> dict:
    return config.get("studies") or {}


def rarity_families(config: dict) -> dict[str, dict]:
    """Derived families: a main family's spec pretrained on a corpus with other rarity."""
    study = studies(config).get("corpus_rarity")
    if not study:
        return {}
    base = config["families"][study["family"]]
    return {f"{study['family']}_{name}": {**base, "corpus": dict(variant)}
            for name, variant in sorted(study["variants"].items())}


def family_specs(config: dict) -> dict[str, dict]:
    return {**config["families"], **rarity_families(config)}


def _rl(family, regime, config, *, suffix="", algorithm=None, study="", rl_seed=0) -> ModelSpec:
    return ModelSpec(
        model=f"{family}-rl-{regime}{suffix}", family=family, role="rl", parent=f"{family}-base",
        regime=regime, algorithm=algorithm or config["rl"].get("algorithm", "grpo"),
        step=regime_steps(config, regime), study=study, rl_seed=rl_seed)


def plan_models(config: dict) -> dict[str, ModelSpec]:
    """Every model of the study by id, main models first."""
    families, regimes = sorted(config["families"]), sorted(config["rl"]["regimes"])
    specs: list[ModelSpec] = []
    for family in families:
        specs.append(ModelSpec(f"{family}-base", family=family))
    for family in families:
        specs += [_rl(family, regime, config) for regime in regimes]
    for family in families:
        specs.append(ModelSpec(f"{family}-distilled", family=family, role="distilled",
                               parent=f"{family}-base", algorithm="sft"))
    specs.append(ModelSpec("teacher", role="teacher"))

    plan = studies(config)
    main_algorithm = config["rl"].get("algorithm", "grpo")
    if "algorithms" in plan:
        study = plan["algorithms"]
        for algorithm in study["algorithms"]:
            if algorithm != main_algorithm:
                specs.append(_rl(study["family"], study["regime"], config, suffix=f"-{algorithm}",
                                 algorithm=algorithm, study="algorithms"))
    if "training_length" in plan:
        study = plan["training_length"]
        run = f"{study['family']}-rl-{study['regime']}"
        for step in checkpoint_steps(config, study["regime"]):
            specs.append(ModelSpec(
                f"{run}-step{step:05d}", family=study["family"], role="rl",
                parent=f"{study['family']}-base", regime=study["regime"], algorithm=main_algorithm,
                step=step, study="length", checkpoint_of=run))
    if "seeds" in plan:
        study = plan["seeds"]
        for index in range(1, int(study["count"])):
            specs.append(_rl(study["family"], study["regime"], config, suffix=f"-seed{index}",
                             study="seeds", rl_seed=index))
    for family in sorted(rarity_families(config)):
        specs.append(ModelSpec(f"{family}-base", family=family, study="rarity"))
        specs += [_rl(family, regime, config, study="rarity")
                  for regime in plan["corpus_rarity"].get("regimes", regimes)]

    models: dict[str, ModelSpec] = {}
    for spec in specs:
        if spec.model in models:
            raise ValueError(f"two models of the study are both named {spec.model!r}")
        models[spec.model] = spec
    return models


def rl_run_name(spec: ModelSpec) -> str:
    """The `{family}-rl-{run}` part a training job is named by (run = regime[-variant])."""
    return spec.model.split("-rl-", 1)[1]


def reserved_run_suffix(name: str) -> bool:
    """True for names that would read as a seed or checkpoint model id (seed1, step00010)."""
    return bool(_RESERVED_SUFFIX.match(name))


# The config's study names by the registry's `study` value.
_STUDY_KEYS = {"algorithms": "algorithms", "length": "training_length", "seeds": "seeds",
               "rarity": "corpus_rarity", "temperatures": "temperatures"}


def study_benchmarks(config: dict, study: str) -> list[str]:
    """The benchmarks a study's models are sampled on (all unless the study lists some)."""
    spec = studies(config).get(_STUDY_KEYS.get(study, ""), {}) if study else {}
    return sorted(spec.get("benchmarks", config["benchmarks"]))


def plan_evaluations(config: dict, models: dict[str, ModelSpec]) -> list[tuple[str, str, str]]:
    """(model, benchmark, temperature) for every sampled table, in a stable order.

    Main models at every sampling temperature; study models and the teacher at the claims'
    temperature; the temperature study adds its temperatures for bases and chosen regimes.
    """
    plan = studies(config)
    fmt = lambda t: str(float(t))  # noqa: E731 - the temperature wildcard's spelling
    claim_t = fmt(config["analysis"]["claim_temperature"])
    main_ts = [fmt(t) for t in config["sampling"]["temperatures"]]
    triples = []
    for spec in models.values():
        temps = main_ts if spec.study == "" and spec.role != "teacher" else [claim_t]
        triples += [(spec.model, b, t) for b in study_benchmarks(config, spec.study)
                    for t in temps]
    study = plan.get("temperatures")
    if study:
        chosen = [m for m, s in models.items() if s.study == "" and (
            s.role == "base" or (s.role == "rl" and s.regime in study["regimes"]))]
        triples += [(m, b, fmt(t)) for m in chosen for b in study_benchmarks(config, "temperatures")
                    for t in study["values"]]
    seen, unique = set(), []
    for triple in triples:
        if triple not in seen:
            seen.add(triple)
            unique.append(triple)
    return unique


def sampled_benchmarks(evaluations: list[tuple[str, str, str]]) -> dict[tuple[str, str], list[str]]:
    """(model, temperature) -> the benchmarks sampled there, in the evaluations' order: what
    one sampling job covers."""
    jobs: dict[tuple[str, str], list[str]] = {}
    for model, benchmark, temperature in evaluations:
        jobs.setdefault((model, temperature), []).append(benchmark)
    return jobs
