import pandas as pd

from rlvr_boundary.grading.counting import benchmark_samples, grade_benchmark
from rlvr_boundary.workflow.job_io import start_job, write_parquet

log = start_job(snakemake.log[0])
# A sampling job's file may hold several benchmarks of its model at this temperature.
samples = pd.concat([benchmark_samples(pd.read_parquet(path), snakemake.wildcards.benchmark)
                     for path in snakemake.input.shards], ignore_index=True)
scored = grade_benchmark(samples, snakemake.input.benchmark, snakemake.params.grader,
                         snakemake.threads)
for column in [c for c in scored.columns if c.startswith("grade_status_")]:
    log.info("%s: %s", column, scored[column].value_counts().to_dict())
write_parquet(scored, snakemake.output.scored)
