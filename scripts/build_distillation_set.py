from rlvr_boundary.training.distill import build_distillation_set
from rlvr_boundary.models.modeling import load_checkpoint, set_determinism
from rlvr_boundary.workflow.job_io import compute_threads, start_job, write_parquet
from rlvr_boundary.workflow.recorded import read_recorded_parquet

start_job(snakemake.log[0])
p = snakemake.params
# Before the teacher loads: an edited file stops the job at once, naming the file.
train = read_recorded_parquet(snakemake.input.train)
set_determinism(p.seed, compute_threads(snakemake))
teacher, tokenizer = load_checkpoint(snakemake.input.teacher, p.device)
prompts = train[train.depth.isin(p.distill["depths"])].head(p.distill["prompts"])
traces = build_distillation_set(teacher, tokenizer, prompts, p.distill["samples_per_prompt"],
                                p.distill["temperature"], p.max_new_tokens, p.seed)
write_parquet(traces, snakemake.output.traces)
