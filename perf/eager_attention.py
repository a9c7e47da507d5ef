"""Pretraining steps with transformers' eager attention (explicit matmul and softmax) vs
its default, SDPA (as the study runs them), same run. Measured, not adopted
(perf/README.md): kept to measure again on other CPUs.

    python perf/eager_attention.py [--steps 150] [--threads 1] [--repeats 2]

A deep base (batch 128; sequences under 64 tokens) pretrained for ``--steps`` steps with
each attention implementation, interleaved, best of ``--repeats``, CPU seconds; the last
losses differ by float rounding (eager and SDPA add up in other orders).
"""

from __future__ import annotations

import argparse
from unittest import mock

import torch
from onednn_linear import best_of_interleaved, deep_pretraining

from rlvr_boundary.models import modeling
from rlvr_boundary.models import onednn
from rlvr_boundary.training import pretrain


def _eager(architecture: dict, max_positions: int):
    model, tokenizer = modeling.build_model(architecture, max_positions)
    model.set_attn_implementation("eager")
    return model, tokenizer


def _run(steps: int, threads: int, eager: bool) -> tuple[float, float]:
    with mock.patch.object(pretrain, "build_model", _eager if eager else modeling.build_model):
        return deep_pretraining(steps, threads)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"torch {torch.__version__}; {onednn.describe_choice()}")
    results = best_of_interleaved({
        "sdpa (default)": lambda: _run(args.steps, args.threads, False),
        "eager": lambda: _run(args.steps, args.threads, True)}, args.repeats)
    print(f"{args.steps} pretraining steps of a deep base (batch 128), {args.threads} thread(s), "
          f"CPU s, best of {args.repeats}")
    for name, (seconds, loss) in results.items():
        print(f"{name:15s}: {seconds:7.2f} s, last loss {loss:.6f}")
    ratio = results["sdpa (default)"][0] / results["eager"][0]
    print(f"ratio (sdpa / eager): {ratio:.2f}x")


if __name__ == "__main__":
    main()
