from rlvr_boundary.hub_models import (
    check_manifest,
    fetch_snapshot,
    local_manifest,
    manifest_digest,
    snapshot_manifest,
)
from rlvr_boundary.workflow_io import log_to, write_json

log = log_to(snakemake.log[0])
entry = snakemake.params.entry
if entry.get("source", "hub") == "local":
    manifest = local_manifest(entry["path"])
else:
    path = fetch_snapshot(entry["hub"], entry["revision"], snakemake.params.cache_dir)
    manifest = snapshot_manifest(entry["hub"], entry["revision"], path)
check_manifest(manifest, entry.get("manifest"))
manifest["digest"] = manifest_digest(manifest)
log.info("%s: %d files, %.1f GB, digest %s", snakemake.wildcards.model, len(manifest["files"]),
         manifest["bytes"] / 1e9, manifest["digest"])
write_json(manifest, snakemake.output.manifest)
