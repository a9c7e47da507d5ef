"""Wall time of each RL algorithm relative to GRPO, measured in the same run.

    python perf/rl_algorithms.py [--model results/models/deep-base] [--steps 200] [--threads 1]
    python perf/rl_algorithms.py --save-base /tmp/base --pretrain-device cuda --algorithms  # base only

Without --model, a `deep`-family base (config.yaml's architecture) is pretrained first
(--pretrain-steps, default 1500 as in config.yaml). Each algorithm then trains from it with
config.yaml's rl settings (narrow regime: 64 prompts; 16 prompts x 8 generations per step;
trace reward) and the trainer defaults of rl.TRAINER_OPTIONS. Prints time, ratio to GRPO,
mean reward of the last 20% of steps, and the last logged extra metric where relevant.
With --threads 1 the process CPU time is the fairer number on a machine shared with other work.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from rlvr_boundary.world.data import make_splits
from rlvr_boundary.models.modeling import save_checkpoint
from rlvr_boundary.training.pretrain import pretrain
from rlvr_boundary.training.rl import TRAINER_OPTIONS, train_rl
from rlvr_boundary.world.task import World

RL = {"steps": 200, "prompts_per_step": 16, "generations_per_prompt": 8, "temperature": 1.0,
      "top_p": 1.0, "max_new_tokens": 32, "learning_rate": 3e-4, "beta": 0.0, "loss_type": "grpo",
      "scale_rewards": "group", "reward_metric": "trace"}
ALGORITHMS = {"grpo": {"trainer": "grpo"},
              "dapo": {"trainer": "dapo", "loss_type": "dapo"},
              "rloo": {"trainer": "rloo"},
              "reinforce_pp": {"trainer": "reinforce_pp"},
              "remax": {"trainer": "remax"},
              "ppo": {"trainer": "ppo"}}
EXTRA = {"ppo": "value/explained_variance", "dapo": "dynamic_sampling/kept_fraction",
         "remax": "remax/greedy_reward"}


def rl_splits() -> dict:
    """The narrow regime's 64 RL prompts and a 20,000-problem pretraining corpus."""
    return make_splits(0, {"medium": {"depths": [3, 4], "problems": 10}},
                       {"depths": [2, 3, 4], "problems": 64}, {"depths": [1, 2, 3, 4], "problems": 20000})


def pretrain_deep_base(splits: dict, steps: int, path: Path, threads: int = 1, device: str = "cpu") -> Path:
    """A `deep`-family base (config.yaml's architecture and pretraining settings) saved at ``path``."""
    world = World.generate(np.random.default_rng(1), 0.3, (0.9, 0.995), 0.1)
    model, tokenizer, _ = pretrain(splits["train"], {"hidden_size": 96, "intermediate_size": 384,
                                   "num_hidden_layers": 3, "num_attention_heads": 3},
                                   {"depths": [1, 2, 3, 4], "steps": steps, "batch_size": 128,
                                    "learning_rate": 0.001}, world, 64, 0, threads, device=device)
    save_checkpoint(model, tokenizer, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--pretrain-steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--algorithms", nargs="*", default=list(ALGORITHMS))
    parser.add_argument("--save-base", help="pretrain into this folder (kept) instead of a temp one")
    parser.add_argument("--pretrain-device", default="cpu")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    assert set(args.algorithms) <= set(TRAINER_OPTIONS)
    splits = rl_splits()
    prompts = splits["rl_prompts"].prompt.tolist()
    with tempfile.TemporaryDirectory() as tmp:
        model_path = args.model
        if model_path is None:
            started = time.perf_counter()
            model_path = pretrain_deep_base(splits, args.pretrain_steps, Path(args.save_base or Path(tmp) / "base"),
                                            args.threads, args.pretrain_device)
            print(f"pretrained a deep base ({args.pretrain_steps} steps) in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        results = {}
        for name in args.algorithms:
            started, cpu_started = time.perf_counter(), time.process_time()
            _, _, history = train_rl(model_path, prompts, {**RL, "steps": args.steps, **ALGORITHMS[name]},
                                     seed=0, threads=args.threads, checkpoint_dir=Path(tmp) / name,
                                     checkpoint_steps=[])
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            tail = history.tail(max(1, len(history) // 5))
            extra = EXTRA.get(name)
            note = f"{extra} {history[extra].iloc[-1]:.3f}" if extra in history else ""
            results[name] = (seconds, cpu)
            ratio = seconds / results["grpo"][0] if "grpo" in results else float("nan")
            cpu_ratio = cpu / results["grpo"][1] if "grpo" in results else float("nan")
            print(f"{name:13s} {seconds:7.1f} s wall (x{ratio:4.2f} GRPO)  {cpu:7.1f} s CPU (x{cpu_ratio:4.2f})  "
                  f"reward(last 20%) "
                  f"{tail.reward.mean():.3f}  length {tail.completion_length.mean():.1f}  {note}", flush=True)


if __name__ == "__main__":
    main()
