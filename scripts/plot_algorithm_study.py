import matplotlib.pyplot as plt
import pandas as pd

from rlvr_boundary.report.algorithm_plots import plot_algorithm_curves, plot_training_curves
from rlvr_boundary.report.plots import save_figure
from rlvr_boundary.workflow.job_io import start_job

start_job(snakemake.log[0])
p = snakemake.params
study = p.study
labels = {name: spec.get("analog", "") for name, spec in p.benchmarks.items()}
fig = plot_algorithm_curves(
    pd.read_csv(snakemake.input.passk), study["models"], study["base"],
    p.analysis["claim_metric"], p.analysis["claim_temperature"], labels,
    f"{len(study['models'])} RL algorithms from {study['base']} ({study['regime']} prompts): "
    "pass@k with 95% CIs")
for path in snakemake.output.curves:
    save_figure(fig, path, p.plots["dpi"])
plt.close(fig)
histories = {name: pd.read_csv(path)
             for name, path in zip(study["models"], snakemake.input.histories)}
fig = plot_training_curves(histories)
for path in snakemake.output.training:
    save_figure(fig, path, p.plots["dpi"])
plt.close(fig)
