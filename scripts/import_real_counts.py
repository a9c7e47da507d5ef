from rlvr_boundary.analyses.real_counts import load_real_counts, math500_problem_ids
from rlvr_boundary.workflow.job_io import start_job, write_parquet

log = start_job(snakemake.log[0])
real = snakemake.params.real
problem_ids = math500_problem_ids(snakemake.input.problems, real["problem_count"])
counts = load_real_counts(snakemake.input.counts, problem_ids, real["benchmark"], real["temperature"],
                          real["metric"], real["samples_per_problem"])
log.info("imported %d rows; correct samples per model: %s", len(counts),
         counts.groupby("model").c.sum().to_dict())
write_parquet(counts, snakemake.output.counts)
