import pandas as pd

from rlvr_boundary.analyses.power import power_table
from rlvr_boundary.workflow.job_io import start_job, write_csv

start_job(snakemake.log[0])
a = snakemake.params.analysis
table = power_table(pd.read_parquet(snakemake.input.counts),
                    pd.read_csv(snakemake.input.registry, keep_default_na=False),
                    a["claim_metric"], a["claim_temperature"], a["ci_level"],
                    snakemake.params.targets)
write_csv(table, snakemake.output.table)
