"""A model's benchmarks sampled in one job (``sample_model`` as it is) vs one job per
benchmark (the alternative layout), same run.

    python perf/sampling_jobs.py [--model results/models/deep-base] [--problems 100] [--n 256]
                                 [--repeats 3]

Each job is a fresh Python process doing what a ``sample_model`` job does: import the
package (torch, transformers), set up the job, load the checkpoint, read the benchmark
files, sample every problem ``--n`` times, write a parquet file, exit. The default config's
three benchmarks (easy, medium, hard; ``--problems`` each); the baseline runs three jobs of
one benchmark each, one after the other, ours one job of all three. Runs alternate; prints
the median wall seconds of each, the ratio, the fixed cost per job that the difference
implies, and whether both wrote the same samples. Without ``--model`` the model is an
untrained one of the deep family's architecture: it never stops early, so every sample is
``max_new_tokens`` long (more sampling per job than a pretrained base).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd

from rlvr_boundary.world.data import make_splits
from rlvr_boundary.models.modeling import build_model, save_checkpoint

ARCHITECTURE = {"hidden_size": 96, "intermediate_size": 384, "num_hidden_layers": 3,
                "num_attention_heads": 3}
BENCHMARK_DEPTHS = {"easy": [2], "medium": [3, 4], "hard": [5, 6]}  # config.yaml
SEEDS = {"easy": 11, "medium": 12, "hard": 13}

JOB = textwrap.dedent("""
    import json
    import sys
    from pathlib import Path

    import pandas as pd

    from rlvr_boundary.sampling.tiny_world import sample_benchmarks
    from rlvr_boundary.models.modeling import load_checkpoint, set_determinism
    from rlvr_boundary.workflow.job_io import start_job, write_parquet

    model_path, out, n, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    start_job(out + ".log")
    set_determinism(0, 1)
    benchmarks = {Path(p).stem: pd.read_parquet(p) for p in sys.argv[5:]}
    model, tokenizer = load_checkpoint(model_path)
    samples = sample_benchmarks(model, tokenizer, benchmarks, seeds, 0, 1, n, 1.0, 1.0, 32, 2048)
    write_parquet(samples, out)
""")


def run_job(model: str, out: Path, n: int, benchmarks: list[Path]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", JOB, model, str(out), str(n), json.dumps(SEEDS),
                    *map(str, benchmarks)], check=True, capture_output=True)
    return time.perf_counter() - started


def samples_hash(paths: list[Path]) -> str:
    frame = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values.tobytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = args.model
        if not model:
            model = str(folder / "model")
            save_checkpoint(*build_model(ARCHITECTURE, 64), model)
        spec = {name: {"depths": depths, "problems": args.problems}
                for name, depths in BENCHMARK_DEPTHS.items()}
        splits = make_splits(0, spec, {"depths": [2], "problems": 1}, {"depths": [1], "problems": 1})
        files = []
        for name in BENCHMARK_DEPTHS:
            files.append(folder / f"{name}.parquet")
            splits[f"benchmark_{name}"].to_parquet(files[-1])
        run_job(model, folder / "warm.parquet", 1, files[:1])  # warm the file cache
        separate, together = [], []
        for _ in range(args.repeats):
            outs = [folder / f"alone-{f.stem}.parquet" for f in files]
            separate.append(sum(run_job(model, out, args.n, [f]) for out, f in zip(outs, files)))
            together.append(run_job(model, folder / "together.parquet", args.n, files))
        same = samples_hash(outs) == samples_hash([folder / "together.parquet"])
    base, ours = statistics.median(separate), statistics.median(together)
    jobs = len(files)
    print(f"{jobs} benchmarks x {args.problems} problems x n={args.n}, model "
          f"{args.model or 'untrained (deep architecture)'}, wall s, median of {args.repeats}")
    print(f"baseline, one job per benchmark: {base:6.2f} s ({jobs} jobs)")
    print(f"ours, one job for all          : {ours:6.2f} s")
    print(f"ratio {base / ours:.2f}x; fixed cost per job (start-up, imports, model load, exit) "
          f"~{(base - ours) / (jobs - 1):.2f} s; same samples: {same}")


if __name__ == "__main__":
    main()
