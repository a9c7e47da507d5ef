import json

from rlvr_boundary.models.modeling import save_checkpoint
from rlvr_boundary.training.pretrain import pretrain
from rlvr_boundary.world.task import World
from rlvr_boundary.workflow.job_io import compute_threads, start_job, write_csv
from rlvr_boundary.workflow.recorded import read_recorded_parquet

start_job(snakemake.log[0])
p = snakemake.params
world = World.from_dict(json.loads(open(snakemake.input.world).read())) if p.noisy else None
if world is not None and "corpus" in p.spec:
    # A corpus-rarity variant: same world, its rare facts more (or less) often right.
    world = world.with_rare_wrong_rates(*p.spec["corpus"]["rare_wrong_rate"])
# Checked against make_task_data's sha256 record: an edited corpus stops the job.
train = read_recorded_parquet(snakemake.input.train)
model, tokenizer, history = pretrain(train, p.spec["architecture"], p.spec["pretrain"], world,
                                     p.max_positions, p.seed, compute_threads(snakemake), p.device)
write_csv(history, snakemake.output.history)
save_checkpoint(model, tokenizer, snakemake.output.model)
