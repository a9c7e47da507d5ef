import json

from rlvr_boundary.sampling.benchmarks import read_normalised
from rlvr_boundary.sampling.checkpoints import sample_problems, shard_problems
from rlvr_boundary.workflow.job_io import start_job, write_parquet

log = start_job(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
problems = read_normalised(snakemake.input.problems)
if p.limit:
    problems = problems.head(p.limit)
problems = shard_problems(problems, p.sampling["shards"], int(w.shard))
model_path = json.loads(open(snakemake.input.manifest).read())["path"]
log.info("%s (%s) on %s shard %s", w.model, model_path, w.benchmark, w.shard)
samples = sample_problems(model_path, problems, p.template, p.n, float(w.temperature), p.sampling,
                          p.seed, p.device, snakemake.resources.gpu)
write_parquet(samples, snakemake.output.samples)
