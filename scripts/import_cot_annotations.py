"""C5 from filled annotation files: the share of RL-solved problems where the base has a
fully valid chain of thought, in the cot_validity table's format. With C5's judge, its labels
stand in where people labelled nothing (rows marked mode `judged`)."""

import pandas as pd

from rlvr_boundary.analyses.cot_annotation import c5_from_annotations, read_annotations
from rlvr_boundary.analyses.cot_judge import c5_with_judge, read_judged
from rlvr_boundary.workflow.job_io import start_job, write_csv

log = start_job(snakemake.log[0])


def paths(files):
    return [files] if isinstance(files, str) else list(files)


# Each file is checked on its own (errors name its lines); c5_from_annotations then
# refuses rows duplicated across files.
people = [read_annotations(path) for path in paths(snakemake.input.annotations)]
annotations = pd.concat(people, ignore_index=True) if people else None
registry = pd.read_csv(snakemake.input.registry, keep_default_na=False)
level = float(snakemake.params.level)
judged = paths(snakemake.input.judged)
if judged:
    judged = pd.concat([read_judged(path) for path in judged], ignore_index=True)
    table = c5_with_judge(annotations, judged, registry, snakemake.params.judge, level)
else:
    table = c5_from_annotations(annotations, registry, level)
write_csv(table, snakemake.output.table)
log.info("C5 from %d annotation rows%s:\n%s", 0 if annotations is None else len(annotations),
         f" and {len(judged)} judged rows" if len(judged) else "", table.to_string())
