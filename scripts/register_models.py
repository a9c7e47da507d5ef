from rlvr_boundary.registry import registry_table
from rlvr_boundary.workflow_io import log_to, write_csv

log_to(snakemake.log[0])
write_csv(registry_table(snakemake.params.rows, snakemake.params.folders), snakemake.output.registry)
