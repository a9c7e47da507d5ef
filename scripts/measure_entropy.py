import pandas as pd

from rlvr_boundary.models.modeling import load_checkpoint, set_determinism
from rlvr_boundary.analyses.perplexity import samples_entropy
from rlvr_boundary.workflow.job_io import start_job, write_csv

log = start_job(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
study = p.study
set_determinism(0, snakemake.threads)  # scoring draws nothing; fixes threads only
models = [m for m in study["models"] if m.startswith(f"{w.family}-")]
problems = {b: pd.read_parquet(path) for b, path in zip(study["benchmarks"], snakemake.input.benchmarks)}
samples = iter(snakemake.input.samples)
rows = []
for model, folder in zip(models, snakemake.input.models):
    loaded, tokenizer = load_checkpoint(folder, p.device)
    for benchmark in study["benchmarks"]:
        for temperature in study["temperatures"]:
            result = samples_entropy(loaded, tokenizer, pd.read_parquet(next(samples)),
                                     problems[benchmark], temperature, p.top_p,
                                     p.samples_per_problem)
            rows.append({"model": model, "benchmark": benchmark, "temperature": temperature,
                         **result})
            log.info("%s %s T=%g: mean entropy %.4f", model, benchmark, temperature,
                     result["mean_entropy"])
write_csv(pd.DataFrame(rows), snakemake.output.table)
