"""Pretraining a tiny model from scratch on the world's chain-of-thought corpus.

A plain PyTorch loop (the model is ~1M parameters; a Trainer would only add overhead):
each step draws problems from the training split and writes a trace for each - noisy
traces from the :class:`~rlvr_boundary.task.World` for a base model, clean ones for the
teacher. The noise is drawn afresh every step, so the base sees each rare fact's right
value a few percent of the time: unreliable but broad.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pandas as pd
import torch

from .modeling import build_model, set_determinism
from .task import World, parse_prompt

log = logging.getLogger(__name__)


def encode_batch(texts: list[str], tokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """bos + text + eos, right-padded; labels are -100 on padding."""
    vocab = tokenizer.get_vocab()
    rows = [[tokenizer.bos_token_id, *(vocab[ch] for ch in text), tokenizer.eos_token_id]
            for text in texts]
    width = max(map(len, rows))
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = torch.tensor(row)
        labels[i, : len(row)] = input_ids[i, : len(row)]
    return input_ids, labels


def learning_rate_at(step: int, steps: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def pretrain(train: pd.DataFrame, architecture: dict, settings: dict, world: World | None,
             max_positions: int, seed: int, threads: int, device: str = "cpu"):
    """Train and return ``(model, tokenizer, history)``; ``world=None`` means clean traces."""
    set_determinism(seed, threads)
    rng = np.random.default_rng(seed)
    problems = [parse_prompt(p) for p in train.loc[train.depth.isin(settings["depths"]), "prompt"]]
    if not problems:
        raise ValueError(f"no training problems of depths {settings['depths']}")
    model, tokenizer = build_model(architecture, max_positions)
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["learning_rate"],
                                  weight_decay=0.01, betas=(0.9, 0.98))
    steps, warmup = settings["steps"], max(1, settings["steps"] // 20)
    history, started = [], time.perf_counter()
    for step in range(steps):
        batch = rng.integers(len(problems), size=settings["batch_size"])
        texts = [problems[i].prompt + (world.noisy_completion(problems[i], rng) if world
                                       else problems[i].completion()) for i in batch]
        input_ids, labels = encode_batch(texts, tokenizer)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, steps, settings["learning_rate"], warmup)
        input_ids, labels = input_ids.to(device), labels.to(device)
        loss = model(input_ids=input_ids, attention_mask=(labels != -100).long(), labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        history.append({"step": step + 1, "loss": loss.detach().item()})
        if (step + 1) % max(1, steps // 20) == 0 or step + 1 == steps:
            elapsed = time.perf_counter() - started
            log.info("step %d/%d loss %.4f  %.1f steps/s  ETA %.0fs", step + 1, steps, loss.detach().item(),
                     (step + 1) / elapsed, elapsed / (step + 1) * (steps - step - 1))
    model.to("cpu").eval()
    return model, tokenizer, pd.DataFrame(history)
