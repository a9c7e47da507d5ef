"""Outputs appear whole or not at all: a write that dies half-way leaves neither a partial
file nor a folder that looks like a finished model."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from rlvr_boundary.models.modeling import build_model, load_checkpoint, save_checkpoint
from rlvr_boundary.workflow.job_io import write_csv, write_parquet

ARCH = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 1}


class Killed(Exception):
    """Stands in for a job killed in the middle of a write."""


def test_a_failed_table_write_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "counts.parquet"
    write_parquet(pd.DataFrame({"c": [1, 2]}), path)
    before = path.read_bytes()

    def dies_half_way(self, target, *args, **kwargs):
        open(target, "wb").write(b"PAR1 half a file")
        raise Killed

    monkeypatch.setattr(pd.DataFrame, "to_parquet", dies_half_way)
    with pytest.raises(Killed):
        write_parquet(pd.DataFrame({"c": [3]}), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts.parquet"]

    monkeypatch.undo()
    write_csv(pd.DataFrame({"c": [3]}), tmp_path / "new.csv")
    assert (tmp_path / "new.csv").read_text() == "c\n3\n"


def test_a_failed_checkpoint_save_leaves_no_model_folder(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model, tokenizer = build_model(ARCH, 16)
    path = tmp_path / "model"

    def dies_half_way(target, *args, **kwargs):
        (target / "tokenizer.json").write_text("{")
        raise Killed

    monkeypatch.setattr(tokenizer, "save_pretrained", dies_half_way)
    with pytest.raises(Killed):
        save_checkpoint(model, tokenizer, path)
    # The weights were written, the tokenizer half: nothing at `path`, no temp left.
    assert list(tmp_path.iterdir()) == []


def test_a_save_replaces_a_model_whole(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model, tokenizer = build_model(ARCH, 16)
    path = tmp_path / "model"
    save_checkpoint(model, tokenizer, path)
    first = {p.name: p.read_bytes() for p in path.iterdir()}

    # A failed second save leaves the first model untouched.
    with torch.no_grad():
        model.lm_head.weight.add_(1.0)
    monkeypatch.setattr(tokenizer, "save_pretrained", lambda target, **kw: (_ for _ in ()).throw(Killed()))
    with pytest.raises(Killed):
        save_checkpoint(model, tokenizer, path)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == first

    # A good one replaces it, with nothing left beside it.
    monkeypatch.undo()
    save_checkpoint(model, tokenizer, path)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert (path / "model.safetensors").read_bytes() != first["model.safetensors"]
    reloaded, _ = load_checkpoint(path)
    assert torch.equal(reloaded.lm_head.weight, model.lm_head.weight)
