from rlvr_boundary.sampling.benchmarks import load_benchmark, write_normalised
from rlvr_boundary.workflow.job_io import start_job

log = start_job(snakemake.log[0])
table, manifest = load_benchmark(snakemake.wildcards.benchmark, snakemake.params.spec)
manifest = write_normalised(table, manifest, snakemake.output.problems, snakemake.output.manifest)
log.info("%s", manifest)
