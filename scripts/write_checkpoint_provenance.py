from pathlib import Path

import pandas as pd

from rlvr_boundary.workflow.job_environment import checkpoint_provenance, read_records
from rlvr_boundary.workflow.job_io import start_job, write_json

start_job(snakemake.log[0])
registry = pd.read_csv(snakemake.input.registry, keep_default_na=False)
records = read_records(list(snakemake.input.environments))
write_json(checkpoint_provenance(snakemake.params.config, snakemake.params.seeds,
                                 registry.to_dict("records"), records,
                                 Path(snakemake.scriptdir).parent), snakemake.output.provenance)
