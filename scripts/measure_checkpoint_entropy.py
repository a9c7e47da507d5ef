"""Token entropy of each checkpoint of one family at each temperature of the study, on its
own samples (rules/checkpoints.smk, measure_checkpoint_entropy)."""

import json

import pandas as pd

from rlvr_boundary.analyses.perplexity import model_entropy_rows
from rlvr_boundary.models.modeling import load_checkpoint, set_determinism
from rlvr_boundary.sampling.benchmarks import apply_template, read_normalised
from rlvr_boundary.workflow.job_io import compute_threads, start_job, write_csv

start_job(snakemake.log[0])
p = snakemake.params
study = p.study
set_determinism(0, compute_threads(snakemake))  # scoring draws nothing; fixes threads only
questions = {b: read_normalised(path) for b, path in zip(study["benchmarks"], snakemake.input.problems)}
samples = (pd.read_parquet(path) for path in snakemake.input.samples)
# No param where it changes no score (analyses.perplexity.batch_size_param): from the config.
batch_size = p.batch_size or snakemake.config["studies"]["temperatures"].get("batch_size", 4)
rows = []
for model, manifest in zip(p.models, snakemake.input.models):
    folder = json.loads(open(manifest).read())["path"]
    loaded, tokenizer = load_checkpoint(folder, p.device, p.dtype)
    # Each model is measured on the prompts it answered (its own template).
    problems = {b: questions[b].assign(prompt=[apply_template(p.templates[model][b], q)
                                               for q in questions[b].question])
                for b in study["benchmarks"]}
    rows += model_entropy_rows(model, loaded, tokenizer, study["benchmarks"], study["temperatures"],
                               problems, samples, p.top_p, p.samples_per_problem, batch_size)
    del loaded
write_csv(pd.DataFrame(rows), snakemake.output.table)
