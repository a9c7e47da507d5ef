from types import SimpleNamespace as Namespace

from snakemake.utils import validate

from rlvr_boundary.workflow.config_checks import check_config
from rlvr_boundary.models.cpu import wants_onednn
from rlvr_boundary.sampling.blocks import block_at, sample_blocks
from rlvr_boundary.workflow.study_plan import (
    checkpoint_steps,
    family_specs,
    plan_evaluations,
    plan_models,
    rl_run_name,
    sampled_benchmarks,
    studies,
    study_benchmarks,
)

# A typo'd key, a wrong type or an impossible size fails here, before any job starts.
validate(config, "../schemas/config.schema.yaml")
check_config(config)
wants_onednn()  # a bad RLVR_ONEDNN value fails here too, not in the first model job

FAMILIES = sorted(config["families"])
REGIMES = sorted(config["rl"]["regimes"])
BENCHMARKS = sorted(config["benchmarks"])
TEMPERATURES = [str(float(t)) for t in config["sampling"]["temperatures"]]
CLAIM_TEMPERATURE = str(float(config["analysis"]["claim_temperature"]))
SHARDS = list(range(config["sampling"]["shards"]))
# Every benchmark of the tiny world is sampled n times, in blocks (sampling/blocks.py).
BLOCKS = sample_blocks(config["sampling"]["n"], config["sampling"]["block_size"])
DEVICE = config["device"]
GPUS = 1 if DEVICE == "cuda" else 0
STUDIES = studies(config)
# Every model of the study, by id (rlvr_boundary.workflow.study_plan explains the ids).
MODELS = plan_models(config)
FAMILY_SPECS = family_specs(config)
EVALUATIONS = plan_evaluations(config, MODELS)
# One sampling job per model, temperature and shard covers these benchmarks.
SAMPLED_BENCHMARKS = sampled_benchmarks(EVALUATIONS)


wildcard_constraints:
    family="[a-z][a-z0-9_]*",
    regime="[a-z][a-z0-9_]*",
    run="[a-z][a-z0-9_]*(-[a-z0-9_]+)?",
    benchmark="[a-z][a-z0-9_]*",
    model="[a-z][a-z0-9_]*(-[a-z0-9_]+)*",
    temperature="[0-9]+\\.[0-9]+",
    shard="[0-9]+",
    block="[0-9]+",
    group="all",


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


def scored_samples(models, temperatures=None):
    """Every scored table of these models (each at the temperatures it is sampled at, or
    only at ``temperatures``)."""
    chosen = set(models)
    return [
        f"results/scored/{m}/{b}/T{t}.parquet"
        for m, b, t in EVALUATIONS
        if m in chosen and (temperatures is None or t in temperatures)
    ]


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


def report_context():
    """claims.md's lines on what the metric, benchmarks and regimes are."""
    from rlvr_boundary.report.markdown import tiny_world_context

    labels = {name: spec.get("analog", "") for name, spec in config["benchmarks"].items()}
    return tiny_world_context(
        {"metric": config["analysis"]["claim_metric"]}, labels, config["rl"]["regimes"]
    )


def model_registry(models):
    """Rows of models.csv that the config alone determines (hashes are added later)."""
    return [MODELS[m].row() for m in models]


# --- what rules/sample.smk reads from a plan: tiny-world checkpoints and benchmarks ------
# One sampling group per model and temperature, `all`: every benchmark the model is sampled
# on there (a tiny-world job is mostly start-up). Sampled with the world's own prompts and
# engine, graded by the world's trace and answer checks.
SAMPLING_ENV = "../envs/train.yaml"
SAMPLING_RESOURCES = dict(mem_mb=4000, runtime=lambda wildcards, attempt: 60 * attempt, gpu=GPUS)
GRADING_THREADS = 1
GRADING_RESOURCES = dict(mem_mb=2000, runtime=lambda wildcards, attempt: 30 * attempt)
METRICS = config["analysis"]["metrics"]


