# Real benchmarks, normalised: one rule for the real-data section (rules/real.smk) and the
# paper-scale study (rules/checkpoints.smk). The including file sets BENCHMARK_SPECS (name ->
# file or Hub dataset, sha256 pin) and BENCHMARK_DIR (where normalised files go).
# What loading reads: other keys of a spec (n, limit, ...) must not rerun this rule.
_LOAD_KEYS = ("format", "file", "hub", "sha256", "expected_rows")


localrules:
    prepare_benchmark,


rule prepare_benchmark:
    """A benchmark normalised to problem_id, question, reference_answer, source; the raw
    data's sha256 must equal the pinned one, the normalised file's is recorded."""
    input:
        raw=benchmark_file,
    output:
        problems=f"{BENCHMARK_DIR}/{{benchmark}}/problems.jsonl",
        manifest=f"{BENCHMARK_DIR}/{{benchmark}}/manifest.json",
    params:
        spec=lambda wildcards: {
            key: value
            for key, value in BENCHMARK_SPECS[wildcards.benchmark].items()
            if key in _LOAD_KEYS
        },
    log:
        "logs/prepare_benchmark/{benchmark}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/prepare_benchmark.py"
