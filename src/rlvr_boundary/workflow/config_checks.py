"""Checks a JSON schema cannot express, run when the workflow is parsed.

Each error names the config key, so a bad value fails before any job starts.
"""

from __future__ import annotations

from ..training.rl_settings import WORKFLOW_KEYS, validate_settings
from .study_plan import checkpoint_steps, reserved_run_suffix


# Token counts of the tiny world's text (one character = one token):
# prompt "d(op d)*depth=" plus bos; completion "(op d = d)*depth | d" plus eos.
def prompt_tokens(depth: int) -> int:
    return 2 * depth + 3


def completion_tokens(depth: int) -> int:
    return 4 * depth + 3


class ConfigError(ValueError):
    pass


def _check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"config key '{key}': {message}")


def check_architecture(architecture: dict, key: str) -> None:
    hidden, heads = architecture["hidden_size"], architecture["num_attention_heads"]
    _check(hidden % heads == 0, f"{key}.num_attention_heads",
           f"hidden_size {hidden} is not divisible by {heads} heads")
    _check(hidden // heads >= 32, f"{key}.num_attention_heads",
           f"head_dim {hidden // heads} < 32 (vLLM supports head sizes >= 32)")


def check_config(config: dict) -> None:
    n = config["sampling"]["n"]
    for k in config["analysis"]["ks"]:
        _check(k <= n, "analysis.ks", f"k={k} > sampling.n={n}: pass@k is undefined for k > n")
    _check(config["analysis"]["claim_metric"] in config["analysis"]["metrics"],
           "analysis.claim_metric", "must be one of analysis.metrics")
    temperatures = [float(t) for t in config["sampling"]["temperatures"]]
    _check(float(config["analysis"]["claim_temperature"]) in temperatures,
           "analysis.claim_temperature", f"must be one of sampling.temperatures {temperatures}")

    check_architecture(config["teacher"]["architecture"], "teacher.architecture")
    for name, family in config["families"].items():
        _check("-" not in name, f"families.{name}", "family names may not contain '-'")
        check_architecture(family["architecture"], f"families.{name}.architecture")

    rl_pool = config["data"]["rl_prompts"]["problems"]
    for name, regime in config["rl"]["regimes"].items():
        _check(regime["prompts"] <= rl_pool, f"rl.regimes.{name}.prompts",
               f"{regime['prompts']} > data.rl_prompts.problems={rl_pool}")
    _check(config["distill"]["prompts"] <= config["data"]["train"]["problems"],
           "distill.prompts", "more than data.train.problems")
    _check(not set(config["distill"]["depths"]) - set(config["data"]["train"]["depths"]),
           "distill.depths", "must be a subset of data.train.depths")

    for name, bench in config["benchmarks"].items():
        _check(config["sampling"]["shards"] <= bench["problems"], "sampling.shards",
               f"more shards than the {bench['problems']} problems of benchmark {name}")

    check_algorithms(config["rl"])
    check_studies(config)

    context = config["world"]["max_positions"]
    deepest = max(d for split in [*config["benchmarks"].values(), config["data"]["train"]]
                  for d in split["depths"])
    for key in ("sampling.max_new_tokens", "rl.max_new_tokens"):
        section, field = key.split(".")
        budget = config[section][field]
        _check(prompt_tokens(deepest) + budget <= context, key,
               f"prompt ({prompt_tokens(deepest)} tokens at depth {deepest}) + {budget} new tokens "
               f"exceeds the models' context world.max_positions={context}")


def check_algorithms(rl: dict) -> None:
    algorithms = rl.get("algorithms", {})
    _check(rl.get("algorithm", "grpo") in algorithms, "rl.algorithm",
           f"{rl.get('algorithm')!r} is not one of rl.algorithms {sorted(algorithms)}")
    shared = {key: value for key, value in rl.items() if key not in WORKFLOW_KEYS}
    for name, entry in algorithms.items():
        _check(not reserved_run_suffix(name), f"rl.algorithms.{name}",
               "names like seed1 or step10 are reserved for seed and checkpoint models")
        try:  # the trainer's own check, run now rather than in the training job
            validate_settings({**shared, **entry})
        except ValueError as error:
            raise ConfigError(f"config key 'rl.algorithms.{name}': {error}") from None


def _check_names(values, known, key: str, what: str) -> None:
    for value in values:
        _check(value in known, key, f"{value!r} is not one of {what} {sorted(known)}")


def check_studies(config: dict) -> None:
    """Every family, regime, algorithm and benchmark a study names exists."""
    plan = config.get("studies") or {}
    families, regimes = config["families"], config["rl"]["regimes"]
    benchmarks = config["benchmarks"]
    for name, study in plan.items():
        if "family" in study:
            _check_names([study["family"]], families, f"studies.{name}.family", "families")
        if "regime" in study:
            _check_names([study["regime"]], regimes, f"studies.{name}.regime", "rl.regimes")
        _check_names(study.get("regimes", []), regimes, f"studies.{name}.regimes", "rl.regimes")
        _check_names(study.get("benchmarks", []), benchmarks, f"studies.{name}.benchmarks",
                     "benchmarks")
    if "algorithms" in plan:
        _check_names(plan["algorithms"]["algorithms"], config["rl"]["algorithms"],
                     "studies.algorithms.algorithms", "rl.algorithms")
    if "training_length" in plan:
        regime = plan["training_length"]["regime"]
        _check(bool(checkpoint_steps(config, regime)), "studies.training_length",
               f"regime {regime!r} keeps no intermediate checkpoints (rl.checkpoint_fractions)")
    if "corpus_rarity" in plan:
        for variant in plan["corpus_rarity"]["variants"]:
            derived = f"{plan['corpus_rarity']['family']}_{variant}"
            _check(derived not in families, f"studies.corpus_rarity.variants.{variant}",
                   f"the derived family {derived!r} clashes with a family of that name")
