from rlvr_boundary.analyses.real_counts import (
    ORDER_UNCHECKED,
    load_real_counts,
    math500_problem_ids,
    problem_file_checks,
)
from rlvr_boundary.workflow.job_io import start_job, write_parquet

log = start_job(snakemake.log[0])
real = snakemake.params.real
# The problem file maps each count's problem_index to a problem id by line: its sha256 is
# checked before it is parsed (it is the benchmark's pinned file), or its ids are checked
# against that pinned file line by line; with no pin at all the order cannot be checked.
checks = problem_file_checks(real)
if not checks:
    log.warning(ORDER_UNCHECKED.format(path=snakemake.input.problems, benchmark=real["benchmark"]))
problem_ids = math500_problem_ids(snakemake.input.problems, real["problem_count"], **checks)
counts = load_real_counts(snakemake.input.counts, problem_ids, real["benchmark"], real["temperature"],
                          real["metric"], real["samples_per_problem"])
log.info("imported %d rows; correct samples per model: %s", len(counts),
         counts.groupby("model").c.sum().to_dict())
write_parquet(counts, snakemake.output.counts)
