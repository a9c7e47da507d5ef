"""The CUDA paths of training and sampling on tiny models, in one short run.

Runs what the workflow's rules run with device="cuda": pretraining, sampling (with a
CPU-vs-GPU greedy comparison), GRPO with TRL and SFT with TRL, each as a separate stage
so one failure does not hide the others. Prints one JSON summary (and writes it to
--out). Not part of the tests: CI has no GPU.

    python perf/gpu_check.py --out gpu_check.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from rlvr_boundary.world.data import make_splits
from rlvr_boundary.grading.counting import grade_samples
from rlvr_boundary.models.modeling import load_checkpoint, save_checkpoint
from rlvr_boundary.training.pretrain import pretrain
from rlvr_boundary.sampling.generate import greedy_completions, sample_completions
from rlvr_boundary.world.task import World

ARCHITECTURE = {"hidden_size": 128, "intermediate_size": 512, "num_hidden_layers": 2,
                "num_attention_heads": 4}


def stage(summary: dict, name: str, function) -> None:
    started = time.perf_counter()
    try:
        summary[name] = {"ok": True, **function()}
    except Exception as error:  # report and go on to the next stage
        summary[name] = {"ok": False, "error": repr(error), "trace": traceback.format_exc()[-2000:]}
    summary[name]["seconds"] = round(time.perf_counter() - started, 2)
    print(name, json.dumps(summary[name])[:600], flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="gpu_check.json")
    parser.add_argument("--pretrain-steps", type=int, default=1500)
    parser.add_argument("--device", default="cuda", help="cpu for a smoke test of this script")
    args = parser.parse_args()
    summary = {"torch": torch.__version__, "cuda": torch.cuda.is_available(),
               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    splits = make_splits(0, {"medium": {"depths": [3, 4], "problems": 100}},
                         {"depths": [2, 3, 4], "problems": 256},
                         {"depths": [1, 2, 3, 4, 5, 6], "problems": 20000})
    world = World.generate(np.random.default_rng(1), 0.3, (0.9, 0.995), 0.1)
    base = work / "base"
    benchmark = splits["benchmark_medium"]

    def run_pretrain():
        model, tokenizer, history = pretrain(
            splits["train"], ARCHITECTURE, {"depths": [1, 2, 3, 4], "steps": args.pretrain_steps,
                                            "batch_size": 128, "learning_rate": 0.003},
            world, 64, seed=0, threads=4, device=args.device)
        save_checkpoint(model, tokenizer, base)
        return {"steps": args.pretrain_steps, "final_loss": float(history.loss.tail(20).mean())}

    def run_sampling():
        gpu_model, tokenizer = load_checkpoint(base, args.device)
        cpu_model, _ = load_checkpoint(base, "cpu")
        prompts = benchmark.prompt.tolist()
        same = (greedy_completions(gpu_model, tokenizer, prompts, 32).completion.tolist()
                == greedy_completions(cpu_model, tokenizer, prompts, 32).completion.tolist())
        if args.device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        samples = sample_completions(gpu_model, tokenizer, prompts, 256, 1.0, 1.0, 32, seed=0,
                                     batch_size=8192)
        if args.device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        samples.insert(0, "problem_id", benchmark.problem_id.to_numpy()[samples.pop("prompt_index")])
        scored = grade_samples(samples, benchmark, "trace")
        return {"greedy_identical_cpu_vs_gpu": same, "sequences": len(samples),
                "sequences_per_s": round(len(samples) / seconds),
                "trace_pass_at_1": round(float(scored.correct.mean()), 4),
                "answer_pass_at_1": round(float(scored.answer_correct.mean()), 4)}

    def run_grpo():
        from rlvr_boundary.training.rl import train_rl

        settings = {"steps": 30, "prompts_per_step": 16, "generations_per_prompt": 8,
                    "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 32,
                    "learning_rate": 3e-4, "reward_metric": "trace"}
        model, _, history = train_rl(base, splits["rl_prompts"].prompt.tolist(), settings, 0, 4,
                                     work / "rl-checkpoints", [15], device=args.device)
        return {"device": str(next(model.parameters()).device), "steps": len(history),
                "reward_first_5": round(float(history.reward.head(5).mean()), 4),
                "reward_last_5": round(float(history.reward.tail(5).mean()), 4),
                "checkpoints": sorted(p.name for p in (work / "rl-checkpoints").iterdir())}

    def run_sft():
        from rlvr_boundary.training.distill import sft

        train = splits["train"][splits["train"].depth.between(2, 6)].head(512)
        model, _, history = sft(base, train.rename(columns={"reference": "completion"}),
                                {"steps": 30, "batch_size": 64, "learning_rate": 1e-3}, 0, 4,
                                device=args.device)
        return {"device": str(next(model.parameters()).device), "steps": len(history),
                "loss_first": round(float(history.loss.iloc[0]), 4),
                "loss_last": round(float(history.loss.iloc[-1]), 4)}

    stage(summary, "pretrain", run_pretrain)
    if summary["pretrain"]["ok"]:
        stage(summary, "sampling", run_sampling)
        stage(summary, "grpo", run_grpo)
        stage(summary, "sft", run_sft)
    Path(args.out).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
