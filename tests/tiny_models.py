"""The tiny world's model for unit tests: a from-scratch Llama with the character tokenizer,
as the workflow's pretraining builds it (one architecture for every test that needs one)."""

from __future__ import annotations

import torch

from rlvr_boundary.models.modeling import build_model

ARCH = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2}


def tiny_world_model(seed: int = 0, max_positions: int = 48, arch: dict = ARCH):
    """(model, tokenizer), untrained, in eval mode, its weights drawn from ``seed``."""
    torch.manual_seed(seed)
    model, tokenizer = build_model(arch, max_positions)
    model.eval()
    return model, tokenizer
