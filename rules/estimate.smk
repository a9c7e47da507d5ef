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
