rule pretrain_base:
    """A from-scratch base model pretrained on noisy, diverse chain-of-thought traces."""
    input:
        world="results/data/world.json",
        train="results/data/train.parquet",
    output:
        model=protected(directory("results/models/{family}-base")),
        history="results/training/{family}-base.csv",
    params:
        spec=family_spec,
        max_positions=config["world"]["max_positions"],
        seed=pretrain_seed,
        noisy=True,
        device=DEVICE,
        threads=result_threads("train"),
    threads: config["threads"]["train"]
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=GPUS,
    log:
        "logs/pretrain_base/{family}.log",
    benchmark:
        "benchmarks/pretrain_base/{family}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/pretrain.py"


use rule pretrain_base as pretrain_teacher with:
    priority: 10
    output:
        model=protected(directory("results/models/teacher")),
        history="results/training/teacher.csv",
    params:
        spec=config["teacher"],
        max_positions=config["world"]["max_positions"],
        seed=seed_for("pretrain", "teacher"),
        noisy=False,
        device=DEVICE,
        threads=result_threads("train"),
    log:
        "logs/pretrain_teacher.log",
    benchmark:
        "benchmarks/pretrain_teacher.tsv"


rule train_rl:
    """RLVR from the base with one algorithm (TRL trainers and our extensions of them) and
    a verifiable reward, keeping intermediate checkpoints for the training-length study.
    A run is a regime, or a regime plus an algorithm or seed of a study."""
    input:
        base="results/models/{family}-base",
        prompts="results/data/rl_prompts.parquet",
    output:
        model=directory("results/models/{family}-rl-{run}"),
        checkpoints=directory("results/checkpoints/{family}-rl-{run}"),
        history="results/training/{family}-rl-{run}.csv",
    params:
        rl=rl_settings,
        checkpoint_steps=rl_checkpoint_steps,
        seed=rl_seed,
        device=DEVICE,
        threads=result_threads("train"),
    threads: config["threads"]["train"]
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=GPUS * config["rl"].get("gpus", 1),
    log:
        "logs/train_rl/{family}-{run}.log",
    benchmark:
        "benchmarks/train_rl/{family}-{run}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/train_rl.py"


rule build_distillation_set:
    """The teacher answers training prompts; only verified-correct traces are kept."""
    priority: 10
    input:
        teacher="results/models/teacher",
        train="results/data/train.parquet",
    output:
        traces="results/data/distillation_set.parquet",
    params:
        distill=config["distill"],
        max_new_tokens=config["sampling"]["max_new_tokens"],
        seed=seed_for("distillation_set"),
        device=DEVICE,
        threads=result_threads("sample"),
    threads: config["threads"]["sample"]
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=GPUS,
    log:
        "logs/build_distillation_set.log",
    benchmark:
        "benchmarks/build_distillation_set.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/build_distillation_set.py"


rule distill_student:
    """The base fine-tuned on the teacher's verified traces with TRL's SFTTrainer."""
    input:
        base="results/models/{family}-base",
        traces="results/data/distillation_set.parquet",
    output:
        model=directory("results/models/{family}-distilled"),
        history="results/training/{family}-distilled.csv",
    params:
        distill=config["distill"],
        seed=distill_seed,
        device=DEVICE,
        threads=result_threads("train"),
    threads: config["threads"]["train"]
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=GPUS,
    log:
        "logs/distill_student/{family}.log",
    benchmark:
        "benchmarks/distill_student/{family}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/distill_student.py"
