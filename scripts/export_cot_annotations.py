"""Export the base model's correct samples on RL-solved problems for C5 annotation:
the CSV annotators fill in, and one HTML page per problem to read them on."""

from pathlib import Path

import pandas as pd

from rlvr_boundary.sampling.benchmarks import read_normalised
from rlvr_boundary.analyses.cot_annotation import annotation_pages, export_annotations
from rlvr_boundary.workflow.job_io import start_job, write_csv, write_text

log = start_job(snakemake.log[0])
p, out = snakemake.params, snakemake.output
scored_paths = [snakemake.input.scored] if isinstance(snakemake.input.scored, str) \
    else list(snakemake.input.scored)
if len(scored_paths) != len(p.models):
    raise ValueError(f"{len(scored_paths)} scored files for {len(p.models)} models")
scored_by_model = {model: pd.read_parquet(path) for model, path in zip(p.models, scored_paths)}
counts = pd.read_parquet(snakemake.input.counts)
registry = pd.read_csv(snakemake.input.registry, keep_default_na=False)
problems = read_normalised(snakemake.input.problems)

sheet = export_annotations(counts, registry, scored_by_model, problems, p.benchmark, p.metric,
                           float(p.temperature), int(p.samples_per_problem))
write_csv(sheet, out.csv)
pages = Path(out.pages)
pages.mkdir(parents=True, exist_ok=True)
for name, text in annotation_pages(sheet).items():
    write_text(text, pages / name)
log.info("%s: %d rows on %d problems for %d RL models", p.benchmark, len(sheet),
         sheet["problem_id"].nunique(), sheet["rl_model"].nunique())
