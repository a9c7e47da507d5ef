"""The six RL trainers on CUDA: a few steps each on a tiny model, checking (as the unit
tests do on CPU) that the advantages the loss got are what the estimator computes from the
logged rewards. Prints one JSON line per algorithm. Not part of the tests: CI has no GPU.

    python perf/rl_algorithms_gpu.py [--device cuda] [--steps 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))
import test_rl_algorithms as spec  # noqa: E402  (the unit tests' settings and estimator map)

from rlvr_boundary.training import rl  # noqa: E402
from rlvr_boundary.world.data import draw_problems, problems_frame  # noqa: E402
from rlvr_boundary.models.modeling import save_checkpoint  # noqa: E402
from rlvr_boundary.training.pretrain import pretrain  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rl-gpu-"))
    rng = np.random.default_rng(0)
    train = problems_frame(draw_problems(rng, [1, 2], 300, set(), "train"), "train")
    model, tokenizer, _ = pretrain(train, {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
                                           "num_attention_heads": 2},
                                   {"depths": [1, 2], "steps": 300, "batch_size": 64, "learning_rate": 3e-3},
                                   None, 64, seed=0, threads=1, device=args.device)
    save_checkpoint(model, tokenizer, work / "base")
    prompts = [p.prompt for p in draw_problems(np.random.default_rng(1), [1, 2], 8, set(), "rl")]
    ok = True
    for name, entry in spec.ALGORITHMS.items():
        captured, original = {}, rl.make_trainer

        def make(*a, **k):
            captured["trainer"] = original(*a, **k)
            return captured["trainer"]

        rl.make_trainer = make
        started = time.perf_counter()
        try:
            policy, _, history = rl.train_rl(work / "base", prompts,
                                             {**spec.SETTINGS, "steps": args.steps, **entry}, seed=3, threads=1,
                                             checkpoint_dir=work / name, checkpoint_steps=[], device=args.device)
            trainer = captured["trainer"]
            worst = 0.0
            for record in trainer.advantage_log:
                expected = spec._expected(name, record, trainer)
                worst = max(worst, (record["advantages"] - expected).abs().max().item())
            result = {"algorithm": name, "ok": worst < 1e-4 and len(history) == args.steps,
                      "max_abs_diff": worst, "device": str(next(policy.parameters()).device),
                      "rewards": [round(r, 3) for r in history.reward.tolist()]}
            if name == "ppo":
                result["critic_device"] = str(next(trainer.value_model.parameters()).device)
        except Exception as error:  # report and go on
            result = {"algorithm": name, "ok": False, "error": repr(error), "trace": traceback.format_exc()[-1500:]}
        finally:
            rl.make_trainer = original
        result["seconds"] = round(time.perf_counter() - started, 1)
        ok &= result["ok"]
        print(json.dumps(result), flush=True)
    print(json.dumps({"all_ok": ok, "torch": torch.__version__,
                      "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))


if __name__ == "__main__":
    main()
