from rlvr_boundary.models.hub_models import (
    check_manifest,
    fetch_snapshot,
    local_manifest,
    manifest_digest,
    snapshot_manifest,
)
from rlvr_boundary.workflow.job_io import start_job, write_json

log = start_job(snakemake.log[0])
entry = snakemake.params.entry
source = entry.get("source", "hub")
if source in ("local", "checkpoint"):  # checkpoint: an intermediate one of a trained run
    manifest = local_manifest(entry["path"], source)
elif source == "trained":  # by train_paper_rl
    manifest = local_manifest(snakemake.input.trained[0], "trained")
else:
    path = fetch_snapshot(entry["hub"], entry["revision"], snakemake.params.cache_dir)
    manifest = {**snapshot_manifest(entry["hub"], entry["revision"], path), "source": "hub"}
check_manifest(manifest, entry.get("manifest"))
manifest["digest"] = manifest_digest(manifest)
log.info("%s: %d files, %.1f GB, digest %s", snakemake.wildcards.model, len(manifest["files"]),
         manifest["bytes"] / 1e9, manifest["digest"])
write_json(manifest, snakemake.output.manifest)
