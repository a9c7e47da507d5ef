"""C5 from filled annotation files: the share of RL-solved problems where the base has a
fully valid chain of thought, in the cot_validity table's format."""

import pandas as pd

from rlvr_boundary.analyses.cot_annotation import c5_from_annotations, read_annotations
from rlvr_boundary.workflow.job_io import start_job, write_csv

log = start_job(snakemake.log[0])
paths = [snakemake.input.annotations] if isinstance(snakemake.input.annotations, str) \
    else list(snakemake.input.annotations)
# Each file is checked on its own (errors name its lines); c5_from_annotations then
# refuses rows duplicated across files.
annotations = pd.concat([read_annotations(path) for path in paths], ignore_index=True)
registry = pd.read_csv(snakemake.input.registry, keep_default_na=False)
table = c5_from_annotations(annotations, registry, float(snakemake.params.level))
write_csv(table, snakemake.output.table)
log.info("C5 from %d annotation rows:\n%s", len(annotations), table.to_string())
