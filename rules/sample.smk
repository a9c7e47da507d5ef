# Every model alike, whatever its source: sampled, graded with each benchmark's grader,
# counted into one table and registered. What a job covers, which engine and grader it
# uses and what it asks of a machine come from the study's plan (rules/common.smk for the
# tiny world, rules/checkpoint_plan.smk for checkpoints).


rule sample_model:
    """One block of samples per problem (sampling.block_size of the n: raising n adds
    blocks and reruns none) for one shard (a range of problems) of a group of the model's
    benchmarks at one temperature: in the tiny world every benchmark of the model (a job
    there is mostly start-up), for a checkpoint one benchmark (reruns stay per benchmark).
    Raw completions and finish reasons are kept; nothing is graded here."""
    input:
        model=model_input,
        benchmarks=job_benchmark_files,
    output:
        **SAMPLE_JOB_RECORDS,
        samples="results/samples/{model}/{group}/T{temperature}/shard{shard}_block{block}.parquet",
    params:
        job=sampling_job,
        threads=result_threads("sample"),
    threads: config["threads"]["sample"]
    resources:
        **SAMPLING_RESOURCES,
    log:
        "logs/sample_model/{model}/{group}/T{temperature}/shard{shard}_block{block}.log",
    benchmark:
        "benchmarks/sample_model/{model}/{group}/T{temperature}/shard{shard}_block{block}.tsv"
    conda:
        SAMPLING_ENV
    script:
        "../scripts/sample_model.py"


rule grade_samples:
    """A grade_status per sample and metric (correct, wrong, unparsable, truncated,
    timeout) from the benchmark's grader: the tiny world's trace and answer checks, or
    math-verify and the paper's lenient rules on real math."""
    input:
        shards=shard_samples,
        benchmark=benchmark_problems,
    output:
        scored="results/scored/{model}/{benchmark}/T{temperature}.parquet",
    params:
        grader=benchmark_grader,
    threads: GRADING_THREADS
    resources:
        **GRADING_RESOURCES,
    log:
        "logs/grade_samples/{model}/{benchmark}/T{temperature}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/grade_samples.py"


rule count_correct:
    """One per-problem counts table (every analysis reads counts, never samples); per model,
    benchmark and temperature a grading table (truncated samples, each metric's correct,
    timed-out and unparsable ones, how often two metrics disagree) and how many samples
    each stop ended (a stop string, eos:<id> or length; in the tiny world stop or length)."""
    input:
        scored=SCORED,
    output:
        counts="results/tables/counts.parquet",
        grading="results/tables/grading.csv",
        stops="results/tables/stop_reasons.csv",
    params:
        metrics=METRICS,
    log:
        "logs/count_correct.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/count_correct.py"


rule register_models:
    """The model registry: id, family, role, parent, regime and each checkpoint's identity
    (a sha256 of a folder trained here; the Hub id@revision or path with the digest of a
    fetched one)."""
    input:
        checkpoints=model_checkpoints(list(MODELS)),
    output:
        registry="results/tables/models.csv",
    params:
        rows=model_registry(list(MODELS)),
        checkpoints=model_identities(list(MODELS)),
    log:
        "logs/register_models.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/register_models.py"
