import os

import pandas as pd

from rlvr_boundary.sampling.tiny_world import sample_benchmarks
from rlvr_boundary.models.modeling import load_checkpoint, set_determinism
from rlvr_boundary.workflow.job_io import start_job, write_parquet

log = start_job(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
# Threads and the global streams; each benchmark's draws come from its own seed (p.seeds).
set_determinism(p.seeds[p.benchmarks[0]], snakemake.threads)
benchmarks = {name: pd.read_parquet(path) for name, path in zip(p.benchmarks, snakemake.input.benchmarks)}
# An intermediate checkpoint lives in a subfolder of its run's checkpoint folder.
model, tokenizer = load_checkpoint(os.path.join(snakemake.input.model, p.subfolder), p.device)
log.info("%s at T=%s, shard %s of %d: %s", w.model, w.temperature, w.shard, p.sampling["shards"],
         ", ".join(benchmarks))
samples = sample_benchmarks(model, tokenizer, benchmarks, p.seeds, int(w.shard), p.sampling["shards"],
                            p.sampling["n"], float(w.temperature), p.sampling["top_p"],
                            p.sampling["max_new_tokens"], p.sampling["batch_size"])
write_parquet(samples, snakemake.output.samples)
