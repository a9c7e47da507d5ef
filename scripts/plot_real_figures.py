import json

import matplotlib.pyplot as plt
import pandas as pd

from rlvr_boundary.report.plots import save_figure
from rlvr_boundary.analyses.real_counts import plot_real_histogram, plot_real_passk
from rlvr_boundary.workflow.job_io import start_job

start_job(snakemake.log[0])
summary = json.loads(open(snakemake.input.summary).read())
figures = {"passk_curves": plot_real_passk(pd.read_csv(snakemake.input.passk), summary),
           "accuracy_histogram": plot_real_histogram(
               pd.read_csv(snakemake.input.histogram, dtype={"bin": str}), summary)}
for path in snakemake.output.figures:
    name = path.rsplit("/", 1)[-1].rsplit("_math500", 1)[0]
    save_figure(figures[name], path, snakemake.params.dpi)
for fig in figures.values():
    plt.close(fig)
