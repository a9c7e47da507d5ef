import os

import numpy as np
import pandas as pd

from rlvr_boundary.modeling import load_checkpoint, set_determinism
from rlvr_boundary.sampling import sample_completions
from rlvr_boundary.workflow_io import start_job, write_parquet

log = start_job(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
set_determinism(p.seed, snakemake.threads)
benchmark = pd.read_parquet(snakemake.input.benchmark)
# Shard s of S takes a contiguous range of problems.
shard = np.array_split(np.arange(len(benchmark)), p.sampling["shards"])[int(w.shard)]
problems = benchmark.iloc[shard]
# An intermediate checkpoint lives in a subfolder of its run's checkpoint folder.
model, tokenizer = load_checkpoint(os.path.join(snakemake.input.model, p.subfolder), p.device)
log.info("%s on %s shard %s: %d problems x n=%d at T=%s", w.model, w.benchmark, w.shard,
         len(problems), p.sampling["n"], w.temperature)
samples = sample_completions(model, tokenizer, problems.prompt.tolist(), p.sampling["n"],
                             float(w.temperature), p.sampling["top_p"],
                             p.sampling["max_new_tokens"], p.seed, p.sampling["batch_size"])
samples.insert(0, "problem_id", problems.problem_id.to_numpy()[samples.pop("prompt_index")])
write_parquet(samples, snakemake.output.samples)
