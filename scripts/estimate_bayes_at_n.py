import pandas as pd

from rlvr_boundary.stats.bayes import bayes_table
from rlvr_boundary.workflow.job_io import start_job, write_csv

start_job(snakemake.log[0])
table = bayes_table(pd.read_parquet(snakemake.input.counts), snakemake.params.ci_level,
                    pd.read_csv(snakemake.input.passk))
write_csv(table, snakemake.output.table)
