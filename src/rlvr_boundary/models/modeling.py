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
    first, as a folder cannot be renamed onto a non-empty one."""
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
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(path: str | Path, device: str = "cpu", dtype: str = "float32"):
    """Load a model folder (ours, or any Hub-layout causal LM) in eval mode; fp32 unless
    ``dtype`` says otherwise (bfloat16 for real checkpoints on GPUs)."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} is not a model checkpoint (no config.json)")
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype)).to(device)
    use_onednn_linears(model)
    model.eval()
    return model, tokenizer


def context_length(model) -> int:
    return int(model.config.max_position_embeddings)
