from rlvr_boundary.registry import registry_table
from rlvr_boundary.workflow_io import log_to, sha256_tree, write_csv

log_to(snakemake.log[0])
digests = [sha256_tree(folder) for folder in snakemake.params.folders]
write_csv(registry_table(snakemake.params.rows, digests), snakemake.output.registry)
