import pandas as pd

from rlvr_boundary.training.distill import sft
from rlvr_boundary.models.modeling import save_checkpoint
from rlvr_boundary.workflow.job_io import compute_threads, start_job, write_csv

start_job(snakemake.log[0])
p = snakemake.params
model, tokenizer, history = sft(snakemake.input.base, pd.read_parquet(snakemake.input.traces),
                                p.distill, p.seed, compute_threads(snakemake), p.device)
write_csv(history, snakemake.output.history)
save_checkpoint(model, tokenizer, snakemake.output.model)
