"""Checkpoint integrity: every reader of a checkpoint checks its files' sha256 first.

A truncated safetensors file, or weights zeroed in place with the same size and mtime, is
refused naming the file and the command that redoes it; an intact checkpoint loads; a
fetched model whose file changed after its manifest was written is refused by the sampling
job before any engine (transformers or vLLM) reads it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import pytest
import torch

from rlvr_boundary.models.hub_models import snapshot_manifest, weights_complete
from rlvr_boundary.models.integrity import CHECKSUM_FILE, CheckpointCorrupted, verify_checkpoint
from rlvr_boundary.models.modeling import load_checkpoint, save_checkpoint
from rlvr_boundary.sampling.job import sample_job, verified_model_path
from rlvr_boundary.workflow.job_io import sha256_file

from tiny_models import tiny_world_model

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A workflow's working directory: commands name paths relative to it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _save(folder: str | Path) -> Path:
    model, tokenizer = tiny_world_model(seed=3)
    save_checkpoint(model, tokenizer, folder)
    return Path(folder)


def _zero_in_place(path: Path) -> None:
    """Overwrite every byte with zeros, then put the mtime back: size and mtime unchanged."""
    before = path.stat()
    with open(path, "r+b") as handle:
        handle.write(bytes(before.st_size))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_save_records_every_file_and_is_byte_stable(workdir):
    folder = _save("results/models/tdeep-base")
    recorded = json.loads((folder / CHECKSUM_FILE).read_text())
    assert recorded["algorithm"] == "sha256"
    assert recorded["files"] == {p.name: sha256_file(p) for p in sorted(folder.iterdir())
                                 if p.name != CHECKSUM_FILE}
    assert "model.safetensors" in recorded["files"] and "config.json" in recorded["files"]
    first = (folder / CHECKSUM_FILE).read_bytes()
    _save(folder)  # the same weights again: the same file
    assert (folder / CHECKSUM_FILE).read_bytes() == first


def test_intact_checkpoint_loads(workdir, caplog):
    folder = _save("results/models/tdeep-base")
    model, _ = tiny_world_model(seed=3)
    with caplog.at_level(logging.INFO, logger="rlvr_boundary.models.integrity"):
        loaded, _ = load_checkpoint(folder)
    assert torch.equal(loaded.lm_head.weight, model.lm_head.weight)
    assert "verified against checksums.sha256.json" in caplog.text


def test_truncated_safetensors_is_refused(workdir):
    folder = _save("results/models/tdeep-base")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointCorrupted) as error:
        load_checkpoint(folder)
    message = str(error.value)
    assert message.startswith("results/models/tdeep-base/model.safetensors: sha256 ")
    assert hashlib.sha256(data).hexdigest() in message  # the expected digest
    assert hashlib.sha256(data[: len(data) // 2]).hexdigest() in message  # the actual one
    assert "rule pretrain_base" in message
    assert "snakemake --forcerun results/models/tdeep-base" in message


def test_weights_zeroed_in_place_with_the_same_size_and_mtime_are_refused(workdir):
    folder = _save("results/models/tdeep-rl-narrow")
    load_checkpoint(folder)  # verified once: the digest is cached for this file's stat
    _zero_in_place(folder / "model.safetensors")
    with pytest.raises(CheckpointCorrupted, match=r"results/models/tdeep-rl-narrow/model\."
                       r"safetensors: sha256 .* differs .* rule train_rl.*--forcerun "
                       r"results/models/tdeep-rl-narrow"):
        load_checkpoint(folder)


def test_a_protected_output_gets_the_chmod_it_needs(workdir, monkeypatch):
    """pretrain_* outputs are protected(): Snakemake refuses to redo a read-only folder."""
    from rlvr_boundary.models import integrity

    folder = _save("results/models/teacher")
    (folder / "config.json").write_text("{}")
    # Read-only as Snakemake leaves it (os.access is what Snakemake asks too; root may write).
    monkeypatch.setattr(integrity.os, "access", lambda path, mode: False)
    with pytest.raises(CheckpointCorrupted, match=r"rule pretrain_teacher.*`chmod -R u\+w "
                       r"results/models/teacher && snakemake --forcerun results/models/teacher`"):
        load_checkpoint(folder)


def test_intermediate_checkpoint_names_its_training_run(workdir):
    folder = _save("results/checkpoints/tdeep-rl-narrow/step-00003")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(CheckpointCorrupted, match=r"step-00003/tokenizer\.json: missing .* "
                       r"rule train_rl.*--forcerun results/checkpoints/tdeep-rl-narrow`"):
        verify_checkpoint(folder)


def test_a_folder_with_nothing_recorded_loads_unverified(workdir, caplog):
    folder = _save("old-model")
    (folder / CHECKSUM_FILE).unlink()  # as saved before checksum files existed
    with caplog.at_level(logging.INFO, logger="rlvr_boundary.models.integrity"):
        load_checkpoint(folder)
    assert "old-model: unverified" in caplog.text


def test_a_damaged_checksum_file_is_refused(workdir):
    folder = _save("results/models/tdeep-distilled")
    (folder / CHECKSUM_FILE).write_text('{"files": ')
    with pytest.raises(CheckpointCorrupted, match="unreadable checksum file.*distill_student"):
        load_checkpoint(folder)


# --- fetched models: the manifest's digests, checked by the sampling job ------------------


def _manifest(workdir: Path, model: str, folder: Path, source: str = "local") -> Path:
    manifest = workdir / "results" / "models" / model / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    manifest.write_text(json.dumps({
        "repo": source, "revision": "", "path": str(folder.resolve()), "source": source,
        "files": {str(p.relative_to(folder)): sha256_file(p) for p in files}}))
    return manifest.relative_to(workdir)


def _checkpoint_job(backend: str = "hf") -> dict:
    return {"engine": "checkpoint", "device": "cpu",
            "benchmarks": {"b": {"template": "{question}", "seed": 0}},
            "block": {"index": 0, "start": 0, "samples": 1},
            "sampling": {"backend": backend, "shards": 1, "top_p": 1.0, "max_new_tokens": 4,
                         "max_model_len": 64, "batch_size": 1}}


@pytest.mark.parametrize("backend", ["hf", "vllm"])
def test_a_manifest_listed_snapshot_with_a_changed_file_is_refused_by_sampling(workdir, backend):
    folder = _save(workdir / "elsewhere" / "my-checkpoint")
    (folder / CHECKSUM_FILE).unlink()  # a user's folder: only the manifest records it
    manifest = _manifest(workdir, "my-rl", folder)
    assert verified_model_path(str(manifest)) == str(folder.resolve())
    _zero_in_place(folder / "model.safetensors")
    with pytest.raises(CheckpointCorrupted) as error:
        # Refused before any benchmark file or engine is touched (vLLM is not installed).
        sample_job(str(manifest), ["no-such-benchmark.jsonl"], _checkpoint_job(backend), 0, 1.0, 1)
    message = str(error.value)
    assert f"{folder}/model.safetensors: sha256" in message
    assert f"recorded in the manifest {manifest}" in message
    assert "not written by this workflow" in message
    assert f"snakemake --forcerun {manifest}" in message


def test_a_job_given_only_the_folder_finds_its_manifest(workdir):
    """The entropy, perplexity and paper-RL jobs read a fetched model's path out of its
    manifest and load the folder: the manifest naming the folder is checked all the same."""
    folder = _save(workdir / "elsewhere" / "user-model")
    (folder / CHECKSUM_FILE).unlink()
    manifest = _manifest(workdir, "user-rl", folder)
    assert verify_checkpoint(folder) == "verified"
    (folder / "tokenizer_config.json").write_text("{}")
    with pytest.raises(CheckpointCorrupted, match=rf"tokenizer_config\.json: sha256 .* recorded in "
                       rf"the manifest {manifest}"):
        load_checkpoint(str(folder))


def test_a_trained_model_read_through_its_manifest_names_its_training_rule(workdir):
    folder = _save("results/trained/qwen-rl")
    manifest = _manifest(workdir, "qwen-rl", folder, source="trained")
    (folder / "config.json").write_text("{}")
    with pytest.raises(CheckpointCorrupted, match=r"rule train_paper_rl.*--forcerun "
                       r"results/trained/qwen-rl`"):
        verified_model_path(str(manifest))


def _hub_cache_snapshot(workdir: Path, commit: str = "c" * 40) -> Path:
    """A snapshot as snapshot_download leaves it: links into blobs/, each blob named by
    its sha256 (weights, in LFS) or its git sha1 (small files)."""
    plain = _save(workdir / "plain")
    storage = workdir / "hub" / "models--org--tiny"
    snapshot, blobs = storage / "snapshots" / commit, storage / "blobs"
    snapshot.mkdir(parents=True)
    blobs.mkdir()
    for file in sorted(plain.iterdir()):
        if file.name == CHECKSUM_FILE:
            continue
        data = file.read_bytes()
        name = (hashlib.sha256(data).hexdigest() if file.suffix == ".safetensors"
                else hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest())
        (blobs / name).write_bytes(data)
        (snapshot / file.name).symlink_to(Path("../../blobs") / name)
    shutil.rmtree(plain)
    return snapshot


def test_a_hub_snapshot_is_checked_against_its_blob_names(workdir):
    snapshot = _hub_cache_snapshot(workdir)
    manifest = _manifest(workdir, "qwen-base", snapshot, source="hub")
    assert verify_checkpoint(snapshot) == "verified"  # no manifest needed
    config_blob = Path(os.path.realpath(snapshot / "config.json"))
    config_blob.write_text(config_blob.read_text().replace("64", "65"))
    with pytest.raises(CheckpointCorrupted) as error:
        load_checkpoint(snapshot)  # e.g. the perplexity or entropy job, given the folder
    message = str(error.value)
    assert "config.json: sha256" in message or "config.json: its Hub cache blob" in message
    assert f"`rm -f {config_blob} && snakemake --forcerun {manifest}`" in message
    # Deleting the blob makes the snapshot incomplete, so fetch_model downloads it again.
    assert weights_complete(snapshot)
    config_blob.unlink()
    assert not weights_complete(snapshot)
    with pytest.raises(CheckpointCorrupted, match=r"config\.json: missing"):
        verified_model_path(str(manifest))


def test_fetch_never_records_a_corrupted_blob(workdir):
    snapshot = _hub_cache_snapshot(workdir)
    weights = Path(os.path.realpath(snapshot / "model.safetensors"))
    _zero_in_place(weights)
    with pytest.raises(CheckpointCorrupted, match=rf"org/tiny@{'c' * 40}: .*model\.safetensors "
                       rf"links to Hub cache blob .*`rm -f {weights}`"):
        snapshot_manifest("org/tiny", "c" * 40, snapshot)


def test_the_vllm_perplexity_path_verifies_before_the_engine(workdir):
    from rlvr_boundary.analyses.perplexity import _scoring

    folder = _save("results/models/tdeep-rl-narrow")
    _zero_in_place(folder / "model.safetensors")
    with pytest.raises(CheckpointCorrupted, match="model.safetensors"):
        _scoring(folder, "vllm", "cpu", "float32", 1)
