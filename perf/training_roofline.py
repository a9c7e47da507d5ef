"""How close training runs to this CPU's fp32 matmul peak, measured in the same run.

    python perf/training_roofline.py [--model results/models/deep-base] [--pretrain-steps 60]
                                     [--rl-steps 60] [--profile-steps 10] [--threads 1]

Two workloads as the default study runs them, 1 thread: pretraining a `deep` base (batch
128, perf/onednn_linear.py) and GRPO from a deep base (perf/rl_algorithms.py's settings:
16 prompts x 8 generations, rollouts included). Each is timed plain (CPU seconds); then,
after every plain run (a profiled run left later runs in the process ~2x slower), for
--profile-steps steps under torch's profiler (60 GRPO steps took over 20 GB), which counts
the FLOPs of its matrix products per step (mm, addmm, bmm, and oneDNN's linears on AMD
CPUs: forward, backward, rollouts; attention inside SDPA is not counted) and records their
shapes. The products are replayed alone, each shape as often as it ran (contiguous
operands), for the time they need with today's kernels. The baseline is the fp32 matmul
peak measured in the same run (perf/sampling_throughput.py: the faster of MKL and oneDNN;
the best of 256-, 512- and 1,024-square products).

Prints per workload: CPU ms per step; the products' FLOPs, the replayed products' time as a
share of the step and their rate against the peak; the whole step's rate against the peak;
and the floor - the products' FLOPs at the peak, everything else free - as measured/floor.
The floor bounds what any faster fp32 code could win without changing the work (fewer
steps, samples or parameters). The replay uses contiguous operands, while the backward
hands MKL transposed views, so it understates the products' share in place (a plain
profile of GRPO puts ~40% of the op time in them); GRPO's time includes the trainer's
set-up.

Without --model (needed for GRPO) a deep base is pretrained first (--base-steps, ~5 min).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import torch
from onednn_linear import deep_pretraining
from rl_algorithms import ALGORITHMS, RL, pretrain_deep_base, rl_splits
from sampling_throughput import matmul_peak
from torch.profiler import ProfilerActivity, profile

from rlvr_boundary.models import onednn
from rlvr_boundary.training.rl import train_rl

# On AMD CPUs the models' linears run in oneDNN (rlvr_boundary.models.onednn), whose op the
# profiler records without FLOPs: those are counted from the shapes, x (M, K) @ w (N, K)^T.
ONEDNN = "mkldnn::_linear_pointwise"
REPLAY = {"aten::mm": (torch.mm, 2), "aten::bmm": (torch.bmm, 2), "aten::addmm": (torch.addmm, 3),
          ONEDNN: (onednn._product, 3)}
PRODUCTS = set(REPLAY)


def _flops(event) -> float:
    if event.key != ONEDNN:
        return event.flops
    (rows, inner), (outputs, _) = event.input_shapes[:2]
    return 2.0 * rows * inner * outputs * event.count


def product_shapes(run) -> tuple[float, list[tuple[str, list, int]]]:
    """(FLOPs of the products, [(op, input shapes, calls)]) of one profiled ``run()``."""
    with profile(activities=[ProfilerActivity.CPU], with_flops=True, record_shapes=True) as prof:
        run()
    events = [e for e in prof.key_averages(group_by_input_shape=True) if e.key in PRODUCTS]
    shapes = [(e.key, e.input_shapes[:3] if e.key == ONEDNN else e.input_shapes, e.count)
              for e in events]
    return sum(_flops(e) for e in events), shapes


def replay_seconds(shapes: list[tuple[str, list, int]], repeats: int = 3) -> tuple[float, int]:
    """(CPU seconds the products need alone, calls not replayed): each shape timed, best of
    ``repeats``, times its calls. Calls with an ``out=`` tensor (one shape more) are skipped."""
    total, skipped = 0.0, 0
    for op, inputs, calls in shapes:
        product, arity = REPLAY[op]
        if len(inputs) != arity:
            skipped += calls
            continue
        tensors = [torch.randn(shape) if shape else None for shape in inputs]
        product(*tensors)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            started = time.process_time()
            product(*tensors)
            best = min(best, time.process_time() - started)
        total += best * calls
    return total, skipped


def cpu_seconds(run) -> float:
    started = time.process_time()
    run()
    return time.process_time() - started


def grpo_run(model_path: Path, prompts: list[str], threads: int, out: Path):
    def run(steps: int) -> None:
        train_rl(str(model_path), prompts, {**RL, "steps": steps, **ALGORITHMS["grpo"]}, seed=0,
                 threads=threads, checkpoint_dir=out, checkpoint_steps=[])
    return run


def report(name: str, seconds_per_step: float, flops_per_step: float, products_per_step: float,
           skipped: int, peak: float) -> None:
    """One workload's line; every quantity per step."""
    floor = flops_per_step / peak
    rate = flops_per_step / products_per_step
    print(f"{name}: {seconds_per_step * 1e3:.0f} CPU ms/step; products {flops_per_step / 1e9:.1f} "
          f"GFLOP/step, alone {products_per_step / seconds_per_step:.0%} of the step at "
          f"{rate / 1e9:.0f} GFLOP/s ({rate / peak:.0%} of the peak); whole step "
          f"{flops_per_step / seconds_per_step / 1e9:.0f} GFLOP/s "
          f"({flops_per_step / seconds_per_step / peak:.0%} of the peak); measured/floor "
          f"{seconds_per_step / floor:.1f}x"
          + (f" ({skipped} product calls not replayed)" if skipped else ""), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="a deep base for GRPO (default: pretrain one)")
    parser.add_argument("--base-steps", type=int, default=1500)
    parser.add_argument("--pretrain-steps", type=int, default=60)
    parser.add_argument("--rl-steps", type=int, default=60)
    parser.add_argument("--profile-steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    splits = rl_splits()
    prompts = splits["rl_prompts"].prompt.tolist()
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(args.model) if args.model else pretrain_deep_base(
            splits, args.base_steps, Path(tmp) / "base", args.threads)
        workloads = {  # name: (timed steps, run(steps))
            "pretraining (deep, batch 128)": (
                args.pretrain_steps, lambda steps: deep_pretraining(steps, args.threads)),
            "GRPO (deep, 16 x 8 rollouts of up to 32 tokens; trainer set-up included)": (
                args.rl_steps, grpo_run(model_path, prompts, args.threads, Path(tmp) / "rl")),
        }
        seconds = {name: cpu_seconds(lambda: run(steps)) / steps
                   for name, (steps, run) in workloads.items()}
        profiled = {name: product_shapes(lambda: run(args.profile_steps))
                    for name, (_, run) in workloads.items()}
    torch.set_num_threads(args.threads)
    # Small products that fit in L2 can beat the 1,024 square: the best of three sizes.
    peak = max(matmul_peak(args.threads, size) for size in (256, 512, 1024))
    print(f"fp32 matmul peak at {args.threads} thread(s): {peak / 1e9:.1f} GFLOP/s; "
          f"products counted over {args.profile_steps} profiled steps", flush=True)
    for name, (flops, shapes) in profiled.items():
        products, skipped = replay_seconds(shapes)
        report(name, seconds[name], flops / args.profile_steps, products / args.profile_steps,
               skipped, peak)


if __name__ == "__main__":
    main()
