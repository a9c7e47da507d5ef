import os
import sys

from snakemake.utils import validate

# The workflow's own package (jobs import it from the environment: `pip install -e .`,
# or the `-e ../` line of envs/*.yaml; the Snakefile itself also works without that).
PACKAGE_DIR = Path(workflow.basedir) / "src" / "rlvr_boundary"
sys.path.insert(0, str(PACKAGE_DIR.parent))

from rlvr_boundary.codedeps import module_closure
from rlvr_boundary.config_checks import check_config
from rlvr_boundary.seeds import derive_seed


# A typo'd key, a wrong type or an impossible size fails here, before any job starts.
validate(config, "../schemas/config.schema.yaml")
check_config(config)

FAMILIES = sorted(config["families"])
REGIMES = sorted(config["rl"]["regimes"])
BENCHMARKS = sorted(config["benchmarks"])
TEMPERATURES = [str(float(t)) for t in config["sampling"]["temperatures"]]
SHARDS = list(range(config["sampling"]["shards"]))
DEVICE = config["device"]
GPUS = 1 if DEVICE == "cuda" else 0


wildcard_constraints:
    family="[a-z][a-z0-9_]*",
    regime="[a-z][a-z0-9_]*",
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


def base_models():
    return [f"{family}-base" for family in FAMILIES]


def rl_models():
    return [f"{family}-rl-{regime}" for family in FAMILIES for regime in REGIMES]


def distilled_models():
    return [f"{family}-distilled" for family in FAMILIES]


def evaluated_models():
    return base_models() + rl_models() + distilled_models()


def quick_models():
    return base_models() + rl_models()


def scored_samples(models):
    return expand(
        "results/scored/{model}/{benchmark}/T{temperature}.parquet",
        model=models,
        benchmark=BENCHMARKS,
        temperature=TEMPERATURES,
    )


def checkpoints_of(models):
    return expand("results/models/{model}", model=models)


def passk_figures(folder):
    return expand(
        "{folder}/passk_curves_{family}.{ext}",
        folder=folder,
        family=FAMILIES,
        ext=config["plots"]["formats"],
    )


def model_registry(models):
    """Rows of models.csv that the config alone determines (hashes are added later)."""
    rows = []
    for model in models:
        if model == "teacher":
            rows.append(dict(model=model, family="", role="teacher", parent="", regime=""))
            continue
        family, kind = model.split("-", 1)
        if kind == "base":
            rows.append(dict(model=model, family=family, role="base", parent="", regime=""))
        elif kind == "distilled":
            rows.append(dict(model=model, family=family, role="distilled", parent=f"{family}-base",
                             regime="", algorithm="sft"))
        else:
            regime = kind.removeprefix("rl-")
            rows.append(dict(model=model, family=family, role="rl", parent=f"{family}-base",
                             regime=regime, algorithm=config["rl"]["algorithm"],
                             step=config["rl"]["regimes"][regime].get("steps", config["rl"]["steps"])))
    return rows


def shard_samples(wildcards):
    return expand(
        "results/samples/{model}/{benchmark}/T{temperature}/shard{shard}.parquet",
        shard=SHARDS,
        **wildcards,
    )


def seed_for(*names):
    return derive_seed(config["seed"], *names)


def family_spec(wildcards):
    return config["families"][wildcards.family]


def pretrain_seed(wildcards):
    return seed_for("pretrain", wildcards.family)


def rl_settings(wildcards):
    """The rl block with the regime's own prompt count and (optional) step budget."""
    regime = config["rl"]["regimes"][wildcards.regime]
    return {**config["rl"], "steps": regime.get("steps", config["rl"]["steps"]),
            "prompts": regime["prompts"]}


def rl_seed(wildcards):
    return seed_for("rl", wildcards.family, wildcards.regime)


def distill_seed(wildcards):
    return seed_for("distill", wildcards.family)


def sample_seed(wildcards):
    return seed_for("sample", wildcards.model, wildcards.benchmark, wildcards.temperature, wildcards.shard)


def all_seeds():
    """Every derived seed of the study, by the names it is derived from (for provenance)."""
    seeds = {"master": config["seed"], "data": seed_for("data"), "bootstrap": seed_for("bootstrap"),
             "distillation_set": seed_for("distillation_set"),
             "pretrain/teacher": seed_for("pretrain", "teacher")}
    for family in FAMILIES:
        seeds[f"pretrain/{family}"] = seed_for("pretrain", family)
        seeds[f"distill/{family}"] = seed_for("distill", family)
        for regime in REGIMES:
            seeds[f"rl/{family}/{regime}"] = seed_for("rl", family, regime)
    for model in evaluated_models():
        for benchmark in BENCHMARKS:
            for temperature in TEMPERATURES:
                for shard in SHARDS:
                    seeds[f"sample/{model}/{benchmark}/{temperature}/{shard}"] = seed_for(
                        "sample", model, benchmark, temperature, shard)
    return seeds
