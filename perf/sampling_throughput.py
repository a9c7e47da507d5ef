"""Sampler throughput vs a plain per-problem ``model.generate`` loop, in the same run.

    python perf/sampling_throughput.py [--model results/models/deep-base] [--problems 100]

Without --model, a tiny base is pretrained for a few hundred steps first (~40 s), so
completions stop at eos as a trained model's do. Prints sequences/s of both and the ratio.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import torch

from rlvr_boundary.data import make_splits
from rlvr_boundary.modeling import load_checkpoint
from rlvr_boundary.pretrain import pretrain
from rlvr_boundary.sampling import sample_completions
from rlvr_boundary.task import World


def generate_loop(model, tokenizer, prompts, n, max_new_tokens) -> float:
    started, sequences = time.perf_counter(), 0
    with torch.inference_mode():
        for prompt in prompts:
            encoded = tokenizer([prompt], return_tensors="pt")
            out = model.generate(**encoded, do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                                 num_return_sequences=n, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id)
            sequences += out.shape[0]
    return sequences / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
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
    started = time.perf_counter()
    samples = sample_completions(model, tokenizer, prompts, args.n, 1.0, 1.0, 32, seed=0)
    ours = len(samples) / (time.perf_counter() - started)
    baseline = generate_loop(model, tokenizer, prompts, args.n, 32)
    print(f"{len(prompts)} problems x n={args.n}, {args.threads} thread(s), mean completion "
          f"{samples.completion_tokens.mean():.1f} tokens")
    print(f"sample_completions : {ours:8.0f} seq/s")
    print(f"generate loop      : {baseline:8.0f} seq/s")
    print(f"ratio              : {ours / baseline:8.2f}x")


if __name__ == "__main__":
    main()
