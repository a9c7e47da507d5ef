import matplotlib.pyplot as plt
import pandas as pd

from rlvr_boundary.report.claims import benchmark_seed
from rlvr_boundary.stats.passk import bootstrap_weights
from rlvr_boundary.analyses.perplexity import perplexity_shift
from rlvr_boundary.report.perplexity_plots import plot_perplexity_distributions
from rlvr_boundary.report.plots import save_figure
from rlvr_boundary.workflow.job_io import start_job, write_csv

log = start_job(snakemake.log[0])
p = snakemake.params
a = p.analysis
labels = {name: spec.get("analog", "") for name, spec in p.benchmarks.items()}
shifts, figures = [], {}
for family, path in zip(p.models, snakemake.input.tables):
    table = pd.read_csv(path)
    models = p.models[family]
    base = models["base"]
    for benchmark, on_benchmark in table.groupby("benchmark", sort=True):
        weights = bootstrap_weights(on_benchmark.problem_id.nunique(), a["bootstrap_resamples"],
                                    benchmark_seed(p.seed, benchmark))
        for rl in models["rl"]:
            shift = perplexity_shift(on_benchmark, base, rl, base, weights, a["ci_level"])
            shifts.append(shift.assign(family=family, model=rl, benchmark=benchmark))
    distributions = [("PPL_base(Y_base)", base, base)]
    for rl in models["rl"]:
        # The tiny world's ids carry the regime (<family>-rl-<run>); a checkpoint's, its name.
        regime = rl.split("-rl-", 1)[1] if "-rl-" in rl else rl
        distributions += [(f"PPL_base(Y_RL {regime})", base, rl), (f"PPL_RL(Y_RL {regime})", rl, rl)]
    if models["teacher"]:
        distributions.append(("PPL_base(Y_teacher)", base, models["teacher"]))
    figures[family] = plot_perplexity_distributions(table, distributions, family, labels)
shift = pd.concat(shifts, ignore_index=True)
shift = shift[["family", "model", "benchmark", *[c for c in shift.columns
                                                 if c not in ("family", "model", "benchmark")]]]
write_csv(shift, snakemake.output.shift)
for path in snakemake.output.figures:
    family = path.rsplit("/", 1)[-1].rsplit(".", 1)[0].removeprefix("perplexity_")
    save_figure(figures[family], path, p.plots["dpi"])
for fig in figures.values():
    plt.close(fig)
