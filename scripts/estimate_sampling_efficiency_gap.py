import pandas as pd

from rlvr_boundary.analyses.algorithm_study import pairwise_differences, sampling_efficiency_gap
from rlvr_boundary.workflow.job_io import start_job, write_csv

log = start_job(snakemake.log[0])
p = snakemake.params
counts = pd.read_parquet(snakemake.input.counts)
settings = dict(metric=p.analysis["claim_metric"], temperature=p.analysis["claim_temperature"],
                n_resamples=p.analysis["bootstrap_resamples"], seed=p.seed,
                level=p.analysis["ci_level"])
gap = sampling_efficiency_gap(counts, p.study["models"], p.study["base"], **settings)
write_csv(gap, snakemake.output.gap)
write_csv(pairwise_differences(counts, p.study["models"], p.study["base"], **settings),
          snakemake.output.pairs)
log.info("dSE per algorithm and benchmark:\n%s", gap[["algorithm", "benchmark", "pass_at_1", "dse"]])
