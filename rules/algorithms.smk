# The six-algorithm study (claim C6) and the training-length study.


if "algorithms" in STUDIES:

    rule estimate_sampling_efficiency_gap:
        """dSE = pass@k_max(base) - pass@1(RL) per algorithm with paired CIs, and every
        pairwise pass@1 difference (the C6 evidence)."""
        input:
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
            passk="results/tables/passk.csv",
            histories=algorithm_histories(),
        output:
            curves=reported(
                figures("results/figures", "passk_curves_algorithms"),
                "algorithms",
                "2. RL algorithms (C6)",
            ),
            training=reported(
                figures("results/figures", "training_curves_algorithms"),
                "algorithms",
                "2. RL algorithms (C6)",
            ),
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
            counts="results/tables/counts.parquet",
        output:
            table="results/tables/training_length.csv",
            figure=reported(
                figures("results/figures", "training_length"),
                "training_length",
                "2. RL algorithms (C6)",
            ),
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
