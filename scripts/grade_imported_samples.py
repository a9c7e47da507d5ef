import pandas as pd

from rlvr_boundary.grading.counting import grade_benchmark
from rlvr_boundary.workflow.job_io import start_job, write_parquet

log = start_job(snakemake.log[0])
scored = grade_benchmark(pd.read_parquet(snakemake.input.samples), snakemake.input.problems,
                         {"kind": "math", **snakemake.params.grading}, snakemake.threads)
for column in [c for c in scored.columns if c.startswith("grade_status_")]:
    log.info("%s: %s", column, scored[column].value_counts().to_dict())
write_parquet(scored, snakemake.output.scored)
