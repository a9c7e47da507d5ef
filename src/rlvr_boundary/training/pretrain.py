"""Pretraining a tiny model from scratch on the world's chain-of-thought corpus.

A plain PyTorch loop (the model is ~1M parameters; a Trainer would only add overhead):
each step draws problems from the training split and writes a trace for each - noisy
traces from the :class:`~rlvr_boundary.world.task.World` for a base model, clean ones for the
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

from ..models.allocator import retain_freed_memory
from ..models.modeling import build_model, set_determinism
from ..world.task import World, parse_prompt

log = logging.getLogger(__name__)
LENGTH_GROUPS = 2  # perf/pretrain_batches.py: 2 and 4 parts ~1.1x the whole batch


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


def length_groups(texts: list[str], groups: int) -> list[list[int]]:
    """Row indices in ``groups`` parts of similar length (sorted by length, then cut)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [part.tolist() for part in np.array_split(np.array(order), groups) if len(part)]


def batch_loss_backward(model, tokenizer, texts: list[str], device: str) -> float:
    """The batch's mean next-token loss, its gradient accumulated into the parameters.

    The batch goes through in LENGTH_GROUPS parts of similar length, each padded only to its
    own longest row: a depth-1 row is 12 tokens, a depth-4 row 30, and padding every row to
    the batch's longest spent ~30% of the compute on padding. Each part's summed loss is divided
    by the whole batch's number of predicted tokens, so the parts add up to the batch mean
    and its gradient (equal up to float rounding)."""
    predicted = sum(len(text) + 1 for text in texts)  # each character and eos; bos is given
    total = 0.0
    for group in length_groups(texts, LENGTH_GROUPS):
        input_ids, labels = encode_batch([texts[i] for i in group], tokenizer)
        input_ids, labels = input_ids.to(device), labels.to(device)
        loss = model(input_ids=input_ids, attention_mask=(labels != -100).long(), labels=labels,
                     num_items_in_batch=predicted).loss
        loss.backward()
        total += loss.detach().item()
    return total


def learning_rate_at(step: int, steps: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _problems_of(train: pd.DataFrame, depths: list[int]) -> list:
    problems = [parse_prompt(p) for p in train.loc[train.depth.isin(depths), "prompt"]]
    if not problems:
        raise ValueError(f"no training problems of depths {depths}")
    return problems


def draw_batch(rng: np.random.Generator, problems: list, size: int, rare_problems: list,
               rare_share: float) -> list:
    """``size`` problems drawn with replacement; with a rare share, each is replaced by one
    of ``rare_problems`` with that probability (without one, the stream is unchanged)."""
    batch = [problems[i] for i in rng.integers(len(problems), size=size)]
    if rare_share:
        deeper = rng.random(size) < rare_share
        picks = rng.integers(len(rare_problems), size=size)
        batch = [rare_problems[j] if d else p for p, d, j in zip(batch, deeper, picks)]
    return batch


def pretrain(train: pd.DataFrame, architecture: dict, settings: dict, world: World | None,
             max_positions: int, seed: int, threads: int, device: str = "cpu"):
    """Train and return ``(model, tokenizer, history)``; ``world=None`` means clean traces."""
    set_determinism(seed, threads)
    retain_freed_memory()  # every step reallocates its activations: ~1.25x per step
    rng = np.random.default_rng(seed)
    problems = _problems_of(train, settings["depths"])
    # A small share of deeper chains (`rare_depths`): the analog of hard problems being rare,
    # not absent, in a real pretraining corpus, so a base can sometimes solve them.
    rare = settings.get("rare_depths")
    rare_problems = _problems_of(train, rare["depths"]) if rare else []
    model, tokenizer = build_model(architecture, max_positions)
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["learning_rate"],
                                  weight_decay=0.01, betas=(0.9, 0.98))
    steps, warmup = settings["steps"], max(1, settings["steps"] // 20)
    history, started = [], time.perf_counter()
    for step in range(steps):
        batch = draw_batch(rng, problems, settings["batch_size"], rare_problems,
                           rare["share"] if rare else 0.0)
        texts = [p.prompt + (world.noisy_completion(p, rng) if world else p.completion())
                 for p in batch]
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, steps, settings["learning_rate"], warmup)
        optimizer.zero_grad(set_to_none=True)
        loss = batch_loss_backward(model, tokenizer, texts, device)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        history.append({"step": step + 1, "loss": loss})
        if (step + 1) % max(1, steps // 20) == 0 or step + 1 == steps:
            elapsed = time.perf_counter() - started
            log.info("step %d/%d loss %.4f  %.1f steps/s  ETA %.0fs", step + 1, steps, loss,
                     (step + 1) / elapsed, elapsed / (step + 1) * (steps - step - 1))
    model.to("cpu").eval()
    return model, tokenizer, pd.DataFrame(history)
