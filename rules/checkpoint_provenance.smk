# Where a checkpoint study ran: every sampling and training job recorded its own machine
# (<output>.environment.json: GPUs, NVIDIA driver, CUDA, torch, transformers, vLLM and TRL
# versions, host, config sha256 and seeds; rlvr_boundary.workflow.job_environment), since the
# node that builds the DAG may have no GPU. Merged here, cheaply, into results/provenance.json.
localrules:
    write_checkpoint_provenance,


rule write_checkpoint_provenance:
    """The config and its sha256, seeds, the workflow commit, each checkpoint's identity,
    every GPU job's machine record and the distinct machines they ran on."""
    input:
        environments=job_environment_records(),
        registry="results/tables/models.csv",
    output:
        provenance="results/provenance.json",
    params:
        config=config,
        seeds={"seed": config["seed"], "bootstrap": seed_for("bootstrap")},
    log:
        "logs/write_checkpoint_provenance.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/write_checkpoint_provenance.py"
