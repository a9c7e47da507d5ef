import matplotlib.pyplot as plt
import pandas as pd

from rlvr_boundary.report.boundary_plots import (
    plot_accuracy_histograms,
    plot_cot_validity,
    plot_coverage_bars,
    plot_crossover_spread,
    plot_regime_gap,
)
from rlvr_boundary.analyses.cot_validity import cot_validity_table
from rlvr_boundary.analyses.coverage import accuracy_histogram, coverage_table
from rlvr_boundary.report.plots import save_figure
from rlvr_boundary.analyses.regimes import crossover_spread, regime_table
from rlvr_boundary.workflow.job_io import start_job, write_csv

log = start_job(snakemake.log[0])
p, out = snakemake.params, snakemake.output
a = p.analysis
counts = pd.read_parquet(snakemake.input.counts)
registry = pd.read_csv(snakemake.input.registry, keep_default_na=False)
settings = dict(metric=a["claim_metric"], temperature=a["claim_temperature"],
                n_resamples=a["bootstrap_resamples"], seed=p.seed, level=a["ci_level"])
without_metric = {k: v for k, v in settings.items() if k != "metric"}

coverage, problems = coverage_table(counts, registry, **settings)
write_csv(coverage, out.coverage)
write_csv(problems, out.coverage_problems)
histogram = accuracy_histogram(counts, settings["metric"], settings["temperature"])
write_csv(histogram, out.accuracy_histogram)
figures = {"coverage": plot_coverage_bars(coverage)}
figures |= {f"accuracy_histograms_{family}": plot_accuracy_histograms(histogram, registry, family)
            for family in p.families}
# Tables only some scales have: step-checked chains (the tiny world; real math is annotated
# by people, rules/checkpoints.smk), the regimes sweep and the RL-seed study.
if "cot_validity" in out.keys():
    mode = "trace" if settings["metric"] == "trace" else "answer_only"
    write_csv(cot_validity_table(counts, registry, mode=mode, **without_metric), out.cot_validity)
    figures["cot_validity"] = plot_cot_validity(pd.read_csv(out.cot_validity),
                                                a["boundary"]["cot_majority"])
if "regimes" in out.keys():
    # The regimes sweep: the main models and the corpus-rarity variants.
    regimes = pd.concat([regime_table(counts, registry, p.regime_prompts, study=study, **settings)
                         for study in ("", "rarity")], ignore_index=True)
    write_csv(regimes, out.regimes)
    figures["regime_gap"] = plot_regime_gap(regimes)
if "crossover_seeds" in out.keys():
    # The seed study's spread counts the main model as its first seed.
    seeds = registry.copy()
    seeds.loc[seeds.model.isin(p.seed_runs), "study"] = "seeds"
    per_seed, spread = crossover_spread(counts, seeds, **settings)
    write_csv(per_seed, out.crossover_seeds)
    write_csv(spread, out.crossover_spread)
    figures["crossover_spread"] = plot_crossover_spread(per_seed)
for path in out.figures:
    name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    save_figure(figures[name], path, p.plots["dpi"])
for fig in figures.values():
    plt.close(fig)
log.info("coverage:\n%s", coverage.to_string(max_rows=40))
