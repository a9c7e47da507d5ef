"""From-scratch tiny causal LMs (transformers' Llama) saved as Hugging Face checkpoints.

Models built or loaded here on AMD CPUs run their fp32 linear layers through oneDNN
(:mod:`.onednn`: 2-2.4x faster products than torch's MKL path there); parameters and
saved files are those of an ordinary transformers model.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LlamaConfig

# CHECKSUM_FILE and CheckpointCorrupted re-exported: what a caller of load_checkpoint catches.
from .integrity import CHECKSUM_FILE, CheckpointCorrupted, verify_checkpoint, write_checksums  # noqa: F401
from .onednn import use_onednn_linears
from ..world.tokenizer import build_tokenizer


def set_determinism(seed: int, threads: int) -> None:
    """fp32 on CPU with a fixed thread count gives the same bytes run after run."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def build_model(architecture: dict, max_positions: int):
    tokenizer = build_tokenizer()
    heads = architecture["num_attention_heads"]
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=architecture["hidden_size"],
        intermediate_size=architecture["intermediate_size"],
        num_hidden_layers=architecture["num_hidden_layers"],
        num_attention_heads=heads,
        num_key_value_heads=heads,
        head_dim=architecture["hidden_size"] // heads,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    return use_onednn_linears(model), tokenizer


def save_checkpoint(model, tokenizer, path: str | Path) -> None:
    """Save into a hidden sibling temp folder, then rename: a killed job never leaves a
    folder at ``path`` that looks like a finished model (at worst a ``.<name>.partial``
    sibling, which the next save clears). A model already at ``path`` is moved aside
    first, as a folder cannot be renamed onto a non-empty one. The folder gets a
    ``checksums.sha256.json`` (the sha256 of each other file) that every load verifies
    (:mod:`.integrity`)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    old = path.with_name(f".{path.name}.old")
    for leftover in (tmp, old):
        shutil.rmtree(leftover, ignore_errors=True)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_checksums(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


# --- where and in what precision a job runs ----------------------------------------------
# Resolved inside the job, never when the DAG is built: a SLURM login node has no GPU.

DEVICES = ("auto", "cuda", "cpu")
DTYPES = ("auto", "bfloat16", "float16", "float32")


def resolve_device(device: str | None) -> str:
    """``auto`` (or None): ``cuda`` where this process sees a GPU, else ``cpu``; any other
    value (``cpu``, ``cuda``, ``cuda:1``) as given."""
    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def resolve_dtype(dtype: str | None, device: str) -> str:
    """``auto`` (or None): float32 on a CPU, bfloat16 on a GPU (``device`` already
    resolved); an explicit dtype as given."""
    if dtype in (None, "", "auto"):
        return "float32" if str(device).startswith("cpu") else "bfloat16"
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}: choose one of {DTYPES}")
    return str(dtype)


def load_checkpoint(path: str | Path, device: str = "cpu", dtype: str = "float32",
                    manifest: str | Path | dict | None = None, direct: bool = False):
    """Load a model folder (ours, or any Hub-layout causal LM) in eval mode; fp32 unless
    ``dtype`` says otherwise (bfloat16 for real checkpoints on GPUs); ``auto`` for either is
    resolved here, in the job. Every file is first checked against the sha256 recorded
    for it (:func:`~.integrity.verify_checkpoint`: the folder's checksum file, the
    ``manifest`` of a fetched model when given, Hub cache blob names): a changed file stops
    the job with :class:`~.integrity.CheckpointCorrupted` naming it. ``direct`` on a GPU:
    the weights go straight onto it (this process's current GPU for plain ``cuda``), with no
    full copy in host memory first (RL: one process per GPU, each 4 bytes a parameter)."""
    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} is not a model checkpoint (no config.json)")
    verify_checkpoint(path, manifest)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if direct and device.startswith("cuda"):
        index = torch.device(device).index
        placement = {"": torch.cuda.current_device() if index is None else index}
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype),
                                                     device_map=placement)
    else:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype)).to(device)
    use_onednn_linears(model)
    model.eval()
    return model, tokenizer


def context_length(model) -> int:
    return int(model.config.max_position_embeddings)
