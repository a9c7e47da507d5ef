import os

import pandas as pd

from rlvr_boundary.modeling import load_checkpoint, save_checkpoint
from rlvr_boundary.rl import train_rl
from rlvr_boundary.workflow_io import log_to, write_csv

log = log_to(snakemake.log[0])
p = snakemake.params
settings = p.rl
if settings["steps"] == 0:
    # Null control: the "RL model" is an untrained copy of its base.
    log.info("rl steps = 0: saving an untrained copy of the base")
    model, tokenizer = load_checkpoint(snakemake.input.base)
    history = pd.DataFrame(columns=["step", "reward"])
    os.makedirs(snakemake.output.checkpoints, exist_ok=True)
else:
    prompts = pd.read_parquet(snakemake.input.prompts).prompt.head(settings["prompts"]).tolist()
    model, tokenizer, history = train_rl(snakemake.input.base, prompts, settings, p.seed,
                                         snakemake.threads, snakemake.output.checkpoints,
                                         p.checkpoint_steps, p.device)
write_csv(history, snakemake.output.history)
save_checkpoint(model, tokenizer, snakemake.output.model)
