"""A rule job's fixed cost (start, imports, exit) with and without ``workflow_io.start_job``'s
frozen garbage collector, same run.

    python perf/job_overhead.py [--repeats 5] [--problems 20] [--n 16]

Each run is a fresh Python process doing what a ``sample_model`` job does, on a tiny
untrained model of the default config's deep architecture: import the package (torch,
transformers), set up the job, load the checkpoint, sample ``--problems`` x ``--n``
completions, write a parquet file, exit. The baseline skips ``gc.freeze()``, the job set-up
without it. Runs alternate between the two; prints the median wall seconds from
spawn to exit, the part after the job's last line (interpreter exit) and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from rlvr_boundary.models.modeling import build_model, save_checkpoint

ARCHITECTURE = {"hidden_size": 96, "intermediate_size": 384, "num_hidden_layers": 3,
                "num_attention_heads": 3}

JOB = textwrap.dedent("""
    import sys, time
    from unittest import mock

    import pandas as pd

    from rlvr_boundary.models.modeling import load_checkpoint, set_determinism
    from rlvr_boundary.sampling.generate import sample_completions
    from rlvr_boundary.workflow.job_io import start_job, write_parquet

    folder, freeze, problems, n = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4])
    if freeze:
        start_job(f"{folder}/job.log")
    else:
        with mock.patch("gc.freeze"):  # the set-up without the frozen collector
            start_job(f"{folder}/job.log")
    set_determinism(0, 1)
    model, tokenizer = load_checkpoint(f"{folder}/model")
    samples = sample_completions(model, tokenizer, ["1+2*3="] * problems, n, 1.0, 1.0, 32, 0)
    write_parquet(samples, f"{folder}/samples.parquet")
    print(time.time())
""")


def run_job(folder: Path, freeze: bool, problems: int, n: int) -> tuple[float, float]:
    """(wall seconds from spawn to exit, seconds after the job's last line)."""
    started = time.time()
    out = subprocess.run([sys.executable, "-c", JOB, str(folder), str(int(freeze)), str(problems),
                          str(n)], capture_output=True, text=True, check=True).stdout
    ended = time.time()
    return ended - started, ended - float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--problems", type=int, default=20)
    parser.add_argument("--n", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model, tokenizer = build_model(ARCHITECTURE, 64)
        save_checkpoint(model, tokenizer, folder / "model")
        runs = {False: [], True: []}
        run_job(folder, True, args.problems, args.n)  # warm the file cache
        for _ in range(args.repeats):
            for freeze in (False, True):
                runs[freeze].append(run_job(folder, freeze, args.problems, args.n))
    for freeze, label in ((False, "baseline (no gc.freeze)"), (True, "start_job (gc.freeze)")):
        walls, exits = zip(*runs[freeze])
        print(f"{label:24s}: job {statistics.median(walls):5.2f} s, of it exit "
              f"{statistics.median(exits):5.2f} s (median of {args.repeats})")
    base = statistics.median(w for w, _ in runs[False])
    ours = statistics.median(w for w, _ in runs[True])
    print(f"ratio                   : {base / ours:.2f}x per job ({base - ours:+.2f} s)")


if __name__ == "__main__":
    main()
