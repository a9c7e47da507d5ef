# Models from checkpoints: fetched from the Hub at pinned revisions, given as local folders,
# or trained here from one of them (RLVR with the math-verify reward); real benchmarks from
# files or the Hub. rules/sample.smk then samples each model with its own prompt and grades
# with math-verify (and the paper's lenient rules, for comparison), as it does every model;
# the C5 annotation files (and C5's optional judge), perplexity and the temperature study's
# entropy are here.
# configs/paper.yaml is the paper's study; schemas/paper.schema.yaml documents each key.
include: "checkpoint_plan.smk"
include: "benchmarks.smk"


localrules:
    fetch_model,
    make_rl_prompts,
    export_cot_annotations,
    import_cot_annotations,
    register_models,


rule fetch_model:
    """The checkpoint at its pinned revision in the Hugging Face cache (or a local folder),
    with a sha256 per file; sampling reads the snapshot path from this manifest."""
    input:
        trained=checkpoint_folder,
    output:
        manifest="results/models/{model}/manifest.json",
    params:
        entry=lambda wildcards: config["models"][wildcards.model],
        cache_dir=config["hub"]["cache_dir"],
    log:
        "logs/fetch_model/{model}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/fetch_model.py"


rule make_rl_prompts:
    """A trained model's RL prompts: its training template around each problem of its RL
    data, with the reference answer the math-verify reward checks."""
    input:
        problems=lambda w: f"results/benchmarks/{config['models'][w.model]['train']['data']}/problems.jsonl",
    output:
        prompts="results/trained/{model}.prompts.parquet",
    params:
        template=lambda w: training_template(config, w.model),
    log:
        "logs/make_rl_prompts/{model}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/make_rl_prompts.py"


rule train_paper_rl:
    """RLVR from a fetched checkpoint with the math-verify reward (the tiny world's TRL
    trainers and settings; on GPUs bf16 mixed precision, gradient checkpointing and vLLM
    rollouts as set). With train.gpus > 1 the job runs `accelerate launch --config_file
    <accelerate> --num_processes <gpus>` (one process per GPU; the file, e.g.
    configs/accelerate/fsdp.yaml, is an input: editing it reruns the job)."""
    input:
        base=lambda w: f"results/models/{config['models'][w.model]['parent']}/manifest.json",
        prompts="results/trained/{model}.prompts.parquet",
        accelerate=lambda w: ACCELERATE_CONFIGS[w.model] or [],
    output:
        model=directory("results/trained/{model}"),
        checkpoints=directory("results/checkpoints/{model}"),
        history="results/training/{model}.csv",
        environment="results/training/{model}.environment.json",
    params:
        rl=lambda w: TRAINING[w.model],
        checkpoint_steps=lambda w: config["models"][w.model].get("checkpoint_steps", []),
        seed=lambda w: seed_for("rl", w.model),
        device=config["device"],
        threads=result_threads("sample"),
    threads: config["threads"]["sample"]
    resources:
        gpu=lambda w: training_gpus(config, w.model),
        mem_mb=config["sampling"]["mem_mb"],
        runtime=config["sampling"]["runtime_minutes"],
    log:
        "logs/train_paper_rl/{model}.log",
    benchmark:
        "benchmarks/train_paper_rl/{model}.tsv"
    conda:
        "../envs/train-vllm.yaml"
    script:
        "../scripts/train_paper_rl.py"


# --- C5 on real math: no step checker, so people annotate (data/annotations/README.md) ---


rule export_cot_annotations:
    """The base's correct samples on each problem its RL model solves: a CSV to fill in
    (`valid`: 1 every step right, 0 not) and a readable HTML page per problem."""
    input:
        counts="results/tables/counts.parquet",
        registry="results/tables/models.csv",
        problems="results/benchmarks/{benchmark}/problems.jsonl",
        scored=lambda w: [
            f"results/scored/{m}/{w.benchmark}/T{CLAIM_TEMPERATURE}.parquet"
            for m in annotation_models(w)
        ],
    output:
        csv="results/annotations/{benchmark}/to_annotate.csv",
        pages=directory("results/annotations/{benchmark}/pages"),
    params:
        models=annotation_models,
        benchmark=lambda w: w.benchmark,
        metric=config["analysis"]["claim_metric"],
        temperature=CLAIM_TEMPERATURE,
        samples_per_problem=config["analysis"]["annotation_samples_per_problem"],
    log:
        "logs/export_cot_annotations/{benchmark}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/export_cot_annotations.py"


rule import_cot_annotations:
    """C5 from the filled annotation files (analysis.cot_annotations): the share of
    RL-solved problems where the base has a valid chain, with an exact CI. With the judge
    (analysis.cot_judge), its labels where people labelled nothing, marked `judged`."""
    input:
        annotations=ANNOTATIONS,
        judged=JUDGED,
        registry="results/tables/models.csv",
    output:
        table="results/tables/cot_validity.csv",
    params:
        level=config["analysis"]["ci_level"],
        judge=COT_JUDGE["model"] if COT_JUDGE else None,
    log:
        "logs/import_cot_annotations.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/import_cot_annotations.py"


