from rlvr_boundary.sampling.job import sample_job
from rlvr_boundary.workflow.job_io import start_job, write_parquet

log = start_job(snakemake.log[0])
w, job = snakemake.wildcards, snakemake.params.job
# Where rows generated together change speed only (a CPU in float32), sampling.batch_size is
# no param, so that changing it reruns nothing (the plan's sampling_job): it comes from here.
settings = snakemake.config["sampling"]
if "batch_size" in settings:
    job = {**job, "sampling": {"batch_size": settings["batch_size"], **job["sampling"]}}
log.info("%s at T=%s, shard %s of %d: %s", w.model, w.temperature, w.shard,
         job["sampling"]["shards"], ", ".join(job["benchmarks"]))
samples = sample_job(snakemake.input.model, list(snakemake.input.benchmarks), job, int(w.shard),
                     float(w.temperature), snakemake.threads, snakemake.resources.gpu)
write_parquet(samples, snakemake.output.samples)
