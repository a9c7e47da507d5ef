"""Hub checkpoints at pinned revisions, with a sha256 manifest of every file.

A model is fetched with ``huggingface_hub.snapshot_download`` at a 40-hex commit (a branch
or tag can move under a finished study) into the Hugging Face cache; the manifest records
the snapshot folder and a sha256 per file, so a later run can tell whether the weights it
samples from are the ones the results came from. With ``HF_HUB_OFFLINE=1`` the same call
reads a snapshot already in the cache (how the tests exercise it without a download).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..workflow.job_io import sha256_named
from .integrity import CheckpointCorrupted, blob_mismatches, file_digests

COMMIT = re.compile(r"[0-9a-f]{40}")
# What sampling needs; the Hub repos also hold training states, GGUFs and the like.
WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.py", "*.jinja",
                   "tokenizer*"]


def check_revision(repo: str, revision: str | None) -> str:
    """The revision if it is a commit hash; otherwise a clear error naming the repo."""
    if not revision or not COMMIT.fullmatch(str(revision)):
        raise ValueError(
            f"{repo}: revision {revision!r} is not pinned. Put the 40-hex commit of the "
            f"checkpoint in the config (e.g. `huggingface-cli repo-info {repo}` or the "
            "commit shown on the repo's 'Files' page); branches and tags can move.")
    return str(revision)


def fetch_snapshot(repo: str, revision: str, cache_dir: str | None = None,
                   patterns: list[str] | None = None) -> Path:
    """The local snapshot folder of ``repo`` at ``revision``: the cached one when it is
    complete (no network call at all), else downloaded (resuming what is there)."""
    from huggingface_hub import snapshot_download  # transformers' own dependency
    from huggingface_hub.errors import LocalEntryNotFoundError

    check_revision(repo, revision)
    fetch = dict(repo_id=repo, revision=revision, cache_dir=cache_dir,
                 allow_patterns=patterns or WEIGHT_PATTERNS)
    try:
        path = Path(snapshot_download(**fetch, local_files_only=True))
        complete = weights_complete(path)
    except LocalEntryNotFoundError:
        complete = False
    if not complete:
        path = Path(snapshot_download(**fetch))
    if path.name != revision:
        raise ValueError(f"{repo}: snapshot folder {path} is not the pinned commit {revision}")
    if not weights_complete(path):
        raise ValueError(f"{repo}@{revision}: {path} lacks config.json or weight files")
    return path


def weights_complete(path: Path) -> bool:
    """config.json and every safetensors shard the index names (or one safetensors file),
    and no snapshot file whose cache blob is gone (a corrupted blob deleted so that the
    next fetch downloads it again)."""
    if any(p.is_symlink() and not p.exists() for p in path.rglob("*")):
        return False
    index = path / "model.safetensors.index.json"
    if index.exists():
        import json

        shards = set(json.loads(index.read_text())["weight_map"].values())
        weights = all((path / shard).exists() for shard in shards)
    else:
        weights = any(path.glob("*.safetensors"))
    return (path / "config.json").exists() and weights


def snapshot_manifest(repo: str, revision: str, path: str | Path) -> dict:
    """{repo, revision, path, files: {relative name: sha256}, bytes} of a snapshot. A Hub
    cache file whose blob's bytes do not match the blob's name (its sha256, or git sha1
    for a small file) is refused, so a corrupted download is never recorded as the
    model's digest."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file())
    if not any(p.name == "config.json" for p in files):
        raise ValueError(f"{repo}@{revision}: no config.json in {path}; not a model snapshot")
    digests = {str(p.relative_to(path)): file_digests(p) for p in files}
    for p in files:
        wrong = blob_mismatches(p, digests[str(p.relative_to(path))])
        if wrong:
            blob, expected, actual = wrong
            raise CheckpointCorrupted(
                f"{repo}@{revision}: {p} links to Hub cache blob {blob}, whose bytes hash to "
                f"{actual}, not the {expected} it is named by; the download is corrupted. "
                f"Fix: `rm -f {blob}`, then run the workflow again (fetch_model downloads the "
                "file anew).")
    return {"repo": repo, "revision": revision, "path": str(path.resolve()),
            "files": {name: digest["sha256"] for name, digest in digests.items()},
            "bytes": sum(p.stat().st_size for p in files)}


def check_manifest(manifest: dict, pinned: dict | None) -> None:
    """Refuse weights whose files differ from a manifest pinned in the config."""
    if not pinned:
        return
    changed = sorted(name for name in set(pinned) | set(manifest["files"])
                     if pinned.get(name) != manifest["files"].get(name))
    if changed:
        raise ValueError(f"{manifest['repo']}@{manifest['revision']}: files differ from the "
                         f"pinned manifest: {changed[:5]}{' ...' if len(changed) > 5 else ''}")


def manifest_digest(manifest: dict) -> str:
    """One sha256 for a snapshot: over its files' names and hashes (as sha256_tree does for
    a folder), so the registry can name the exact weights in one string."""
    return sha256_named(sorted(manifest["files"].items()))


def local_manifest(path: str | Path, source: str = "local") -> dict:
    """The manifest of a checkpoint folder (``source: local``, or ``trained`` by the
    workflow's own RL rule)."""
    return {**snapshot_manifest(source, "", path), "source": source}
