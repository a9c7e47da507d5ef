"""RL training with rollouts through our sampler vs TRL's ``model.generate``, same run.

    python perf/rl_rollouts.py [--model /tmp/base] [--steps 60] [--repeats 2] [--algorithms grpo remax]

The trainers of ``rlvr_boundary.training.rl_algorithms`` roll out on CPU through
``sampling.complete_token_ids`` (SamplerRolloutMixin); the baseline is the same trainer
with ``use_sampler_rollouts = False``, i.e. TRL's ``generate`` path. Both train from the same
base with config.yaml's RL settings (perf/rl_algorithms.py's RL), interleaved, best of
``--repeats``, each run in a fresh process. Prints wall and process CPU seconds, the ratio,
and the mean reward of the last 20% of steps (the random draws differ, so rewards agree
only statistically).
Without --model a deep base is pretrained first (--pretrain-steps).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import multiprocessing
import tempfile
import time
from pathlib import Path

from rl_algorithms import ALGORITHMS, RL, pretrain_deep_base, rl_splits

from rlvr_boundary.training.rl import train_rl
from rlvr_boundary.training.rl_algorithms import SamplerRolloutMixin


def _train(model_path, prompts, name: str, steps: int, sampler: bool, out: Path) -> tuple[float, float, float]:
    """One run in a fresh process: the sampler's allocator setting (allocator.py) is
    process-wide and cannot be undone, so the baseline must not inherit it."""
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(_train_here, model_path, prompts, name, steps, sampler, out).result()


def _train_here(model_path, prompts, name: str, steps: int, sampler: bool, out: Path) -> tuple[float, float, float]:
    SamplerRolloutMixin.use_sampler_rollouts = sampler
    started, cpu_started = time.perf_counter(), time.process_time()
    _, _, history = train_rl(model_path, prompts, {**RL, "steps": steps, **ALGORITHMS[name]}, seed=0,
                             threads=1, checkpoint_dir=out, checkpoint_steps=[])
    tail = history.tail(max(1, len(history) // 5))
    return time.perf_counter() - started, time.process_time() - cpu_started, float(tail.reward.mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--pretrain-steps", type=int, default=1500)
    parser.add_argument("--algorithms", nargs="*", default=["grpo", "remax"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    splits = rl_splits()
    prompts = splits["rl_prompts"].prompt.tolist()
    with tempfile.TemporaryDirectory() as tmp:
        model_path = args.model or pretrain_deep_base(splits, args.pretrain_steps, Path(tmp) / "base")
        print(f"{args.steps} steps x {RL['prompts_per_step']} prompts x {RL['generations_per_prompt']} "
              f"generations, 1 thread, best of {args.repeats}", flush=True)
        for name in args.algorithms:
            best = {}
            for repeat in range(args.repeats):
                for sampler in (False, True):
                    result = _train(model_path, prompts, name, args.steps, sampler,
                                    Path(tmp) / f"{name}-{sampler}-{repeat}")
                    if sampler not in best or result[0] < best[sampler][0]:
                        best[sampler] = result
            (gen_s, gen_cpu, gen_reward), (ours_s, ours_cpu, ours_reward) = best[False], best[True]
            print(f"{name:13s} generate {gen_s:6.1f} s ({gen_cpu:6.1f} CPU, reward {gen_reward:.3f})  "
                  f"sampler {ours_s:6.1f} s ({ours_cpu:6.1f} CPU, reward {ours_reward:.3f})  "
                  f"ratio {gen_s / ours_s:4.2f}x wall, {gen_cpu / ours_cpu:4.2f}x CPU", flush=True)


if __name__ == "__main__":
    main()
