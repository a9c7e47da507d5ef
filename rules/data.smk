rule make_task_data:
    """Seeded, disjoint splits of the tiny world: benchmarks, RL prompts, training prompts,
    and the world's corpus-noise table."""
    output:
        world="results/data/world.json",
        train="results/data/train.parquet",
        rl_prompts="results/data/rl_prompts.parquet",
        benchmarks=expand("results/data/benchmarks/{benchmark}.parquet", benchmark=BENCHMARKS),
        # The parquets' sha256, checked by every job that reads one (workflow/recorded.py).
        train_record="results/data/train.parquet.sha256",
        rl_prompts_record="results/data/rl_prompts.parquet.sha256",
        benchmark_records=expand(
            "results/data/benchmarks/{benchmark}.parquet.sha256", benchmark=BENCHMARKS
        ),
    params:
        seed=seed_for("data"),
        world=config["world"],
        data=config["data"],
        benchmarks=config["benchmarks"],
    log:
        "logs/make_task_data.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/make_task_data.py"
