localrules:
    plot_passk_curves,
    plot_passk_curves_quick,
    write_claims_report,
    write_claims_report_quick,
    write_provenance,


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


use rule plot_passk_curves as plot_passk_curves_quick with:
    input:
        passk="results/quick/tables/passk.csv",
        registry="results/quick/tables/models.csv",
    output:
        figures=passk_figures("results/quick/figures"),
    log:
        "logs/plot_passk_curves_quick.log",


rule write_claims_report:
    """Every claim C1-C8 as a number with a CI and a verdict (claims.md, claims.json)."""
    input:
        unpack(study_tables),
        counts="results/tables/counts.parquet",
        registry="results/tables/models.csv",
    output:
        markdown=report("results/report/claims.md", caption="../report/captions/claims.rst",
                        category="0. Claims"),
        json="results/report/claims.json",
    params:
        analysis=config["analysis"],
        context=report_context(),
        studies=STUDIES,
        algorithm_study=algorithm_study() if "algorithms" in STUDIES else {},
        seed=seed_for("bootstrap"),
    log:
        "logs/write_claims_report.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/write_claims_report.py"


use rule write_claims_report as write_claims_report_quick with:
    input:
        counts="results/quick/tables/counts.parquet",
        registry="results/quick/tables/models.csv",
    output:
        markdown="results/quick/report/claims.md",
        json="results/quick/report/claims.json",
    log:
        "logs/write_claims_report_quick.log",


rule write_provenance:
    """Package versions, git commit, config hash, seeds and sha256 of every checkpoint
    and table."""
    input:
        registry="results/tables/models.csv",
        tables=[
            "results/tables/counts.parquet",
            "results/tables/passk.csv",
            "results/report/claims.json",
        ],
        data=rules.make_task_data.output,
    output:
        provenance="results/provenance.json",
    params:
        config=config,
        seeds=all_seeds(),
    log:
        "logs/write_provenance.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/write_provenance.py"
