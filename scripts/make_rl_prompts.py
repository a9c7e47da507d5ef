from rlvr_boundary.sampling.benchmarks import apply_template, read_normalised
from rlvr_boundary.workflow.job_io import start_job, write_parquet

log = start_job(snakemake.log[0])
problems = read_normalised(snakemake.input.problems)
table = problems.assign(prompt=[apply_template(snakemake.params.template, q)
                                for q in problems.question])[["problem_id", "prompt",
                                                              "reference_answer"]]
log.info("%d RL prompts", len(table))
write_parquet(table, snakemake.output.prompts)
