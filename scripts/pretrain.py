import json

import pandas as pd

from rlvr_boundary.modeling import save_checkpoint
from rlvr_boundary.pretrain import pretrain
from rlvr_boundary.task import World
from rlvr_boundary.workflow_io import log_to, write_csv

log_to(snakemake.log[0])
p = snakemake.params
world = World.from_dict(json.loads(open(snakemake.input.world).read())) if p.noisy else None
model, tokenizer, history = pretrain(pd.read_parquet(snakemake.input.train), p.spec["architecture"],
                                     p.spec["pretrain"], world, p.max_positions, p.seed,
                                     snakemake.threads, p.device)
write_csv(history, snakemake.output.history)
save_checkpoint(model, tokenizer, snakemake.output.model)
