from pathlib import Path

import pandas as pd

from rlvr_boundary.workflow.provenance import provenance
from rlvr_boundary.workflow.job_io import start_job, write_json

start_job(snakemake.log[0])
registry = pd.read_csv(snakemake.input.registry, keep_default_na=False)
files = [snakemake.input.registry, *snakemake.input.tables, *snakemake.input.data]
write_json(provenance(snakemake.params.config, snakemake.params.seeds, registry.to_dict("records"),
                      files, Path(snakemake.scriptdir).parent), snakemake.output.provenance)
