import pandas as pd

from rlvr_boundary.report import claim_rows, render_markdown
from rlvr_boundary.workflow_io import log_to, write_json, write_text

log_to(snakemake.log[0])
p = snakemake.params
settings = {"metric": p.analysis["claim_metric"], "temperature": p.analysis["claim_temperature"],
            "n_resamples": p.analysis["bootstrap_resamples"], "seed": p.seed,
            "ci_level": p.analysis["ci_level"]}
rows = claim_rows(pd.read_parquet(snakemake.input.counts),
                  pd.read_csv(snakemake.input.registry, keep_default_na=False), settings)
labels = {name: spec.get("analog", "") for name, spec in p.benchmarks.items()}
write_json(rows, snakemake.output.json)
write_text(render_markdown(rows, settings, labels, p.regimes), snakemake.output.markdown)
