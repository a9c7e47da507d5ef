import json

import pandas as pd

from rlvr_boundary.sampling.benchmarks import apply_template, read_normalised
from rlvr_boundary.analyses.perplexity import perplexity_pairs, perplexity_table
from rlvr_boundary.models.modeling import set_determinism
from rlvr_boundary.workflow.job_io import compute_threads, start_job, write_csv

log = start_job(snakemake.log[0])
set_determinism(0, compute_threads(snakemake))  # scoring draws nothing; fixes threads only
p = snakemake.params
base, rl, others = p.models["base"], list(p.models["rl"]), list(p.models.get("others", []))
responded = [base, *rl, *others]
# Files come in the order the rule lists them: scorers [base, *rl]; responses by model
# ([base, *rl, *others]) then benchmark; problems by benchmark.
scorer_models = [base, *rl]
if len(snakemake.input.scorers) != len(scorer_models):
    raise ValueError(f"{len(snakemake.input.scorers)} scorer manifests for {len(scorer_models)} "
                     "scoring models")
if len(snakemake.input.responses) != len(responded) * len(p.benchmarks):
    raise ValueError(f"{len(snakemake.input.responses)} response files for {len(responded)} "
                     f"models x {len(p.benchmarks)} benchmarks")
scorers = {m: json.loads(open(path).read())["path"]
           for m, path in zip(scorer_models, snakemake.input.scorers)}
responses = iter(snakemake.input.responses)
by_model = {m: {b: next(responses) for b in p.benchmarks} for m in responded}
pairs = perplexity_pairs(base, rl, others)
# No param where it changes no score (analyses.perplexity.batch_size_param): from the config.
batch_size = p.batch_size or snakemake.config["studies"]["perplexity"].get("batch_size", 4)
tables = []
for benchmark, problems_path in zip(p.benchmarks, snakemake.input.problems, strict=True):
    questions = read_normalised(problems_path)
    # Each response set is scored after the prompt its own model answered.
    prompts = {m: pd.DataFrame({"problem_id": questions.problem_id.to_numpy(),
                                "prompt": [apply_template(p.templates[m][benchmark], q)
                                           for q in questions.question]})
               for m in responded}
    log.info("%s: scoring %d response sets with %d models (%s)", benchmark, len(responded),
             len(scorers), p.dtype)
    table = perplexity_table(scorers, {m: pd.read_parquet(by_model[m][benchmark]) for m in responded},
                             pairs, prompts, p.samples_per_problem, batch_size, p.device, p.dtype,
                             p.backend, p.max_model_len)
    tables.append(table.assign(family=p.family, benchmark=benchmark))
write_csv(pd.concat(tables, ignore_index=True), snakemake.output.table)
