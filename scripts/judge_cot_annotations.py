"""C5 by a language-model judge: every base sample of one benchmark's annotation export
read by the judge checkpoint (analysis.cot_judge); its verdict and raw reply beside the
annotation columns (rlvr_boundary.analyses.cot_judge)."""

from rlvr_boundary.analyses.cot_annotation import read_annotations
from rlvr_boundary.sampling.judge import judge_annotations
from rlvr_boundary.sampling.job import verified_model_path
from rlvr_boundary.workflow.job_environment import record_job
from rlvr_boundary.workflow.job_io import start_job, write_csv

log = start_job(snakemake.log[0])
job = snakemake.params.job
# As in sample_model.py: where batch_size changes speed only it is no param; read it here.
settings = snakemake.config["sampling"]
if "batch_size" in settings:
    job = {**job, "sampling": {"batch_size": settings["batch_size"], **job["sampling"]}}
sheet = read_annotations(snakemake.input.annotations)
path = verified_model_path(snakemake.input.model)
log.info("judge %s on %s: %d rows, temperature %s", job["model"], snakemake.wildcards.benchmark,
         len(sheet), job["temperature"])
judged = judge_annotations(path, sheet, job["template"], job["instruction"], job["sampling"],
                           job["temperature"], job["seed"], job["device"],
                           snakemake.resources.gpu)
write_csv(judged, snakemake.output.judged)
record_job(snakemake, {"judge": job["seed"]},
           {**job["sampling"], "device": job["device"], "gpus": snakemake.resources.gpu})
log.info("labels: %s", judged.loc[judged["judge"] != "", "judge"].value_counts().to_dict())
