"""Pretraining with the batch in parts of similar length vs the whole batch padded to its
longest row, same run.

    python perf/pretrain_batches.py [--steps 60] [--threads 1] [--repeats 2] [--groups 2 3 4]

``rlvr_boundary.pretrain.batch_loss_backward`` pads each of ``LENGTH_GROUPS`` parts only to
its own longest row; the baseline is one part (the whole batch). A deep base (batch 128,
depths 1-4) is pretrained ``--steps`` steps with each setting, interleaved, best of
``--repeats``; prints CPU seconds, the ratio to the baseline and the last loss (the same
batches, so the losses agree to float rounding).
"""

from __future__ import annotations

import argparse
from unittest import mock

import torch
from onednn_linear import best_of_interleaved, deep_pretraining

from rlvr_boundary import pretrain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--groups", type=int, nargs="*", default=[2, 3, 4])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    variants = {groups: (lambda g=groups: mock.patch.object(pretrain, "LENGTH_GROUPS", g))
                for groups in [1, *args.groups]}
    results = best_of_interleaved(variants, args.repeats,
                                  lambda: deep_pretraining(args.steps, args.threads))
    whole, whole_loss = results[1]
    print(f"pretraining {args.steps} steps of a deep base (batch 128), {args.threads} thread(s), "
          f"best of {args.repeats}, default LENGTH_GROUPS = {pretrain.LENGTH_GROUPS}")
    for groups, (seconds, loss) in results.items():
        label = "whole batch (baseline)" if groups == 1 else f"{groups} parts of similar length"
        print(f"{label:28s}: {seconds:6.2f} CPU s  {whole / seconds:5.2f}x  last loss {loss:.6f}"
              f" (baseline {whole_loss:.6f})")


if __name__ == "__main__":
    main()
