"""Pretraining steps through torch.compile vs eager (as the study runs them), same run.
Measured, not adopted (perf/README.md): kept to measure again on other CPUs.

    python perf/compiled_pretraining.py [--steps 60 300] [--threads 1] [--repeats 2]

The compiled runs wrap the model's forward in ``torch.compile(dynamic=True)`` (the batch
parts differ in rows and length every step; one graph, no recompiles were seen). Inductor
cannot lower oneDNN's linear op, so both arms keep plain linear layers whatever the CPU.
A deep base (batch 128) is pretrained for each step count, eager and compiled, each run in
a fresh process (dynamo's caches live in the process, as in a study job), interleaved, best
of ``--repeats``. Inductor's on-disk cache starts empty in a temporary directory: one
compiled run of the shorter step count first pays the cold compile (as a study's first
pretraining job of an architecture does) and is reported apart; the measured compiled runs
find the cache warm, as the study's other jobs do. From the two step
counts: wall seconds per step and the fixed cost of a run (process start-up excluded;
compiling, for the compiled runs), the ratio for the study's 1,500 steps, and the last
losses (compiled kernels round differently). Wall time, not CPU time: inductor compiles in
worker processes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import tempfile
import time
from unittest import mock

import torch
from onednn_linear import deep_pretraining

from rlvr_boundary.models import modeling
from rlvr_boundary.models import onednn
from rlvr_boundary.training import pretrain

STUDY_STEPS = 1500  # config.yaml: families' pretrain steps


def _compiled(architecture: dict, max_positions: int):
    model, tokenizer = modeling.build_model(architecture, max_positions)
    model.forward = torch.compile(model.forward, dynamic=True)
    return model, tokenizer


def _run(steps: int, threads: int, compiled: bool) -> tuple[float, float]:
    started = time.perf_counter()
    with mock.patch.object(onednn, "preferred", lambda: False), \
            mock.patch.object(pretrain, "build_model", _compiled if compiled else modeling.build_model):
        _, loss = deep_pretraining(steps, threads)
    return time.perf_counter() - started, loss


def _in_fresh_process(steps: int, threads: int, compiled: bool, cache: str) -> tuple[float, float]:
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # inherited by the spawned process
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(_run, steps, threads, compiled).result()


def _per_step_and_fixed(times: dict[int, float]) -> tuple[float, float]:
    (short, t_short), (long, t_long) = sorted(times.items())
    per_step = (t_long - t_short) / (long - short)
    return per_step, t_short - per_step * short


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, nargs=2, default=[60, 300])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"torch {torch.__version__}; {onednn.describe_choice()} (both arms here: no)")
    best: dict[tuple[bool, int], tuple[float, float]] = {}
    short = min(args.steps)
    with tempfile.TemporaryDirectory() as cache:
        cold, _ = _in_fresh_process(short, args.threads, True, cache)
        for _ in range(args.repeats):
            for steps in args.steps:
                for compiled in (False, True):
                    seconds, loss = _in_fresh_process(steps, args.threads, compiled, cache)
                    if seconds < best.get((compiled, steps), (float("inf"),))[0]:
                        best[compiled, steps] = (seconds, loss)
    eager_step, eager_fixed = _per_step_and_fixed({s: best[False, s][0] for s in args.steps})
    comp_step, comp_fixed = _per_step_and_fixed({s: best[True, s][0] for s in args.steps})
    cold_fixed = cold - comp_step * short
    print(f"pretraining a deep base (batch 128), {args.threads} thread(s), wall s, best of "
          f"{args.repeats}, each run in a fresh process")
    for steps in args.steps:
        (eager, eager_loss), (comp, comp_loss) = best[False, steps], best[True, steps]
        print(f"{steps:5d} steps: eager {eager:7.2f} (last loss {eager_loss:.6f})  compiled "
              f"{comp:7.2f} (last loss {comp_loss:.6f})  {eager / comp:.2f}x")
    print(f"{short:5d} steps compiled with inductor's cache cold (the first run): {cold:.2f}")
    print(f"per step: eager {eager_step * 1000:.1f} ms, compiled {comp_step * 1000:.1f} ms "
          f"({eager_step / comp_step:.2f}x); fixed cost of a run: eager {eager_fixed:.1f} s, "
          f"compiled {comp_fixed:.1f} s warm cache, {cold_fixed:.1f} s cold")
    study_eager = eager_fixed + eager_step * STUDY_STEPS
    study_comp = comp_fixed + comp_step * STUDY_STEPS
    print(f"the study's {STUDY_STEPS} steps (estimated from these): eager {study_eager:.0f} s, "
          f"compiled {study_comp:.0f} s warm / {cold_fixed + comp_step * STUDY_STEPS:.0f} s cold "
          f"({study_eager / study_comp:.2f}x warm)")


if __name__ == "__main__":
    main()
