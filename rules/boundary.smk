# Boundary analyses (claims C3-C5, C8): solvable sets, per-problem accuracy, chains of
# thought, the regimes sweep and the crossover's spread across RL seeds.


rule analyze_boundary:
    """Who solves what at k = n (Tables 4-5 analog), per-problem accuracy histograms
    (Fig. 5), chain-of-thought validity, the regimes sweep and the crossover per RL seed."""
    input:
        counts="results/tables/counts.parquet",
        registry="results/tables/models.csv",
    output:
        **BOUNDARY_TABLES,
        figures=reported(boundary_figures(), "boundary", "3. Boundary (C3, C4, C5)"),
    params:
        **BOUNDARY_PARAMS,
        analysis=config["analysis"],
        families=FAMILIES,
        plots=config["plots"],
        seed=seed_for("bootstrap"),
    log:
        "logs/analyze_boundary.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/analyze_boundary.py"


# --- perplexity (C3) and the temperature study --------------------------------------


# The tiny world scores with its own checkpoints (rules/checkpoints.smk: real ones). On a
# CPU the scores do not depend on batch_size: no param there, the script reads the config.
if "perplexity" in STUDIES and not PAPER_SCALE:
    from rlvr_boundary.analyses.perplexity import batch_size_param

    rule score_perplexity:
        """Every response of the base, each RL model and the teacher scored by the base and the
        RL models: PPL per token and at matched length (Fig. 6 analog)."""
        input:
            unpack(perplexity_inputs),
        output:
            table="results/tables/perplexity/{family}.csv",
        params:
            models=family_perplexity_models,
            benchmarks=BENCHMARKS,
            study={k: v for k, v in STUDIES["perplexity"].items() if k != "batch_size"},
            batch_size=batch_size_param(STUDIES["perplexity"]["batch_size"], DEVICE),
            device=DEVICE,
            threads=result_threads("sample"),
        threads: config["threads"]["sample"]
        resources:
            mem_mb=4000,
            runtime=30,
            gpu=GPUS,
        log:
            "logs/score_perplexity/{family}.log",
        benchmark:
            "benchmarks/score_perplexity/{family}.tsv"
        conda:
            "../envs/train.yaml"
        script:
            "../scripts/score_perplexity.py"


if "perplexity" in STUDIES:

    rule summarize_perplexity:
        """C3's perplexity test: mean log PPL_base(Y_RL) - log PPL_base(Y_base) with paired CIs,
        and the distributions per family."""
        input:
            tables=expand("results/tables/perplexity/{family}.csv", family=PERPLEXITY_FAMILIES),
        output:
            shift="results/tables/perplexity_shift.csv",
            figures=reported(
                figures("results/figures", *[f"perplexity_{f}" for f in PERPLEXITY_FAMILIES]),
                "perplexity",
                "3. Boundary (C3, C4, C5)",
            ),
        params:
            models={family: perplexity_models(family) for family in PERPLEXITY_FAMILIES},
            analysis=config["analysis"],
            benchmarks=config["benchmarks"],
            plots=config["plots"],
            seed=seed_for("bootstrap"),
        log:
            "logs/summarize_perplexity.log",
        conda:
            "../envs/analysis.yaml"
        script:
            "../scripts/summarize_perplexity.py"


# The tiny world measures entropy with its own checkpoints (rules/checkpoints.smk: real ones).
if "temperatures" in STUDIES and not PAPER_SCALE:

    rule measure_entropy:
        """Mean token entropy of each model at each temperature on its own samples."""
        input:
            unpack(entropy_inputs),
        output:
            table="results/tables/entropy/{family}.csv",
        params:
            study=temperature_study(),
            top_p=config["sampling"]["top_p"],
            samples_per_problem=STUDIES.get("perplexity", {}).get("samples_per_problem", 8),
            device=DEVICE,
            threads=result_threads("sample"),
        threads: config["threads"]["sample"]
        resources:
            mem_mb=4000,
            runtime=30,
            gpu=GPUS,
        log:
            "logs/measure_entropy/{family}.log",
        conda:
            "../envs/train.yaml"
        script:
            "../scripts/measure_entropy.py"


if "temperatures" in STUDIES:

    rule analyze_temperature:
        """pass@k at several temperatures (C2's robustness) and each RL model at the
        temperature whose token entropy matches its base's at T = 1 (Fig. 16-17 analog)."""
        input:
            counts="results/tables/counts.parquet",
            passk="results/tables/passk.csv",
            entropy=expand("results/tables/entropy/{family}.csv", family=TEMPERATURE_FAMILIES),
        output:
            table="results/tables/temperature_study.csv",
            figures=reported(
                figures(
                    "results/figures", *[f"passk_temperatures_{f}" for f in TEMPERATURE_FAMILIES]
                ),
                "temperature",
                "4. Temperature",
            ),
        params:
            study=temperature_study(),
            families=TEMPERATURE_FAMILIES,
            family_of={m: MODELS[m].family for m in temperature_study()["models"]},
            analysis=config["analysis"],
            benchmarks=config["benchmarks"],
            plots=config["plots"],
            seed=seed_for("bootstrap"),
        log:
            "logs/analyze_temperature.log",
        conda:
            "../envs/analysis.yaml"
        script:
            "../scripts/analyze_temperature.py"
