# pass@k for every model, benchmark, temperature and metric of the counts table, at
# every scale; Bayes@N beside it, and the power of the main comparisons.
from rlvr_boundary.analyses.power import POWER_TARGETS


localrules:
    estimate_bayes_at_n,
    estimate_power,


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


rule estimate_bayes_at_n:
    """Bayes@N (Hariri et al.; scorio) with credible intervals beside pass@1 and its
    bootstrap CI, for every model, benchmark, temperature and metric."""
    input:
        counts="results/tables/counts.parquet",
        passk="results/tables/passk.csv",
    output:
        table="results/tables/bayes_at_n.csv",
    params:
        ci_level=config["analysis"]["ci_level"],
    log:
        "logs/estimate_bayes_at_n.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/estimate_bayes_at_n.py"


rule estimate_power:
    """Minimum detectable effect of every C1 and C2 scope at its benchmark's size, and the
    problems each benchmark would need for the target mde."""
    input:
        counts="results/tables/counts.parquet",
        registry="results/tables/models.csv",
    output:
        table="results/tables/power.csv",
    params:
        analysis=config["analysis"],
        targets=POWER_TARGETS,
    log:
        "logs/estimate_power.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/estimate_power.py"
