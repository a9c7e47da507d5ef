"""Pretraining steps as the study runs them vs the whole batch padded to its longest row with
glibc's default allocator, same run.

    python perf/pretrain_batches.py [--steps 200] [--threads 1] [--repeats 2] [--groups 2 4]

``rlvr_boundary.training.pretrain`` pads each of ``LENGTH_GROUPS`` parts of a batch only to its own
longest row and keeps freed memory in the process (``allocator.retain_freed_memory``: every
step reallocates its activations). Variants: parts in {1 (the whole batch), ``--groups``}
x allocator {glibc default, freed memory kept}; the baseline is the whole batch with the
default allocator. A deep base (batch 128, depths 1-4) is pretrained ``--steps`` steps in
each, every run in a fresh process (the allocator setting is process-wide), interleaved,
best of ``--repeats``; prints CPU ms per step, the ratio to the baseline and the last loss
(the same batches: the allocator leaves the bits alone, the parts change them by rounding).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import multiprocessing

import torch
from onednn_linear import best_of_interleaved, deep_pretraining

from rlvr_boundary.training import pretrain


def _run(groups: int, retain: bool, steps: int, threads: int) -> tuple[float, float]:
    pretrain.LENGTH_GROUPS = groups
    if not retain:
        pretrain.retain_freed_memory = lambda: False
    torch.set_num_threads(threads)
    return deep_pretraining(steps, threads)


def _in_fresh_process(*args) -> tuple[float, float]:
    """The allocator setting is process-wide and cannot be undone: one process per run."""
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(_run, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--groups", type=int, nargs="*", default=[2, 4])
    args = parser.parse_args()
    variants = [(groups, retain) for groups in [1, *args.groups] for retain in (False, True)]
    results = best_of_interleaved(
        {v: functools.partial(_in_fresh_process, *v, args.steps, args.threads) for v in variants},
        args.repeats)
    print(f"pretraining {args.steps} steps of a deep base (batch 128), {args.threads} thread(s), "
          f"best of {args.repeats}, each run in a fresh process; the study uses "
          f"LENGTH_GROUPS = {pretrain.LENGTH_GROUPS} with freed memory kept")
    baseline = results[(1, False)][0]
    for (groups, retain), (seconds, loss) in results.items():
        parts = "whole batch" if groups == 1 else f"{groups} parts of similar length"
        memory = "freed memory kept" if retain else "glibc default"
        print(f"{parts:28s} {memory:18s}: {seconds / args.steps * 1000:6.1f} CPU ms/step  "
              f"{baseline / seconds:5.2f}x  last loss {loss:.6f}")


if __name__ == "__main__":
    main()
