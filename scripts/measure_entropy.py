import pandas as pd

from rlvr_boundary.models.modeling import load_checkpoint, set_determinism
from rlvr_boundary.analyses.perplexity import model_entropy_rows
from rlvr_boundary.workflow.job_io import compute_threads, start_job, write_csv
from rlvr_boundary.workflow.recorded import read_recorded_parquet

start_job(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
study = p.study
set_determinism(0, compute_threads(snakemake))  # scoring draws nothing; fixes threads only
models = [m for m in study["models"] if m.startswith(f"{w.family}-")]
problems = {b: read_recorded_parquet(path) for b, path in zip(study["benchmarks"], snakemake.input.benchmarks)}
samples = (pd.read_parquet(path) for path in snakemake.input.samples)
rows = []
for model, folder in zip(models, snakemake.input.models):
    loaded, tokenizer = load_checkpoint(folder, p.device)
    rows += model_entropy_rows(model, loaded, tokenizer, study["benchmarks"], study["temperatures"],
                               problems, samples, p.top_p, p.samples_per_problem)
write_csv(pd.DataFrame(rows), snakemake.output.table)
