from rlvr_boundary.workflow.load_failures import sampling_memo

w = snakemake.wildcards
# First, before the slow imports: a job whose model already failed to load the same way
# stops here, naming that failure (rlvr_boundary.workflow.load_failures).
failures = sampling_memo(w.model, snakemake.input.model, snakemake.params.job,
                         snakemake.resources.gpu, snakemake.log[0],
                         f"sample_model {w.model}/{w.group}/T{w.temperature}/shard{w.shard}_block{w.block}")
failures.refuse_if_recorded()

from rlvr_boundary.sampling.job import sample_job  # noqa: E402
from rlvr_boundary.workflow.job_io import compute_threads, start_job, write_parquet  # noqa: E402
from rlvr_boundary.workflow.job_environment import record_job  # noqa: E402

log = start_job(snakemake.log[0])
job = snakemake.params.job
# Where rows generated together change speed only (a CPU in float32), sampling.batch_size is
# no param, so that changing it reruns nothing (the plan's sampling_job): it comes from here.
settings = snakemake.config["sampling"]
if "batch_size" in settings:
    job = {**job, "sampling": {"batch_size": settings["batch_size"], **job["sampling"]}}
log.info("%s at T=%s, shard %s of %d, samples %d-%d (block %s): %s", w.model, w.temperature,
         w.shard, job["sampling"]["shards"], job["block"]["start"],
         job["block"]["start"] + job["block"]["samples"] - 1, w.block, ", ".join(job["benchmarks"]))
with failures.watching():
    samples = sample_job(snakemake.input.model, list(snakemake.input.benchmarks), job,
                         int(w.shard), float(w.temperature), compute_threads(snakemake),
                         snakemake.resources.gpu)
write_parquet(samples, snakemake.output.samples)
# Where it ran (checkpoint studies: rules/checkpoint_provenance.smk merges every job's record).
record_job(snakemake, {name: spec["seed"] for name, spec in job["benchmarks"].items()},
           {**job["sampling"], "device": job["device"], "gpus": snakemake.resources.gpu})
