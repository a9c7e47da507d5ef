from rlvr_boundary.sampling.benchmarks import load_benchmark, write_normalised
from rlvr_boundary.workflow.job_io import start_job

log = start_job(snakemake.log[0])
# The file as the rule found it (a catalog file from another working directory, too).
raw = snakemake.input.raw[0] if snakemake.input.raw else None
table, manifest = load_benchmark(snakemake.wildcards.benchmark, snakemake.params.spec, file=raw)
manifest = write_normalised(table, manifest, snakemake.output.problems, snakemake.output.manifest)
log.info("%s", manifest)
