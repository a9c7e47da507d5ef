# The six-algorithm study (claim C6) and the training-length study.


def algorithm_study():
    """Algorithm name -> model id, with the base, for studies.algorithms."""
    study = STUDIES["algorithms"]
    run = f"{study['family']}-rl-{study['regime']}"
    models = {a: run if a == config["rl"]["algorithm"] else f"{run}-{a}" for a in study["algorithms"]}
    return dict(models=models, base=f"{study['family']}-base", family=study["family"],
                regime=study["regime"], margin=study["alike_margin"],
                threshold=study["far_threshold"])


def training_length_study():
    """Checkpoint model id -> step, the final model included, for studies.training_length."""
    study = STUDIES["training_length"]
    run = f"{study['family']}-rl-{study['regime']}"
    steps = {m: s.step for m, s in MODELS.items() if s.checkpoint_of == run}
    return dict(checkpoints={**steps, run: MODELS[run].step}, base=f"{study['family']}-base",
                run=run)


def algorithm_outputs():
    outputs = []
    if "algorithms" in STUDIES:
        outputs += ["results/tables/sampling_efficiency_gap.csv", "results/tables/algorithm_pairs.csv"]
        outputs += figures("results/figures", "passk_curves_algorithms", "training_curves_algorithms")
    if "training_length" in STUDIES:
        outputs += ["results/tables/training_length.csv"]
        outputs += figures("results/figures", "training_length")
    return outputs


def algorithm_histories():
    return [f"results/training/{m}.csv" for m in algorithm_study()["models"].values()]


if "algorithms" in STUDIES:

    rule estimate_sampling_efficiency_gap:
        """dSE = pass@k_max(base) - pass@1(RL) per algorithm with paired CIs, and every
        pairwise pass@1 difference (the C6 evidence)."""
        input:
            code=code("algorithm_study"),
            counts="results/tables/counts.parquet",
        output:
            gap="results/tables/sampling_efficiency_gap.csv",
            pairs="results/tables/algorithm_pairs.csv",
        params:
            study=algorithm_study(),
            analysis=config["analysis"],
            seed=seed_for("bootstrap"),
        log:
            "logs/estimate_sampling_efficiency_gap.log",
        conda:
            "../envs/analysis.yaml"
        script:
            "../scripts/estimate_sampling_efficiency_gap.py"

    rule plot_algorithm_study:
        """pass@k of the base and every algorithm (Fig. 8 analog) and their training curves."""
        input:
            code=code("algorithm_plots"),
            passk="results/tables/passk.csv",
            histories=algorithm_histories(),
        output:
            curves=figures("results/figures", "passk_curves_algorithms"),
            training=figures("results/figures", "training_curves_algorithms"),
        params:
            study=algorithm_study(),
            plots=config["plots"],
            analysis=config["analysis"],
            benchmarks=config["benchmarks"],
        log:
            "logs/plot_algorithm_study.log",
        conda:
            "../envs/analysis.yaml"
        script:
            "../scripts/plot_algorithm_study.py"


if "training_length" in STUDIES:

    rule estimate_training_length:
        """pass@1 and pass@k_max with CIs at each checkpoint of one run (Table 3 / Fig. 1 analog)."""
        input:
            code=code("algorithm_study", "algorithm_plots"),
            counts="results/tables/counts.parquet",
        output:
            table="results/tables/training_length.csv",
            figure=figures("results/figures", "training_length"),
        params:
            study=training_length_study(),
            analysis=config["analysis"],
            plots=config["plots"],
            seed=seed_for("bootstrap"),
        log:
            "logs/estimate_training_length.log",
        conda:
            "../envs/analysis.yaml"
        script:
            "../scripts/estimate_training_length.py"
