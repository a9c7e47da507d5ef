from rlvr_boundary.training.rl_job import run_rule
from rlvr_boundary.workflow.job_io import start_job

start_job(snakemake.log[0])
run_rule(snakemake, snakemake.input.base, snakemake.params.checkpoint_steps,
         prompts_recorded=True)
