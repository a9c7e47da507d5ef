import matplotlib.pyplot as plt
import pandas as pd

from rlvr_boundary.report.plots import save_figure
from rlvr_boundary.analyses.temperature_study import plot_temperature_curves, temperature_table
from rlvr_boundary.workflow.job_io import start_job, write_csv

start_job(snakemake.log[0])
p = snakemake.params
a, study = p.analysis, p.study
entropy = pd.concat([pd.read_csv(path) for path in snakemake.input.entropy], ignore_index=True)
table = temperature_table(pd.read_parquet(snakemake.input.counts), entropy, study["base_of"],
                          study["temperatures"], float(a["claim_temperature"]), a["claim_metric"],
                          a["bootstrap_resamples"], p.seed, a["ci_level"])
write_csv(table, snakemake.output.table)
passk = pd.read_csv(snakemake.input.passk)
passk = passk[passk.metric == a["claim_metric"]]
labels = {b: p.benchmarks[b].get("analog", "") for b in study["benchmarks"]}
for family in p.families:
    models = [m for m in study["models"] if p.family_of[m] == family]
    fig = plot_temperature_curves(passk, models, study["temperatures"], a["claim_metric"], labels,
                                  f"family {family}: pass@k at temperatures "
                                  f"{', '.join(f'{t:g}' for t in study['temperatures'])}")
    for path in snakemake.output.figures:
        if f"passk_temperatures_{family}." in path:
            save_figure(fig, path, p.plots["dpi"])
    plt.close(fig)
