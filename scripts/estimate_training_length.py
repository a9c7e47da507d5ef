import matplotlib.pyplot as plt
import pandas as pd

from rlvr_boundary.report.algorithm_plots import plot_training_length
from rlvr_boundary.analyses.algorithm_study import training_length_table
from rlvr_boundary.report.plots import save_figure
from rlvr_boundary.workflow.job_io import start_job, write_csv

start_job(snakemake.log[0])
p = snakemake.params
table = training_length_table(
    pd.read_parquet(snakemake.input.counts), p.study["checkpoints"], p.study["base"],
    metric=p.analysis["claim_metric"], temperature=p.analysis["claim_temperature"],
    n_resamples=p.analysis["bootstrap_resamples"], seed=p.seed, level=p.analysis["ci_level"])
write_csv(table, snakemake.output.table)
fig = plot_training_length(table, f"{p.study['run']}: pass@1 rises, pass@k_max falls or stays? "
                                  "(95% CIs)")
for path in snakemake.output.figure:
    save_figure(fig, path, p.plots["dpi"])
plt.close(fig)
