import re

import pandas as pd
import pyarrow.parquet as pq

from rlvr_boundary.grading.counting import (
    check_counts,
    count_correct,
    grading_summary,
    stop_reason_counts,
)
from rlvr_boundary.workflow.job_io import start_job, write_csv, write_parquet

start_job(snakemake.log[0])
PATH = re.compile(r"results/scored/(?P<model>[^/]+)/(?P<benchmark>[^/]+)/T(?P<temperature>[0-9.]+)\.parquet$")
metrics = snakemake.params.metrics
# Only the columns counted: a checkpoint study's scored tables hold long completions.
# stop_reason: which stop ended each sample, where the sampler records it (checkpoints).
wanted = ["problem_id", "finish_reason", "stop_reason"] + [f"grade_status_{m}" for m in metrics]
counts, summaries, stops = [], [], []
for path in snakemake.input.scored:
    key = PATH.search(path).groupdict()
    key["temperature"] = float(key["temperature"])
    names = set(pq.read_schema(path).names)
    scored = pd.read_parquet(path, columns=[c for c in wanted if c in names])
    counts.append(count_correct(scored, **key, metrics=metrics))
    summaries.append(grading_summary(scored, **key, metrics=metrics))
    stops.append(stop_reason_counts(scored.assign(**key)))
counts = pd.concat(counts, ignore_index=True)
check_counts(counts)
write_parquet(counts, snakemake.output.counts)
write_csv(pd.concat(summaries, ignore_index=True), snakemake.output.grading)
write_csv(pd.concat(stops, ignore_index=True), snakemake.output.stops)
