# pass@k for every model, benchmark, temperature and metric of the counts table, at
# every scale.


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
