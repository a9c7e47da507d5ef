"""Pinned Hub snapshots and their sha256 manifests, on a tiny model in a local cache."""

from __future__ import annotations

import json

import pytest

from rlvr_boundary.models.hub_models import (
    check_manifest,
    check_revision,
    fetch_snapshot,
    local_manifest,
    manifest_digest,
    snapshot_manifest,
    weights_complete,
)
from rlvr_boundary.workflow.job_io import sha256_file
from tiny_hub import save_in_cache

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def offline(monkeypatch):
    """HF_HUB_OFFLINE as the workflow's jobs see it (read when huggingface_hub is imported,
    which has happened in this process already)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("hub")
    save_in_cache(cache, "org/tiny", COMMIT, seed=0)
    return cache


@pytest.mark.parametrize("revision", [None, "main", "v1.0", COMMIT[:12]])
def test_only_a_commit_hash_is_a_pin(revision):
    with pytest.raises(ValueError, match="org/tiny: revision .* is not pinned"):
        check_revision("org/tiny", revision)


def test_fetch_reads_the_pinned_snapshot_offline(cache, offline):
    path = fetch_snapshot("org/tiny", COMMIT, str(cache))
    assert path.name == COMMIT
    manifest = snapshot_manifest("org/tiny", COMMIT, path)
    assert manifest["files"]["config.json"] == sha256_file(path / "config.json")
    assert manifest["bytes"] == sum(p.stat().st_size for p in path.iterdir())
    assert manifest_digest(manifest) == manifest_digest(local_manifest(path))


def test_a_commit_not_in_the_cache_is_an_error_offline(cache, offline):
    with pytest.raises(FileNotFoundError, match="Cannot find .* cached snapshot"):
        fetch_snapshot("org/tiny", "f" * 40, str(cache))


def test_changed_files_against_a_pinned_manifest_are_named(cache):
    path = cache / "models--org--tiny" / "snapshots" / COMMIT
    manifest = snapshot_manifest("org/tiny", COMMIT, path)
    check_manifest(manifest, dict(manifest["files"]))
    check_manifest(manifest, None)
    pinned = {**manifest["files"], "config.json": "0" * 64}
    with pytest.raises(ValueError, match=r"files differ from the pinned manifest: \['config.json'\]"):
        check_manifest(manifest, pinned)


def test_a_folder_without_config_is_not_a_model(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match="no config.json"):
        local_manifest(tmp_path)


def test_a_partial_snapshot_is_not_taken_for_a_model(tmp_path, offline):
    snapshot = save_in_cache(tmp_path, "org/partial", COMMIT, seed=0)
    (snapshot / "model.safetensors").unlink()  # an interrupted download
    assert not weights_complete(snapshot)
    with pytest.raises(Exception, match="lacks config.json or weight files"):
        fetch_snapshot("org/partial", COMMIT, str(tmp_path))


def test_sharded_weights_need_every_shard_of_the_index(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    index = {"weight_map": {"a": "model-00001.safetensors", "b": "model-00002.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    (tmp_path / "model-00001.safetensors").write_bytes(b"x")
    assert not weights_complete(tmp_path)
    (tmp_path / "model-00002.safetensors").write_bytes(b"x")
    assert weights_complete(tmp_path)
