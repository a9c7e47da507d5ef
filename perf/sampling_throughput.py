"""Sampler throughput vs a plain per-problem ``model.generate`` loop, in the same run.

    python perf/sampling_throughput.py [--model results/models/deep-base] [--problems 100]

Without --model, a tiny base is pretrained for a few hundred steps first (~40 s), so
completions stop at eos as a trained model's do. The baseline runs the model as plain
transformers (nn.Linear, MKL); ours as the workflow loads it (linear layers through
oneDNN on AMD CPUs, rlvr_boundary.models.onednn). Prints sequences/s and generated tokens/s of both, the
ratio, and each one's share of a roofline: model FLOPs per token (2 x parameters) x
tokens/s over the fp32 matmul peak measured in the same run and threads (the faster of
MKL and oneDNN on a 1,024-square product).
"""

from __future__ import annotations

import argparse
import copy
import logging
import time

import numpy as np
import torch

from rlvr_boundary.models import onednn
from rlvr_boundary.world.data import make_splits
from rlvr_boundary.models.modeling import load_checkpoint
from rlvr_boundary.training.pretrain import pretrain
from rlvr_boundary.sampling.generate import sample_completions
from rlvr_boundary.world.task import World


def our_sampler(model, tokenizer, prompts, n, max_new_tokens) -> tuple[float, float]:
    """Sequences/s and generated tokens/s (eos included, as for the baseline) of ours."""
    started = time.perf_counter()
    samples = sample_completions(model, tokenizer, prompts, n, 1.0, 1.0, max_new_tokens, seed=0)
    elapsed = time.perf_counter() - started
    tokens = samples.completion_tokens.sum() + (samples.finish_reason == "stop").sum()
    return len(samples) / elapsed, tokens / elapsed


def generate_loop(model, tokenizer, prompts, n, max_new_tokens) -> tuple[float, float]:
    """Sequences/s and generated tokens/s (up to and including eos) of a per-problem loop."""
    started, sequences, tokens = time.perf_counter(), 0, 0
    with torch.inference_mode():
        for prompt in prompts:
            encoded = tokenizer([prompt], return_tensors="pt")
            out = model.generate(**encoded, do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                                 num_return_sequences=n, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id)
            new = out[:, encoded["input_ids"].shape[1]:]
            ended = (new == tokenizer.eos_token_id).int()
            # Tokens up to the first eos (inclusive), or all of them when none came.
            tokens += int(torch.where(ended.any(1), ended.argmax(1) + 1, new.shape[1]).sum())
            sequences += out.shape[0]
    elapsed = time.perf_counter() - started
    return sequences / elapsed, tokens / elapsed


def matmul_peak(threads: int, size: int = 1024, repeats: int = 20) -> float:
    """fp32 FLOP/s of a square product at this thread count, the faster of torch's
    default (MKL) and oneDNN: the roofline's compute peak."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    products = [lambda: a @ b] + ([lambda: onednn._product(a, b, None)] if onednn.available() else [])
    best = 0.0
    for product in products:
        product()  # warm-up
        started = time.perf_counter()
        for _ in range(repeats):
            product()
        best = max(best, 2 * size ** 3 * repeats / (time.perf_counter() - started))
    return best


def plain_transformers(model):
    """A copy of ``model`` as transformers builds it (nn.Linear layers)."""
    plain = copy.deepcopy(model)
    for module in plain.modules():
        if isinstance(module, onednn.OneDNNLinear):
            module.__class__ = torch.nn.Linear
    return plain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    splits = make_splits(0, {"medium": {"depths": [3, 4], "problems": args.problems}},
                         {"depths": [2], "problems": 1}, {"depths": [1, 2, 3, 4], "problems": 20000})
    if args.model:
        model, tokenizer = load_checkpoint(args.model)
    else:
        world = World.generate(np.random.default_rng(1), 0.3, (0.9, 0.995), 0.1)
        model, tokenizer, _ = pretrain(splits["train"], {"hidden_size": 96, "intermediate_size": 384,
                                       "num_hidden_layers": 3, "num_attention_heads": 3},
                                       {"depths": [1, 2, 3, 4], "steps": 300, "batch_size": 128,
                                        "learning_rate": 0.001}, world, 64, 0, args.threads)
    prompts = splits["benchmark_medium"].prompt.tolist()
    plain = plain_transformers(model)
    ours = baseline = (0.0, 0.0)
    for _ in range(args.repeats):  # interleaved; the best of each (the machine is noisy)
        ours = max(ours, our_sampler(model, tokenizer, prompts, args.n, 32))
        baseline = max(baseline, generate_loop(plain, tokenizer, prompts, args.n, 32))
    (ours, ours_tokens), (baseline, baseline_tokens) = ours, baseline
    samples = sample_completions(model, tokenizer, prompts, args.n, 1.0, 1.0, 32, seed=0)
    peak = matmul_peak(args.threads)
    flops_per_token = 2 * sum(p.numel() for p in model.parameters())
    print(onednn.describe_choice())
    print(f"{len(prompts)} problems x n={args.n}, {args.threads} thread(s), mean completion "
          f"{samples.completion_tokens.mean():.1f} tokens; {flops_per_token / 1e6:.1f} MFLOP/token, "
          f"matmul peak {peak / 1e9:.1f} GFLOP/s")
    for name, seqs, tokens in (("sample_completions", ours, ours_tokens),
                               ("generate loop", baseline, baseline_tokens)):
        print(f"{name:19}: {seqs:8.0f} seq/s {tokens:9.0f} tokens/s  "
              f"roofline {flops_per_token * tokens / peak:6.1%}")
    print(f"ratio              : {ours / baseline:8.2f}x seq/s, "
          f"{ours_tokens / baseline_tokens:.2f}x tokens/s")


if __name__ == "__main__":
    main()
