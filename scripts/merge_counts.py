import pandas as pd

from rlvr_boundary.grading.counting import check_counts
from rlvr_boundary.workflow.job_io import start_job, write_csv, write_parquet

start_job(snakemake.log[0])
counts = pd.concat([pd.read_parquet(path) for path in snakemake.input.counts], ignore_index=True)
check_counts(counts)
write_parquet(counts, snakemake.output.counts)
write_csv(pd.concat([pd.read_csv(path) for path in snakemake.input.grading], ignore_index=True),
          snakemake.output.grading)
