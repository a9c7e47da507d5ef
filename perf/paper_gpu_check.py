"""The paper-scale sampling path on a GPU, on a tiny checkpoint in a local Hub cache.

    HF_HUB_OFFLINE=1 PYTHONPATH=src:tests python perf/paper_gpu_check.py

Saves a tiny byte-tokenizer Llama as a Hub snapshot, reads it back through
``snapshot_download`` (offline) and the manifest code, then samples MATH500 problems with
the `hf` backend of ``paper_sampling`` on cuda in bfloat16 and float32 and on the CPU:
greedy outputs on cuda/fp32 must equal the CPU's; prints sequences/s of each.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from rlvr_boundary.sampling.benchmarks import load_benchmark
from rlvr_boundary.models.hub_models import fetch_snapshot, manifest_digest, snapshot_manifest
from rlvr_boundary.sampling.checkpoints import sample_problems
from tiny_hub import save_in_cache

COMMIT = "c" * 40
TEMPLATE = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
            "{question}\nPlease reason step by step, and put your final answer within "
            "\\boxed{}.<|im_end|>\n<|im_start|>assistant\n")
SPEC = {"file": "data/math_eval/math500/test.jsonl",
        "sha256": "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132"}


def timed_sample(path, problems, n, temperature, device, dtype):
    settings = {"backend": "hf", "top_p": 0.95, "max_new_tokens": 64, "dtype": dtype}
    started = time.perf_counter()
    samples = sample_problems(path, problems, TEMPLATE, n, temperature, settings, 0, device)
    if device == "cuda":
        torch.cuda.synchronize()
    return samples, len(samples) / (time.perf_counter() - started)


def main() -> None:
    assert torch.cuda.is_available(), "no CUDA device"
    print("device:", torch.cuda.get_device_name(0), "torch", torch.__version__)
    problems, _ = load_benchmark("math500", SPEC)
    problems = problems.head(50)
    with tempfile.TemporaryDirectory() as cache:
        save_in_cache(Path(cache), "rlvr-test/tiny", COMMIT, seed=0)
        path = fetch_snapshot("rlvr-test/tiny", COMMIT, cache)
        manifest = snapshot_manifest("rlvr-test/tiny", COMMIT, path)
        print(f"fetched {path.name}: {len(manifest['files'])} files, digest "
              f"{manifest_digest(manifest)[:12]}")
        greedy_cpu, rate = timed_sample(str(path), problems, 1, 0.0, "cpu", "float32")
        print(f"cpu fp32 greedy: {rate:.0f} seq/s")
        greedy_gpu, rate = timed_sample(str(path), problems, 1, 0.0, "cuda", "float32")
        same = (greedy_gpu.completion == greedy_cpu.completion).mean()
        print(f"cuda fp32 greedy: {rate:.0f} seq/s; identical to cpu: {same:.0%}")
        for dtype in ("float32", "bfloat16"):
            samples, rate = timed_sample(str(path), problems, 64, 0.6, "cuda", dtype)
            print(f"cuda {dtype} n=64 T=0.6: {len(samples)} samples, {rate:.0f} seq/s, "
                  f"truncated {(samples.finish_reason == 'length').mean():.0%}")


if __name__ == "__main__":
    main()
