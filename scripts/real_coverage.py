import pandas as pd

from rlvr_boundary.analyses.real_counts import REAL_MODELS, accuracy_histogram, coverage_sets
from rlvr_boundary.workflow.job_io import start_job, write_csv

start_job(snakemake.log[0])
counts = pd.read_parquet(snakemake.input.counts)
write_csv(coverage_sets(counts, REAL_MODELS["base"]["model"], REAL_MODELS["simplerl"]["model"]),
          snakemake.output.coverage)
write_csv(accuracy_histogram(counts), snakemake.output.histogram)
