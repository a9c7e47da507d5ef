# Boundary analyses (claims C3-C5, C8): solvable sets, per-problem accuracy, chains of
# thought, the regimes sweep and the crossover's spread across RL seeds.

BOUNDARY_TABLES = {
    name: f"results/tables/{name}.csv"
    for name in ("coverage", "coverage_problems", "accuracy_histogram", "cot_validity", "regimes",
                 "crossover_seeds", "crossover_spread")
}


def boundary_figures():
    names = ["coverage", "cot_validity", "regime_gap", "crossover_spread"]
    names += [f"accuracy_histograms_{family}" for family in FAMILIES]
    return figures("results/figures", *names)


def seed_study_runs():
    """The models of the seed study, the main model (seed index 0) included."""
    study = STUDIES.get("seeds")
    if not study:
        return []
    run = f"{study['family']}-rl-{study['regime']}"
    return [run] + [m for m, spec in MODELS.items() if spec.study == "seeds"]


rule analyze_boundary:
    """Who solves what at k = n (Tables 4-5 analog), per-problem accuracy histograms
    (Fig. 5), chain-of-thought validity, the regimes sweep and the crossover per RL seed."""
    input:
        code=code("coverage", "cot_validity", "regimes", "boundary_plots"),
        counts="results/tables/counts.parquet",
        registry="results/tables/models.csv",
    output:
        **BOUNDARY_TABLES,
        figures=boundary_figures(),
    params:
        analysis=config["analysis"],
        regime_prompts={name: spec["prompts"] for name, spec in config["rl"]["regimes"].items()},
        seed_runs=seed_study_runs(),
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


def perplexity_models(family):
    """The scorers and response sets of one family: its base, its main RL models, and the
    teacher's responses."""
    rl = [m for m in rl_models() if MODELS[m].family == family]
    return dict(base=f"{family}-base", rl=rl, teacher="teacher")


def family_perplexity_models(wildcards):
    return perplexity_models(wildcards.family)


def perplexity_inputs(wildcards):
    models = perplexity_models(wildcards.family)
    responded = [models["base"], *models["rl"], models["teacher"]]
    return dict(
        code=code("perplexity"),
        scorers=checkpoints_of([models["base"], *models["rl"]]),
        responses=[f"results/scored/{m}/{b}/T{CLAIM_TEMPERATURE}.parquet"
                   for m in responded for b in BENCHMARKS],
        benchmarks=expand("results/data/benchmarks/{benchmark}.parquet", benchmark=BENCHMARKS),
    )


def temperature_study():
    study = STUDIES["temperatures"]
    chosen = [m for m in evaluated_models() if MODELS[m].role == "base"
              or (MODELS[m].role == "rl" and MODELS[m].regime in study["regimes"])]
    temperatures = sorted({float(CLAIM_TEMPERATURE), *map(float, study["values"])})
    return dict(models=chosen, temperatures=temperatures,
                benchmarks=study_benchmarks(config, "temperatures"),
                base_of={m: MODELS[m].parent for m in chosen if MODELS[m].role == "rl"})


def entropy_inputs(wildcards):
    study = temperature_study()
    models = [m for m in study["models"] if MODELS[m].family == wildcards.family]
    return dict(
        code=code("perplexity"),
        models=checkpoints_of(models),
        samples=[f"results/scored/{m}/{b}/T{float(t)}.parquet"
                 for m in models for b in study["benchmarks"] for t in study["temperatures"]],
        benchmarks=expand("results/data/benchmarks/{benchmark}.parquet",
                          benchmark=study["benchmarks"]),
    )


def scoring_outputs():
    outputs = []
    if "perplexity" in STUDIES:
        outputs += ["results/tables/perplexity_shift.csv"]
        outputs += figures("results/figures", *[f"perplexity_{f}" for f in FAMILIES])
    if "temperatures" in STUDIES:
        outputs += ["results/tables/temperature_study.csv"]
        outputs += figures("results/figures", *[f"passk_temperatures_{f}" for f in FAMILIES])
    return outputs


if "perplexity" in STUDIES:

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
            study=STUDIES.get("perplexity", {}),
            device=DEVICE,
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


    rule summarize_perplexity:
        """C3's perplexity test: mean log PPL_base(Y_RL) - log PPL_base(Y_base) with paired CIs,
        and the distributions per family."""
        input:
            code=code("perplexity", "perplexity_plots"),
            tables=expand("results/tables/perplexity/{family}.csv", family=FAMILIES),
        output:
            shift="results/tables/perplexity_shift.csv",
            figures=figures("results/figures", *[f"perplexity_{f}" for f in FAMILIES]),
        params:
            models={family: perplexity_models(family) for family in FAMILIES},
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


if "temperatures" in STUDIES:

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


    rule analyze_temperature:
        """pass@k at several temperatures (C2's robustness) and each RL model at the
        temperature whose token entropy matches its base's at T = 1 (Fig. 16-17 analog)."""
        input:
            code=code("temperature_study", "plots"),
            counts="results/tables/counts.parquet",
            passk="results/tables/passk.csv",
            entropy=expand("results/tables/entropy/{family}.csv", family=FAMILIES),
        output:
            table="results/tables/temperature_study.csv",
            figures=figures("results/figures", *[f"passk_temperatures_{f}" for f in FAMILIES]),
        params:
            study=temperature_study(),
            families=FAMILIES,
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
