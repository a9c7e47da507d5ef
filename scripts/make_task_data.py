from pathlib import Path

import numpy as np

from rlvr_boundary.world.data import make_splits
from rlvr_boundary.stats.seeds import derive_seed
from rlvr_boundary.world.task import World
from rlvr_boundary.workflow.job_io import start_job, write_json
from rlvr_boundary.workflow.recorded import record_path, write_recorded_parquet

log = start_job(snakemake.log[0])
p = snakemake.params
world = World.generate(np.random.default_rng(derive_seed(p.seed, "world")),
                       p.world["rare_fact_share"], tuple(p.world["rare_wrong_rate"]),
                       p.world["step_error_rate"])
splits = make_splits(p.seed, p.benchmarks, p.data["rl_prompts"], p.data["train"])
write_json(world.to_dict(), snakemake.output.world)
# Each table's sha256 beside it: the training, sampling and grading jobs that read one check
# it first (the record paths are the rule's outputs, so they must be where the reader looks).
tables = [("train", snakemake.output.train, snakemake.output.train_record),
          ("rl_prompts", snakemake.output.rl_prompts, snakemake.output.rl_prompts_record),
          *zip([f"benchmark_{name}" for name in sorted(p.benchmarks)], snakemake.output.benchmarks,
               snakemake.output.benchmark_records, strict=True)]
for split, path, record in tables:
    assert record_path(path) == Path(record), (path, record)
    write_recorded_parquet(splits[split], path)
log.info("splits: %s", {name: len(frame) for name, frame in splits.items()})
