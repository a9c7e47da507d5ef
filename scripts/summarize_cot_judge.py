"""The C5 judge's labels per benchmark and its agreement with people's annotations (raw
agreement and Cohen's kappa on the samples both labelled)."""

import pandas as pd

from rlvr_boundary.analyses.cot_annotation import read_annotations
from rlvr_boundary.analyses.cot_judge import judge_summary, read_judged
from rlvr_boundary.workflow.job_io import start_job, write_csv

log = start_job(snakemake.log[0])


def paths(files):
    return [files] if isinstance(files, str) else list(files)


judged = pd.concat([read_judged(path) for path in paths(snakemake.input.judged)],
                   ignore_index=True)
people = [read_annotations(path) for path in paths(snakemake.input.annotations)]
summary = judge_summary(judged, pd.concat(people, ignore_index=True) if people else None)
write_csv(summary, snakemake.output.table)
log.info("judge summary:\n%s", summary.to_string())
