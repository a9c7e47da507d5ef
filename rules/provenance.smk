# What a finished tiny-world run was made from: versions, commit, config, seeds, hashes.
localrules:
    write_provenance,


rule write_provenance:
    """Package versions, git commit, config hash, seeds and sha256 of every checkpoint
    and table."""
    input:
        registry="results/tables/models.csv",
        tables=[
            "results/tables/counts.parquet",
            "results/tables/passk.csv",
            "results/report/claims.json",
        ],
        data=rules.make_task_data.output,
    output:
        provenance="results/provenance.json",
    params:
        config=config,
        seeds=all_seeds(),
    log:
        "logs/write_provenance.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/write_provenance.py"
