rule sample_model:
    """n samples per problem for one shard (a range of problems) of each benchmark the
    model is sampled on at this temperature: one job, as a tiny-world job is mostly
    start-up. Raw completions and finish reasons are kept; nothing is graded here."""
    input:
        model=model_input,
        benchmarks=job_benchmark_files,
    output:
        samples="results/samples/{model}/T{temperature}/shard{shard}.parquet",
    params:
        subfolder=model_checkpoint_subfolder,
        sampling=config["sampling"],
        benchmarks=job_benchmarks,
        seeds=sample_seeds,
        device=DEVICE,
    threads: config["threads"]["sample"]
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=GPUS,
    log:
        "logs/sample_model/{model}/T{temperature}/shard{shard}.log",
    benchmark:
        "benchmarks/sample_model/{model}/T{temperature}/shard{shard}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/sample_model.py"


rule grade_samples:
    """A grade_status per sample and metric (correct, wrong, unparsable, truncated, timeout)."""
    input:
        shards=shard_samples,
        benchmark="results/data/benchmarks/{benchmark}.parquet",
    output:
        scored="results/scored/{model}/{benchmark}/T{temperature}.parquet",
    params:
        metrics=config["analysis"]["metrics"],
        claim_metric=config["analysis"]["claim_metric"],
    log:
        "logs/grade_samples/{model}/{benchmark}/T{temperature}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/grade_samples.py"
