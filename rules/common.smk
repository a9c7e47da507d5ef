import os
import sys
from types import SimpleNamespace as Namespace

from snakemake.utils import validate

# The workflow's own package (jobs import it from the environment: `pip install -e .`,
# or the `-e ../` line of envs/*.yaml; the Snakefile itself also works without that).
PACKAGE_DIR = Path(workflow.basedir) / "src" / "rlvr_boundary"
sys.path.insert(0, str(PACKAGE_DIR.parent))

from rlvr_boundary.codedeps import module_closure
from rlvr_boundary.config_checks import check_config
from rlvr_boundary.seeds import derive_seed
from rlvr_boundary.study_plan import (
    checkpoint_steps,
    family_specs,
    plan_evaluations,
    plan_models,
    rl_run_name,
    studies,
    study_benchmarks,
)


# A typo'd key, a wrong type or an impossible size fails here, before any job starts.
validate(config, "../schemas/config.schema.yaml")
check_config(config)

FAMILIES = sorted(config["families"])
REGIMES = sorted(config["rl"]["regimes"])
BENCHMARKS = sorted(config["benchmarks"])
TEMPERATURES = [str(float(t)) for t in config["sampling"]["temperatures"]]
CLAIM_TEMPERATURE = str(float(config["analysis"]["claim_temperature"]))
SHARDS = list(range(config["sampling"]["shards"]))
DEVICE = config["device"]
GPUS = 1 if DEVICE == "cuda" else 0
STUDIES = studies(config)
# Every model of the study, by id (rlvr_boundary.study_plan explains the ids).
MODELS = plan_models(config)
FAMILY_SPECS = family_specs(config)
EVALUATIONS = plan_evaluations(config, MODELS)


wildcard_constraints:
    family="[a-z][a-z0-9_]*",
    regime="[a-z][a-z0-9_]*",
    run="[a-z][a-z0-9_]*(-[a-z0-9_]+)?",
    benchmark="[a-z][a-z0-9_]*",
    model="[a-z][a-z0-9_]*(-[a-z0-9_]+)*",
    temperature="[0-9]+\\.[0-9]+",
    shard="[0-9]+",


def code(*modules):
    """The package modules a step runs, with everything they import from the package.
    Snakemake tracks a script's own file; listing the modules as inputs makes an edit
    of the logic rerun exactly the steps that use it."""
    return [os.path.relpath(PACKAGE_DIR / f"{m}.py")
            for m in module_closure(PACKAGE_DIR, modules)]


def models_where(study="", roles=("base", "rl", "distilled")):
    return [m for m, spec in MODELS.items() if spec.study == study and spec.role in roles]


def base_models():
    return models_where(roles=("base",))


def rl_models():
    return models_where(roles=("rl",))


def distilled_models():
    return models_where(roles=("distilled",))


def evaluated_models():
    """The main study's models (the claims C1-C5, C7 compare these)."""
    return base_models() + rl_models() + distilled_models()


def quick_models():
    return base_models() + rl_models()


def all_evaluated_models():
    return list(dict.fromkeys(model for model, _, _ in EVALUATIONS))


def scored_samples(models):
    """Every scored table of these models (each at the temperatures it is sampled at)."""
    chosen = set(models)
    return [f"results/scored/{m}/{b}/T{t}.parquet" for m, b, t in EVALUATIONS if m in chosen]


def model_folder(model):
    """Where a model's weights are: its own folder, or its run's checkpoint folder."""
    spec = MODELS[model]
    if spec.checkpoint_of:
        return f"results/checkpoints/{spec.checkpoint_of}"
    return f"results/models/{model}"


def model_subfolder(model):
    spec = MODELS[model]
    return f"step-{spec.step:05d}" if spec.checkpoint_of else ""


def model_folders(models):
    """Each model's own weights folder (a checkpoint's step subfolder), for hashing."""
    return [os.path.join(model_folder(m), model_subfolder(m)).rstrip("/") for m in models]


def checkpoints_of(models):
    return list(dict.fromkeys(model_folder(m) for m in models))


def passk_figures(folder):
    return expand(
        "{folder}/passk_curves_{family}.{ext}",
        folder=folder,
        family=FAMILIES,
        ext=config["plots"]["formats"],
    )


def figures(folder, *names):
    return expand("{folder}/{name}.{ext}", folder=folder, name=names, ext=config["plots"]["formats"])


def model_registry(models):
    """Rows of models.csv that the config alone determines (hashes are added later)."""
    return [MODELS[m].row() for m in models]


def model_input(wildcards):
    return model_folder(wildcards.model)


def model_checkpoint_subfolder(wildcards):
    return model_subfolder(wildcards.model)


def shard_samples(wildcards):
    return expand(
        "results/samples/{model}/{benchmark}/T{temperature}/shard{shard}.parquet",
        shard=SHARDS,
        **wildcards,
    )


def seed_for(*names):
    return derive_seed(config["seed"], *names)


def family_spec(wildcards):
    return FAMILY_SPECS[wildcards.family]


def pretrain_seed(wildcards):
    return seed_for("pretrain", wildcards.family)


def rl_spec(wildcards):
    return MODELS[f"{wildcards.family}-rl-{wildcards.run}"]


# rl keys that are not training settings (the study's layout and the algorithm table).
_RL_LAYOUT_KEYS = ("regimes", "algorithms", "algorithm", "checkpoint_fractions")


def rl_settings(wildcards):
    """One run's training settings: the shared rl keys, its regime's prompt count and
    step budget, and its algorithm's entry (trainer + hyper-parameters)."""
    spec = rl_spec(wildcards)
    shared = {k: v for k, v in config["rl"].items() if k not in _RL_LAYOUT_KEYS}
    return {**shared, **config["rl"]["algorithms"][spec.algorithm], "algorithm": spec.algorithm,
            "steps": spec.step, "prompts": config["rl"]["regimes"][spec.regime]["prompts"]}


def rl_checkpoint_steps(wildcards):
    return checkpoint_steps(config, rl_spec(wildcards).regime)


def rl_seed(wildcards):
    """Every algorithm of a regime starts from the same seed (common random numbers);
    the seed study's extra runs get their own."""
    spec = rl_spec(wildcards)
    names = ("rl", spec.family, spec.regime) + (("seed", spec.rl_seed) if spec.rl_seed else ())
    return seed_for(*names)


def distill_seed(wildcards):
    return seed_for("distill", wildcards.family)


def sample_seed(wildcards):
    return seed_for("sample", wildcards.model, wildcards.benchmark, wildcards.temperature, wildcards.shard)


def all_seeds():
    """Every derived seed of the study, by the names it is derived from (for provenance)."""
    seeds = {"master": config["seed"], "data": seed_for("data"), "bootstrap": seed_for("bootstrap"),
             "distillation_set": seed_for("distillation_set"),
             "pretrain/teacher": seed_for("pretrain", "teacher")}
    for family in FAMILY_SPECS:
        seeds[f"pretrain/{family}"] = seed_for("pretrain", family)
    for family in FAMILIES:
        seeds[f"distill/{family}"] = seed_for("distill", family)
    for spec in MODELS.values():
        if spec.role == "rl" and not spec.checkpoint_of:
            run = Namespace(family=spec.family, run=rl_run_name(spec))
            seeds[f"rl/{spec.model}"] = rl_seed(run)
    for model, benchmark, temperature in EVALUATIONS:
        for shard in SHARDS:
            seeds[f"sample/{model}/{benchmark}/{temperature}/{shard}"] = seed_for(
                "sample", model, benchmark, temperature, shard)
    return seeds
