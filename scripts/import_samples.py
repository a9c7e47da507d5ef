from rlvr_boundary.sampling.benchmarks import load_benchmark, load_local
from rlvr_boundary.sampling.imported import benchmark_index, import_math_eval
from rlvr_boundary.workflow.job_io import start_job, write_parquet

log = start_job(snakemake.log[0])
entry, spec = snakemake.params.entry, snakemake.params.spec
table, _ = load_benchmark(snakemake.wildcards.benchmark, spec)
records, _ = load_local(spec["file"])
samples = import_math_eval(snakemake.input.files, benchmark_index(records, table.problem_id.tolist()),
                           entry.get("missing_finish_reason"))
log.info("imported %d samples of %d problems; %d truncated", len(samples),
         samples.problem_id.nunique(), (samples.finish_reason == "length").sum())
write_parquet(samples, snakemake.output.samples)
