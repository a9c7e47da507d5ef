import pandas as pd

from rlvr_boundary.stats.passk_table import passk_table
from rlvr_boundary.workflow.job_io import start_job, write_csv

start_job(snakemake.log[0])
a = snakemake.params.analysis
table = passk_table(pd.read_parquet(snakemake.input.counts), a["ks"], a["bootstrap_resamples"],
                    snakemake.params.seed, a["ci_level"])
write_csv(table, snakemake.output.passk)
