import pandas as pd

from rlvr_boundary.sampling.benchmarks import read_normalised
from rlvr_boundary.grading.math_answers import GRADERS, grade_completions
from rlvr_boundary.workflow.job_io import start_job, write_parquet

log = start_job(snakemake.log[0])
problems = read_normalised(snakemake.input.problems)
gold = dict(zip(problems.problem_id, problems.reference_answer))
# One samples file (imported generations) or a benchmark's sampling shards.
paths = [snakemake.input.samples] if isinstance(snakemake.input.samples, str) else snakemake.input.samples
scored = pd.concat([pd.read_parquet(path) for path in paths], ignore_index=True)
for grader in GRADERS:
    scored = grade_completions(scored, gold, grader, snakemake.threads,
                               snakemake.params.grading["timeout_s"])
    log.info("%s: %s", grader, scored[f"grade_status_{grader}"].value_counts().to_dict())
write_parquet(scored, snakemake.output.scored)
