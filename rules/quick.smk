# The `quick` target (C1, C2 only: bases and RL models, no teacher or studies), under
# results/quick/: the same rules on fewer models.


use rule count_correct as count_correct_quick with:
    input:
        scored=scored_samples(quick_models(), TEMPERATURES),
    output:
        counts="results/quick/tables/counts.parquet",
        grading="results/quick/tables/grading.csv",
        stops="results/quick/tables/stop_reasons.csv",
    log:
        "logs/count_correct_quick.log",


use rule register_models as register_quick_models with:
    input:
        checkpoints=model_checkpoints(quick_models()),
    output:
        registry="results/quick/tables/models.csv",
    params:
        rows=model_registry(quick_models()),
        checkpoints=model_identities(quick_models()),
    log:
        "logs/register_quick_models.log",


use rule estimate_passk as estimate_passk_quick with:
    input:
        counts="results/quick/tables/counts.parquet",
    output:
        passk="results/quick/tables/passk.csv",
    log:
        "logs/estimate_passk_quick.log",


use rule plot_passk_curves as plot_passk_curves_quick with:
    input:
        passk="results/quick/tables/passk.csv",
        registry="results/quick/tables/models.csv",
    output:
        figures=passk_figures("results/quick/figures"),
    log:
        "logs/plot_passk_curves_quick.log",


use rule write_claims_report as write_claims_report_quick with:
    input:
        counts="results/quick/tables/counts.parquet",
        registry="results/quick/tables/models.csv",
    output:
        markdown="results/quick/report/claims.md",
        json="results/quick/report/claims.json",
    log:
        "logs/write_claims_report_quick.log",


localrules:
    estimate_passk_quick,
    plot_passk_curves_quick,
    write_claims_report_quick,
