import pandas as pd

from rlvr_boundary.analyses.perplexity import perplexity_pairs, perplexity_table
from rlvr_boundary.models.modeling import set_determinism
from rlvr_boundary.workflow.job_io import compute_threads, start_job, write_csv
from rlvr_boundary.workflow.recorded import read_recorded_parquet

log = start_job(snakemake.log[0])
set_determinism(0, compute_threads(snakemake))  # scoring draws nothing; fixes threads only
p, w = snakemake.params, snakemake.wildcards
base, rl, teacher = p.models["base"], p.models["rl"], p.models["teacher"]
responded = [base, *rl, teacher]
# Files come in the order the rule lists them: scorers; responses by model then benchmark.
scorers = dict(zip([base, *rl], snakemake.input.scorers))
responses = iter(snakemake.input.responses)
by_model = {m: {b: next(responses) for b in p.benchmarks} for m in responded}
pairs = perplexity_pairs(base, rl, [teacher])
# No param where it changes no score (analyses.perplexity.batch_size_param): from the config.
batch_size = p.batch_size or snakemake.config["studies"]["perplexity"]["batch_size"]
tables = []
for benchmark, problems_path in zip(p.benchmarks, snakemake.input.benchmarks):
    log.info("%s: scoring %d response sets with %d models", benchmark, len(responded), len(scorers))
    table = perplexity_table(scorers, {m: pd.read_parquet(by_model[m][benchmark]) for m in responded},
                             pairs, read_recorded_parquet(problems_path), p.study["samples_per_problem"],
                             batch_size, p.device)
    tables.append(table.assign(family=w.family, benchmark=benchmark))
write_csv(pd.concat(tables, ignore_index=True), snakemake.output.table)