def model_input(wildcards):
    return model_folder(wildcards.model)


def job_benchmarks(wildcards):
    """The benchmarks a sampling job samples (its model's, at its temperature)."""
    return SAMPLED_BENCHMARKS[wildcards.model, wildcards.temperature]


def job_benchmark_files(wildcards):
    return [f"results/data/benchmarks/{b}.parquet" for b in job_benchmarks(wildcards)]


# Sampling settings that are no param of a sampling job (a param's change reruns the job):
# the temperatures (a job's own is its wildcard, so an added one reruns no other job), n
# and block_size (a job's block is its param instead: raising n adds blocks, reruns none)
# and, on a CPU, batch_size: rows generated together change speed, not samples
# (tests/unit/test_batch_invariance.py); scripts/sample_model.py reads it from the config.
# On a GPU the batch's shape picks the kernels and nothing was measured: there it stays.
_NOT_SAMPLING_PARAMS = (
    "temperatures",
    "n",
    "block_size",
    *(("batch_size",) if DEVICE == "cpu" else ()),
)


def sampling_job(wildcards):
    """What one sampling job draws: its block of samples, each benchmark with its own seed."""
    job_block = block_at(BLOCKS, int(wildcards.block))
    return dict(
        engine="tiny_world",
        subfolder=model_subfolder(wildcards.model),
        benchmarks={
            b: {
                "seed": sample_seed(
                    wildcards.model, b, wildcards.temperature, wildcards.shard, job_block
                )
            }
            for b in job_benchmarks(wildcards)
        },
        block=job_block.param(),
        sampling={k: v for k, v in config["sampling"].items() if k not in _NOT_SAMPLING_PARAMS},
        device=DEVICE,
    )


def shard_samples(wildcards):
    return expand(
        "results/samples/{model}/all/T{temperature}/shard{shard}_block{block}.parquet",
        shard=SHARDS,
        block=range(len(BLOCKS)),
        model=wildcards.model,
        temperature=wildcards.temperature,
    )


def benchmark_problems(wildcards):
    return f"results/data/benchmarks/{wildcards.benchmark}.parquet"


def benchmark_grader(wildcards):
    return {"kind": "tiny_world", "claim_metric": config["analysis"]["claim_metric"]}


def model_checkpoints(models):
    return checkpoints_of(models)


def model_identities(models):
    """What the registry hashes: each model's own weights folder."""
    return model_folders(models)


SCORED = scored_samples(all_evaluated_models())


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
    return {
        **shared,
        **config["rl"]["algorithms"][spec.algorithm],
        "algorithm": spec.algorithm,
        "steps": spec.step,
        "prompts": config["rl"]["regimes"][spec.regime]["prompts"],
    }


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


def all_seeds():
    """Every derived seed of the study, by the names it is derived from (for provenance)."""
    seeds = {
        "master": config["seed"],
        "data": seed_for("data"),
        "bootstrap": seed_for("bootstrap"),
        "distillation_set": seed_for("distillation_set"),
        "pretrain/teacher": seed_for("pretrain", "teacher"),
    }
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
            for job_block in BLOCKS:
                seeds[f"sample/{model}/{benchmark}/{temperature}/{shard}/{job_block.index}"] = (
                    sample_seed(model, benchmark, temperature, shard, job_block)
                )
    return seeds


# --- the studies (algorithms.smk, boundary.smk, report.smk) ---------------------------


def algorithm_study():
    """Algorithm name -> model id, with the base, for studies.algorithms."""
    study = STUDIES["algorithms"]
    run = f"{study['family']}-rl-{study['regime']}"
    models = {
        a: run if a == config["rl"]["algorithm"] else f"{run}-{a}" for a in study["algorithms"]
    }
    return dict(
        models=models,
        base=f"{study['family']}-base",
        family=study["family"],
        regime=study["regime"],
        margin=study["alike_margin"],
        threshold=study["far_threshold"],
    )


