# Real models on real data, in every run: per-problem counts of Qwen2.5-7B and its
# SimpleRL-Zoo RL model on MATH500 (n = 128, T = 0.6) from a public reproduction
# (data/real/SOURCE.md), through the same pass@k and bootstrap code as the tiny world.
# Settings: the optional `real:` config block (schemas/config.schema.yaml, `real`).
from rlvr_boundary.analyses.real_counts import real_settings

REAL = real_settings(config)
REAL_PASSK_KS = list(range(1, REAL["samples_per_problem"] + 1))


REAL_BENCHMARKS = sorted(REAL["benchmarks"])
# rules/benchmarks.smk's prepare_benchmark reads these two.
BENCHMARK_SPECS = REAL["benchmarks"]
BENCHMARK_DIR = "results/benchmarks"


include: "benchmarks.smk"


REAL_IMPORTS = {f"{entry['model']}/{entry['benchmark']}": entry for entry in REAL["imports"]}
REAL_IMPORT_OUTPUTS = [
    f"results/real/imported/{key}/{name}"
    for key in sorted(REAL_IMPORTS)
    for name in ("counts.parquet", "grader_comparison.csv")
]
REAL_FIGURES = expand(
    "results/real/figures/{name}_math500.{ext}",
    name=["passk_curves", "accuracy_histogram"],
    ext=config["plots"]["formats"],
)
# What `all` needs from this file.
REAL_TARGETS = [
    "results/real/report.md",
    "results/real/summary.json",
    "results/real/tables/passk.csv",
    *REAL_FIGURES,
    *expand("results/benchmarks/{benchmark}/manifest.json", benchmark=REAL_BENCHMARKS),
    *REAL_IMPORT_OUTPUTS,
]


localrules:
    count_imported_samples,
    import_real_counts,
    real_coverage,
    write_real_report,
    plot_real_figures,


rule import_real_counts:
    """The reproduction's per-problem counts as our counts table, problem_id = the
    unique_id of MATH500's line problem_index (checked: 500 rows per model, n = 128)."""
    input:
        counts=REAL["counts"],
        problems=REAL["problems"],
    output:
        counts="results/real/tables/counts.parquet",
    params:
        real=REAL,
    log:
        "logs/real/import_real_counts.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/import_real_counts.py"


rule estimate_real_passk:
    """pass@k for every k = 1..n with problem-paired bootstrap CIs."""
    input:
        counts="results/real/tables/counts.parquet",
    output:
        passk="results/real/tables/passk.csv",
    params:
        analysis={
            "ks": REAL_PASSK_KS,
            "bootstrap_resamples": REAL["bootstrap_resamples"],
            "ci_level": REAL["ci_level"],
        },
        seed=seed_for("bootstrap"),
    log:
        "logs/real/estimate_real_passk.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/estimate_passk.py"


rule real_coverage:
    """Coverage sets at k = n (both / base only / RL only / neither) and per-problem
    accuracy histograms."""
    input:
        counts="results/real/tables/counts.parquet",
    output:
        coverage="results/real/tables/coverage.csv",
        histogram="results/real/tables/accuracy_histogram.csv",
    log:
        "logs/real/real_coverage.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/real_coverage.py"


rule write_real_report:
    """The real-data section: pass@1, pass@n, C1/C2 differences and the crossover k with
    CIs, coverage sets, source and problem-order notes."""
    input:
        counts="results/real/tables/counts.parquet",
        passk="results/real/tables/passk.csv",
        coverage="results/real/tables/coverage.csv",
        histogram="results/real/tables/accuracy_histogram.csv",
    output:
        markdown="results/real/report.md",
        summary="results/real/summary.json",
    params:
        real=REAL,
        seed=seed_for("bootstrap"),
    log:
        "logs/real/write_real_report.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/write_real_report.py"


rule plot_real_figures:
    """pass@k curves (base vs SimpleRL, CI bands) and accuracy histograms for MATH500."""
    input:
        passk="results/real/tables/passk.csv",
        histogram="results/real/tables/accuracy_histogram.csv",
        summary="results/real/summary.json",
    output:
        figures=REAL_FIGURES,
    params:
        dpi=config["plots"]["dpi"],
    log:
        "logs/real/plot_real_figures.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/plot_real_figures.py"


rule import_samples:
    """Generations in the paper's math_eval jsonl format as our sample table (problem_id
    from the benchmark's idx), keeping the paper's own grade of each sample."""
    input:
        files=lambda wildcards: REAL_IMPORTS[f"{wildcards.model}/{wildcards.benchmark}"]["files"],
        raw=benchmark_file,
    output:
        samples="results/real/imported/{model}/{benchmark}/samples.parquet",
    params:
        entry=lambda wildcards: REAL_IMPORTS[f"{wildcards.model}/{wildcards.benchmark}"],
        spec=lambda wildcards: REAL["benchmarks"][wildcards.benchmark],
    log:
        "logs/real/import_samples/{model}/{benchmark}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/import_samples.py"


rule grade_imported_samples:
    """math-verify and the lenient rules on every imported sample (process pool,
    per-answer timeout, each (problem, answer) pair once)."""
    input:
        samples="results/real/imported/{model}/{benchmark}/samples.parquet",
        problems="results/benchmarks/{benchmark}/problems.jsonl",
    output:
        scored="results/real/imported/{model}/{benchmark}/scored.parquet",
    params:
        grading=REAL["grading"],
    threads: REAL["grading"]["threads"]
    log:
        "logs/real/grade_imported_samples/{model}/{benchmark}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/grade_imported_samples.py"


rule count_imported_samples:
    """Counts under math_verify, lenient and the paper's own grades, and how often the
    graders disagree."""
    input:
        scored="results/real/imported/{model}/{benchmark}/scored.parquet",
    output:
        counts="results/real/imported/{model}/{benchmark}/counts.parquet",
        comparison="results/real/imported/{model}/{benchmark}/grader_comparison.csv",
    params:
        entry=lambda wildcards: REAL_IMPORTS[f"{wildcards.model}/{wildcards.benchmark}"],
    log:
        "logs/real/count_imported_samples/{model}/{benchmark}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/count_imported_samples.py"


rule real:
    """The real-data section alone."""
    input:
        REAL_TARGETS,
