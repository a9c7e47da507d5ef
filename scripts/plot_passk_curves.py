import matplotlib.pyplot as plt
import pandas as pd

from rlvr_boundary.report.plots import plot_passk_curves, save_figure
from rlvr_boundary.workflow.job_io import start_job

start_job(snakemake.log[0])
p = snakemake.params
passk = pd.read_csv(snakemake.input.passk)
registry = pd.read_csv(snakemake.input.registry, keep_default_na=False)
labels = {name: spec.get("analog", "") for name, spec in p.benchmarks.items()}
for family in p.families:
    fig = plot_passk_curves(passk, registry, family, p.metric, p.temperature, labels)
    for path in snakemake.output.figures:
        if f"passk_curves_{family}." in path:
            save_figure(fig, path, p.plots["dpi"])
    plt.close(fig)
