import pandas as pd

from rlvr_boundary.grading.counting import count_correct
from rlvr_boundary.grading.math_answers import GRADERS, grader_comparison
from rlvr_boundary.sampling.imported import original_counts
from rlvr_boundary.workflow.job_io import start_job, write_csv, write_parquet

start_job(snakemake.log[0])
entry, w = snakemake.params.entry, snakemake.wildcards
scored = pd.read_parquet(snakemake.input.scored)
temperature = entry.get("temperature", 0.6)
counts = pd.concat([count_correct(scored, w.model, w.benchmark, temperature, list(GRADERS)),
                    original_counts(scored, w.model, w.benchmark, temperature)], ignore_index=True)
write_parquet(counts, snakemake.output.counts)
scored["grade_status_paper_grader"] = scored.score_original.map({True: "correct", False: "wrong"})
comparison = pd.concat([grader_comparison(scored, "math_verify", other)
                        for other in ("lenient", "paper_grader")], ignore_index=True)
write_csv(comparison, snakemake.output.comparison)
