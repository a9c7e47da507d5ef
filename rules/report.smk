# From the counts table and the model registry to figures and the claims report: the same
# rules at every scale; what a scale has (families, studies, boundary tables, claims it
# cannot compute and why) comes from its plan (rules/common.smk, rules/checkpoints.smk).
localrules:
    plot_passk_curves,
    write_claims_report,


# The studies as the report reads them: scoring batch sizes change no number it shows (on a
# CPU not a bit; elsewhere the scoring jobs rerun and so does the report), so no param here.
REPORTED_STUDIES = {
    name: (
        {k: v for k, v in study.items() if k != "batch_size"} if isinstance(study, dict) else study
    )
    for name, study in STUDIES.items()
}


rule plot_passk_curves:
    """pass@k curves with CI bands: base vs RL (each regime) vs distilled, a panel per
    benchmark, a figure per family."""
    input:
        passk="results/tables/passk.csv",
        registry="results/tables/models.csv",
    output:
        figures=reported(passk_figures("results/figures"), "passk_curves", "1. pass@k (C1, C2, C7)"),
    params:
        plots=config["plots"],
        families=FAMILIES,
        metric=config["analysis"]["claim_metric"],
        temperature=config["analysis"]["claim_temperature"],
        benchmarks=config["benchmarks"],
    log:
        "logs/plot_passk_curves.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/plot_passk_curves.py"


rule write_claims_report:
    """Every claim C1-C8 as a number with a CI and a verdict (claims.md, claims.json)."""
    input:
        unpack(study_tables),
        counts="results/tables/counts.parquet",
        registry="results/tables/models.csv",
        bayes_at_n="results/tables/bayes_at_n.csv",
        power="results/tables/power.csv",
    output:
        markdown=report(
            "results/report/claims.md",
            caption="../report/captions/claims.rst",
            category="0. Claims",
        ),
        json="results/report/claims.json",
    params:
        analysis=config["analysis"],
        context=report_context(),
        studies=REPORTED_STUDIES,
        algorithm_study=algorithm_study() if "algorithms" in STUDIES else {},
        missing=CLAIM_GAPS,
        seed=seed_for("bootstrap"),
    log:
        "logs/write_claims_report.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/write_claims_report.py"
