import json
import os

from rlvr_boundary.rl_job import run
from rlvr_boundary.workflow_io import start_job

start_job(snakemake.log[0])
p, out = snakemake.params, snakemake.output
base = json.loads(open(snakemake.input.base).read())["path"]
os.makedirs(out.checkpoints, exist_ok=True)  # no intermediate checkpoints at paper scale yet
job = dict(base=base, prompts=snakemake.input.prompts, settings=p.rl, seed=p.seed,
           threads=snakemake.threads, checkpoints=out.checkpoints,
           checkpoint_steps=[], device=p.device, model=out.model, history=out.history)
run(job, f"{out.history}.job.json")
