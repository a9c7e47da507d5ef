import json

from rlvr_boundary.training.rl_job import run_rule
from rlvr_boundary.workflow.job_environment import record_job
from rlvr_boundary.workflow.job_io import start_job

start_job(snakemake.log[0])
base = json.loads(open(snakemake.input.base).read())["path"]
# make_rl_prompts writes no sha256 record: only the tiny world's RL prompts have one.
run_rule(snakemake, base, checkpoint_steps=snakemake.params.checkpoint_steps,
         prompts_recorded=False)
record_job(snakemake, {"rl": snakemake.params.seed}, snakemake.params.rl)