if COT_JUDGE:

    rule judge_cot_annotations:
        """C5 by a language-model judge (analysis.cot_judge): every base sample of the
        export shown to the judge checkpoint with its problem, through the sampling backend;
        its verdict (valid / invalid / unparsable) and raw reply beside the annotation
        columns, `valid` filled from the verdict."""
        input:
            annotations="results/annotations/{benchmark}/to_annotate.csv",
            model=f"results/models/{COT_JUDGE['model']}/manifest.json",
        output:
            judged="results/annotations/{benchmark}/judged.csv",
            environment="results/annotations/{benchmark}/judged.environment.json",
        params:
            job=judge_job,
        threads: config["threads"]["sample"]
        resources:
            gpu=model_gpus(config, COT_JUDGE["model"]),
            mem_mb=config["sampling"]["mem_mb"],
            runtime=config["sampling"]["runtime_minutes"],
        log:
            "logs/judge_cot_annotations/{benchmark}.log",
        benchmark:
            "benchmarks/judge_cot_annotations/{benchmark}.tsv"
        conda:
            SAMPLING_ENV
        script:
            "../scripts/judge_cot_annotations.py"

    rule summarize_cot_judge:
        """The judge's labels per benchmark and, on the samples people labelled too, its
        agreement with them: raw agreement and Cohen's kappa with the 2 x 2 counts."""
        input:
            annotations=ANNOTATIONS,
            judged=JUDGED,
        output:
            table="results/tables/cot_judge.csv",
        log:
            "logs/summarize_cot_judge.log",
        conda:
            "../envs/analysis.yaml"
        script:
            "../scripts/summarize_cot_judge.py"

    localrules:
        summarize_cot_judge,


# --- C3's perplexity: responses scored under the base and RL checkpoints ----------------
# batch_size is a param only where it can change a score (on a GPU or in half precision with
# transformers: analyses.perplexity.batch_size_param); elsewhere the scripts read the config.
from rlvr_boundary.analyses.perplexity import batch_size_param

if "perplexity" in STUDIES:

    rule score_checkpoint_perplexity:
        """Every response of the base, its RL models and the distilled model scored by the
        base and the RL models, each response after the prompt it was sampled from."""
        input:
            unpack(checkpoint_perplexity_inputs),
        output:
            table="results/tables/perplexity/{family}.csv",
        params:
            models=checkpoint_perplexity_models,
            family=lambda w: w.family,
            benchmarks=BENCHMARKS,
            templates=family_templates,
            samples_per_problem=STUDIES.get("perplexity", {}).get("samples_per_problem", 8),
            batch_size=batch_size_param(
                STUDIES["perplexity"].get("batch_size", 4),
                config["device"],
                config["sampling"].get("dtype"),
                config["sampling"]["backend"],
            ),
            dtype=config["sampling"].get("dtype", "float32"),
            device=config["device"],
            threads=result_threads("sample"),
            # The sampling backend scores too: vLLM's prompt log-probs, or transformers.
            backend=config["sampling"]["backend"],
            # The shortest context of the family's scorers (each one's engine must hold it).
            max_model_len=lambda w: min(
                (model_sampling(config, m, config["sampling"]).get("max_model_len") or 0)
                for m in scoring_models(w.family)
            )
            or None,
        threads: config["threads"]["sample"]
        resources:
            gpu=lambda w: model_gpus(config, perplexity_models(w.family)["base"]),
            mem_mb=config["sampling"]["mem_mb"],
            runtime=config["sampling"]["runtime_minutes"],
        log:
            "logs/score_checkpoint_perplexity/{family}.log",
        benchmark:
            "benchmarks/score_checkpoint_perplexity/{family}.tsv"
        conda:
            SAMPLING_ENV
        script:
            "../scripts/score_checkpoint_perplexity.py"


# --- the temperature study: each model's token entropy on its own samples ---------------


if "temperatures" in STUDIES:

    rule measure_checkpoint_entropy:
        """Mean token entropy of each model of the study at each temperature on its own
        samples, each after the prompt it was sampled from (hf backend)."""
        input:
            unpack(entropy_inputs),
        output:
            table="results/tables/entropy/{family}.csv",
        params:
            study=temperature_study(),
            models=family_temperature_models,
            templates=family_templates,
            top_p=config["sampling"]["top_p"],
            samples_per_problem=STUDIES["temperatures"].get("samples_per_problem", 8),
            batch_size=batch_size_param(
                STUDIES["temperatures"].get("batch_size", 4),
                config["device"],
                config["sampling"].get("dtype"),
            ),
            dtype=config["sampling"].get("dtype", "float32"),
            device=config["device"],
            threads=result_threads("sample"),
        threads: config["threads"]["sample"]
        resources:
            gpu=lambda w: model_gpus(config, perplexity_models(w.family)["base"]),
            mem_mb=config["sampling"]["mem_mb"],
            runtime=config["sampling"]["runtime_minutes"],
        log:
            "logs/measure_checkpoint_entropy/{family}.log",
        conda:
            "../envs/train.yaml"
        script:
            "../scripts/measure_checkpoint_entropy.py"
