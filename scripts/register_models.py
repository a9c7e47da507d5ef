from rlvr_boundary.models.registry import checkpoint_identity, registry_table
from rlvr_boundary.workflow.job_io import start_job, write_csv

start_job(snakemake.log[0])
identities = [checkpoint_identity(path) for path in snakemake.params.checkpoints]
rows = [{**row, "source": source or row.get("source")}
        for row, (source, _) in zip(snakemake.params.rows, identities)]
write_csv(registry_table(rows, [identity for _, identity in identities]), snakemake.output.registry)
