"""oneDNN vs torch's default (MKL) fp32 linear products on this CPU, in the same run.

    python perf/onednn_linear.py [--threads 1] [--pretrain-steps 60]

1. Products of the tiny models' layer shapes at several row counts: F.linear (MKL) vs
   oneDNN, the weight gradient's product (T x out)^T (T x in) in each (oneDNN: ours,
   onednn.weight_gradient; the transposed views in the formula's order, and copies of them,
   for comparison; all three must give the same bits), and whether oneDNN's output
   equals MKL's bit for bit.
2. Pretraining steps of a `deep` base with plain nn.Linear vs rlvr_boundary.models.onednn's
   linears (forward, input and weight gradients in oneDNN): CPU seconds, ratio, last loss.
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F

from rlvr_boundary.models import onednn
from rlvr_boundary.training import pretrain
from rlvr_boundary.world.data import make_splits
from rlvr_boundary.world.task import World

SHAPES = [(96, 96), (96, 384), (384, 96)]  # (in, out) of the deep family's layers
ROWS = [1, 16, 32, 64, 128, 2048, 7680]


def best_us(fn, budget_s: float = 0.3) -> float:
    fn()
    times, started = [], time.perf_counter()
    while time.perf_counter() - started < budget_s or len(times) < 5:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1e6


def products() -> None:
    print(f"{'in->out':>8} {'rows':>5} {'MKL us':>8} {'oneDNN us':>10} {'ratio':>6}  bit-equal  "
          f"{'weight grad MKL us':>18} {'oneDNN us':>10} {'views as given us':>17} "
          f"{'copied first us':>15} same bits")
    for inputs, outputs in SHAPES:
        weight = torch.randn(outputs, inputs)
        for rows in ROWS:
            x, grad = torch.randn(rows, inputs), torch.randn(rows, outputs)
            mkl = best_us(lambda: F.linear(x, weight))
            dnn = best_us(lambda: onednn._product(x, weight, None))
            equal = torch.equal(F.linear(x, weight), onednn._product(x, weight, None))
            grad_mkl = best_us(lambda: grad.t() @ x)
            # ours: the transposed views, the narrower one first (onednn.weight_gradient);
            # for comparison: in the order of the formula, or copied first
            grad_dnn = best_us(lambda: onednn.weight_gradient(grad, x))
            grad_views = best_us(lambda: onednn._product(grad.t(), x.t(), None))
            grad_copied = best_us(lambda: onednn._product(grad.t().contiguous(), x.t().contiguous(), None))
            reference = onednn._product(grad.t().contiguous(), x.t().contiguous(), None)
            same = (torch.equal(onednn.weight_gradient(grad, x), reference)
                    and torch.equal(onednn._product(grad.t(), x.t(), None), reference))
            print(f"{inputs:>3}->{outputs:<4} {rows:>5} {mkl:8.1f} {dnn:10.1f} {mkl / dnn:6.2f}  "
                  f"{str(equal):9} {grad_mkl:18.1f} {grad_dnn:10.1f} {grad_views:17.1f} "
                  f"{grad_copied:15.1f} {same}")


def deep_pretraining(steps: int, threads: int) -> tuple[float, float]:
    """(CPU seconds, last loss) of ``steps`` pretraining steps of a deep base, batch 128."""
    splits = make_splits(0, {"medium": {"depths": [3, 4], "problems": 10}},
                         {"depths": [2], "problems": 1}, {"depths": [1, 2, 3, 4], "problems": 20000})
    world = World.generate(np.random.default_rng(1), 0.3, (0.9, 0.995), 0.1)
    architecture = {"hidden_size": 96, "intermediate_size": 384, "num_hidden_layers": 3,
                    "num_attention_heads": 3}
    settings = {"depths": [1, 2, 3, 4], "steps": steps, "batch_size": 128, "learning_rate": 0.001}
    started = time.process_time()
    _, _, history = pretrain.pretrain(splits["train"], architecture, settings, world, 64, 0, threads)
    return time.process_time() - started, float(history.loss.iloc[-1])


def best_of_interleaved(runs: dict, repeats: int) -> dict:
    """{name: (best seconds, last loss)}: each run (a callable returning seconds and loss) in
    turn, ``repeats`` rounds."""
    results: dict = {}
    for _ in range(repeats):
        for name, run in runs.items():
            seconds, loss = run()
            results[name] = (min(seconds, results.get(name, (np.inf,))[0]), loss)
    return results


def pretraining(steps: int, threads: int) -> None:
    def with_onednn(wanted: bool):
        with mock.patch.object(onednn, "preferred", lambda: wanted):
            return deep_pretraining(steps, threads)

    results = best_of_interleaved(
        {"nn.Linear (MKL)": lambda: with_onednn(False), "oneDNN": lambda: with_onednn(True)}, 2)
    (mkl, mkl_loss), (dnn, dnn_loss) = results["nn.Linear (MKL)"], results["oneDNN"]
    print(f"pretraining {steps} steps (batch 128, deep family), best of 2, CPU s: "
          f"MKL {mkl:.2f} (last loss {mkl_loss:.6f}), oneDNN {dnn:.2f} (last loss {dnn_loss:.6f}): "
          f"{mkl / dnn:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pretrain-steps", type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), oneDNN available: {onednn.available()}; "
          f"{onednn.describe_choice()}")
    products()
    pretraining(args.pretrain_steps, args.threads)


if __name__ == "__main__":
    main()
