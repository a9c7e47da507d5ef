"""Token entropy of each checkpoint of one family at each temperature of the study, on its
own samples (rules/checkpoints.smk, measure_checkpoint_entropy)."""

import json

import pandas as pd

from rlvr_boundary.analyses.perplexity import samples_entropy
from rlvr_boundary.models.modeling import load_checkpoint, set_determinism
from rlvr_boundary.sampling.benchmarks import apply_template, read_normalised
from rlvr_boundary.workflow.job_io import start_job, write_csv

log = start_job(snakemake.log[0])
p = snakemake.params
study = p.study
set_determinism(0, snakemake.threads)  # scoring draws nothing; fixes threads only
questions = {b: read_normalised(path) for b, path in zip(study["benchmarks"], snakemake.input.problems)}
samples = iter(snakemake.input.samples)
rows = []
for model, manifest in zip(p.models, snakemake.input.models):
    folder = json.loads(open(manifest).read())["path"]
    loaded, tokenizer = load_checkpoint(folder, p.device, p.dtype)
    for benchmark in study["benchmarks"]:
        template = p.templates[model][benchmark]
        problems = questions[benchmark].assign(
            prompt=[apply_template(template, q) for q in questions[benchmark].question])
        for temperature in study["temperatures"]:
            result = samples_entropy(loaded, tokenizer, pd.read_parquet(next(samples)), problems,
                                     temperature, p.top_p, p.samples_per_problem, p.batch_size)
            rows.append({"model": model, "benchmark": benchmark, "temperature": temperature,
                         **result})
            log.info("%s %s T=%g: mean entropy %.4f", model, benchmark, temperature,
                     result["mean_entropy"])
    del loaded
write_csv(pd.DataFrame(rows), snakemake.output.table)
