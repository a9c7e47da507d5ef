from rlvr_boundary.models.registry import registry_table
from rlvr_boundary.workflow.job_io import sha256_tree, start_job, write_csv

start_job(snakemake.log[0])
digests = [sha256_tree(folder) for folder in snakemake.params.folders]
write_csv(registry_table(snakemake.params.rows, digests), snakemake.output.registry)
