import pandas as pd

from rlvr_boundary.grading.counting import count_correct
from rlvr_boundary.grading.math_answers import GRADERS, grading_summary
from rlvr_boundary.workflow.job_io import start_job, write_csv, write_parquet

log = start_job(snakemake.log[0])
w = snakemake.wildcards
scored = pd.read_parquet(snakemake.input.scored)
write_parquet(count_correct(scored, w.model, w.benchmark, float(w.temperature), list(GRADERS)),
              snakemake.output.counts)
summary = grading_summary(scored, w.model, w.benchmark, float(w.temperature))
log.info("%s", summary.to_dict("records"))
write_csv(summary, snakemake.output.grading)
