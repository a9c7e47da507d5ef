import json

from rlvr_boundary.models.registry import registry_table
from rlvr_boundary.workflow.job_io import start_job, write_csv

start_job(snakemake.log[0])
manifests = [json.loads(open(path).read()) for path in snakemake.input.manifests]
rows = [{**row, "source": m["source"]} for row, m in zip(snakemake.params.rows, manifests)]
identities = [f"{m['repo']}@{m['revision']} sha256:{m['digest']}" if m["source"] == "hub"
              else f"{m['path']} sha256:{m['digest']}" for m in manifests]
write_csv(registry_table(rows, identities), snakemake.output.registry)
