"""What every model's sampling job and registry row read: the weights' path and identity."""

from __future__ import annotations

import json

import pytest

from rlvr_boundary.models.registry import checkpoint_identity
from rlvr_boundary.sampling.job import model_path, sample_job
from rlvr_boundary.workflow.job_io import sha256_tree


def _manifest(tmp_path, **fields):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"digest": "d" * 64, **fields}))
    return str(path)


def test_model_path_from_a_folder_or_a_manifest(tmp_path):
    assert model_path("results/models/base", "") == "results/models/base/"
    assert model_path("results/checkpoints/r", "step-00010") == "results/checkpoints/r/step-00010"
    assert model_path(_manifest(tmp_path, source="local", path="/ckpt/rl")) == "/ckpt/rl"


def test_checkpoint_identity(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert checkpoint_identity(str(folder)) == (None, sha256_tree(folder))
    hub = _manifest(tmp_path, source="hub", repo="org/m", revision="a" * 40, path="/cache/x")
    assert checkpoint_identity(hub) == ("hub", f"org/m@{'a' * 40} sha256:{'d' * 64}")
    local = _manifest(tmp_path, source="local", path="/ckpt/rl")
    assert checkpoint_identity(local) == ("local", f"/ckpt/rl sha256:{'d' * 64}")


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown sampling engine 'gguf'"):
        sample_job("m", [], {"engine": "gguf", "benchmarks": {}}, 0, 1.0, 1)