def training_length_study():
    """Checkpoint model id -> step, the final model included, for studies.training_length."""
    study = STUDIES["training_length"]
    run = f"{study['family']}-rl-{study['regime']}"
    steps = {m: s.step for m, s in MODELS.items() if s.checkpoint_of == run}
    return dict(
        checkpoints={**steps, run: MODELS[run].step}, base=f"{study['family']}-base", run=run
    )


# Tables the claims report reads besides the boundary tables and the studies': the real
# models' section.
REPORT_EXTRA_TABLES = {"real_report": "results/real/report.md"}
# Claims this configuration cannot compute, and the input each lacks (the report says so).
CLAIM_GAPS = (
    {} if "algorithms" in STUDIES else {"C6": "study `algorithms` is not in this configuration"}
)
BOUNDARY_TABLES = {
    name: f"results/tables/{name}.csv"
    for name in (
        "coverage",
        "coverage_problems",
        "accuracy_histogram",
        "cot_validity",
        "regimes",
        "crossover_seeds",
        "crossover_spread",
    )
}


def boundary_figures():
    names = ["coverage", "cot_validity", "regime_gap", "crossover_spread"]
    names += [f"accuracy_histograms_{family}" for family in FAMILIES]
    return figures("results/figures", *names)


def seed_study_runs():
    """The models of the seed study, the main model (seed index 0) included."""
    study = STUDIES.get("seeds")
    if not study:
        return []
    run = f"{study['family']}-rl-{study['regime']}"
    return [run] + [m for m, spec in MODELS.items() if spec.study == "seeds"]


# The regimes sweep's prompt counts and the seed study's runs (analyze_boundary).
BOUNDARY_PARAMS = dict(
    regime_prompts={name: spec["prompts"] for name, spec in config["rl"]["regimes"].items()},
    seed_runs=seed_study_runs(),
)


def perplexity_models(family):
    """The scorers and response sets of one family: its base, its main RL models, and the
    teacher's responses."""
    rl = [m for m in rl_models() if MODELS[m].family == family]
    return dict(base=f"{family}-base", rl=rl, teacher="teacher")


def family_perplexity_models(wildcards):
    return perplexity_models(wildcards.family)


def perplexity_inputs(wildcards):
    models = perplexity_models(wildcards.family)
    responded = [models["base"], *models["rl"], models["teacher"]]
    return dict(
        scorers=checkpoints_of([models["base"], *models["rl"]]),
        responses=[
            f"results/scored/{m}/{b}/T{CLAIM_TEMPERATURE}.parquet"
            for m in responded
            for b in BENCHMARKS
        ],
        benchmarks=expand("results/data/benchmarks/{benchmark}.parquet", benchmark=BENCHMARKS),
    )


TEMPERATURE_FAMILIES = FAMILIES
PERPLEXITY_FAMILIES = FAMILIES


def temperature_study():
    study = STUDIES["temperatures"]
    chosen = [
        m
        for m in evaluated_models()
        if MODELS[m].role == "base"
        or (MODELS[m].role == "rl" and MODELS[m].regime in study["regimes"])
    ]
    temperatures = sorted({float(CLAIM_TEMPERATURE), *map(float, study["values"])})
    return dict(
        models=chosen,
        temperatures=temperatures,
        benchmarks=study_benchmarks(config, "temperatures"),
        base_of={m: MODELS[m].parent for m in chosen if MODELS[m].role == "rl"},
    )


def entropy_inputs(wildcards):
    study = temperature_study()
    models = [m for m in study["models"] if MODELS[m].family == wildcards.family]
    return dict(
        models=checkpoints_of(models),
        samples=[
            f"results/scored/{m}/{b}/T{float(t)}.parquet"
            for m in models
            for b in study["benchmarks"]
            for t in study["temperatures"]
        ],
        benchmarks=expand(
            "results/data/benchmarks/{benchmark}.parquet", benchmark=study["benchmarks"]
        ),
    )
