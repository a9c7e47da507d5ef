rule count_correct:
    """One per-problem counts table; every analysis reads counts, never samples."""
    input:
        scored=scored_samples(all_evaluated_models()),
    output:
        counts="results/tables/counts.parquet",
    params:
        metrics=config["analysis"]["metrics"],
    log:
        "logs/count_correct.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/count_correct.py"


use rule count_correct as count_correct_quick with:
    input:
        scored=scored_samples(quick_models(), TEMPERATURES),
    output:
        counts="results/quick/tables/counts.parquet",
    log:
        "logs/count_correct_quick.log",


rule register_models:
    """The model registry: id, family, role, parent, regime and a sha256 of each checkpoint."""
    input:
        models=checkpoints_of(list(MODELS)),
    output:
        registry="results/tables/models.csv",
    params:
        rows=model_registry(list(MODELS)),
        folders=model_folders(list(MODELS)),
    log:
        "logs/register_models.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/register_models.py"


use rule register_models as register_quick_models with:
    input:
        models=checkpoints_of(quick_models()),
    output:
        registry="results/quick/tables/models.csv",
    params:
        rows=model_registry(quick_models()),
        folders=model_folders(quick_models()),
    log:
        "logs/register_quick_models.log",


rule estimate_passk:
    """Unbiased pass@k with problem-paired bootstrap CIs, for every model, benchmark,
    temperature and metric."""
    input:
        counts="results/tables/counts.parquet",
    output:
        passk="results/tables/passk.csv",
    params:
        analysis=config["analysis"],
        seed=seed_for("bootstrap"),
    log:
        "logs/estimate_passk.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/estimate_passk.py"


use rule estimate_passk as estimate_passk_quick with:
    input:
        counts="results/quick/tables/counts.parquet",
    output:
        passk="results/quick/tables/passk.csv",
    log:
        "logs/estimate_passk_quick.log",
