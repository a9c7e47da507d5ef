import pandas as pd

from rlvr_boundary.analyses.real_counts import real_report_markdown, real_summary
from rlvr_boundary.workflow.job_io import start_job, write_json, write_text

start_job(snakemake.log[0])
summary = real_summary(pd.read_parquet(snakemake.input.counts), pd.read_csv(snakemake.input.passk),
                       pd.read_csv(snakemake.input.coverage, keep_default_na=False),
                       pd.read_csv(snakemake.input.histogram, dtype={"bin": str}),
                       snakemake.params.real, snakemake.params.seed)
write_json(summary, snakemake.output.summary)
write_text(real_report_markdown(summary), snakemake.output.markdown)
