import json

from rlvr_boundary.training.rl_job import run_rule
from rlvr_boundary.workflow.job_environment import record_job
from rlvr_boundary.workflow.job_io import start_job

start_job(snakemake.log[0])
base = json.loads(open(snakemake.input.base).read())["path"]
run_rule(snakemake, base, checkpoint_steps=snakemake.params.checkpoint_steps)
record_job(snakemake, {"rl": snakemake.params.seed}, snakemake.params.rl)
