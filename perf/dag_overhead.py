"""What building the DAG costs: `snakemake -n` on each shipped config, against Snakemake's start.

    python perf/dag_overhead.py [--repeats 3]

Each dry run is timed in a fresh copy of the workflow (as the tests copy it: no results, no
.snakemake state), so every job of the config is planned:

  baseline  `snakemake --version`: Python + Snakemake start-up, no workflow
  (a)       config.yaml, the default study                      target < 3 s
  (b)       configs/test.yaml, the test configuration
  (c)       configs/paper.yaml, the paper-scale DAG
  (d)       configs/paper.yaml with sampling.shards raised until the DAG has more than
            3,000 sampling jobs ("thousands of shards")          target < 30 s

Prints the median wall time of --repeats runs, its ratio to the baseline's and the job
counts (total and sampling). On a machine shared with other work, read the ratios: all
numbers of one run are taken under the same load.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from workflow_runner import copy_workflow  # noqa: E402

SAMPLING_RULE = "sample_model"
THOUSANDS = 3000
TARGETS = {"a": 3.0, "d": 30.0}


def snakemake(workdir: Path, *args: str) -> tuple[float, str]:
    """Wall seconds and output of one snakemake call (which must succeed)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir,
                            capture_output=True, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0"})
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return elapsed, result.stdout + result.stderr


def job_stats(output: str) -> dict[str, int]:
    """{rule: count} from a dry run's 'Job stats' table."""
    if "Job stats:" not in output:
        return {}
    jobs = {}
    for line in output.split("Job stats:", 1)[1].splitlines()[3:]:
        match = re.match(r"^([A-Za-z_]\w*)\s+(\d+)$", line.strip())
        if match is None:
            break
        jobs[match.group(1)] = int(match.group(2))
    return jobs


def thousands_config(workdir: Path, paper_jobs: dict[str, int]) -> tuple[str, int]:
    """configs/paper.yaml with shards raised so that sampling jobs exceed THOUSANDS."""
    config = yaml.safe_load((workdir / "configs/paper.yaml").read_text())
    shards = config["sampling"]["shards"]
    per_shard = paper_jobs.get(SAMPLING_RULE, 0) / shards
    config["sampling"]["shards"] = math.floor(THOUSANDS / per_shard) + 1
    path = workdir / "configs" / "paper_thousands.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path.relative_to(workdir)), config["sampling"]["shards"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dag-overhead-") as tmp:
        workdir = copy_workflow(Path(tmp) / "wf")
        # The first call warms the file cache and writes Snakemake's bytecode: not counted.
        snakemake(workdir, "--version")
        cases = [("baseline", "snakemake --version", ["--version"]),
                 ("a", "-n, config.yaml", ["-n"]),
                 ("b", "-n, configs/test.yaml", ["-n", "--configfile", "configs/test.yaml"]),
                 ("c", "-n, configs/paper.yaml", ["-n", "--configfile", "configs/paper.yaml"])]
        rows, outputs = [], {}
        for key, label, command in cases + [("d", None, None)]:
            if key == "d":
                configfile, shards = thousands_config(workdir, job_stats(outputs["c"]))
                label = f"-n, configs/paper.yaml, shards {shards}"
                command = ["-n", "--configfile", configfile]
            times = []
            for _ in range(args.repeats):
                shutil.rmtree(workdir / ".snakemake", ignore_errors=True)  # fresh state each time
                elapsed, outputs[key] = snakemake(workdir, *command)
                times.append(elapsed)
            rows.append((key, label, statistics.median(times), job_stats(outputs[key])))

    baseline = rows[0][2]
    print(f"{'case':<8} {'what':<40} {'seconds':>8} {'x baseline':>11} {'jobs':>6} {'sampling':>9}  target")
    failed = []
    for key, label, seconds, jobs in rows:
        sampling = jobs.get(SAMPLING_RULE, 0)
        target = TARGETS.get(key)
        verdict = "" if target is None else (f"< {target:.0f} s " + ("ok" if seconds < target else "MISSED"))
        if target is not None and seconds >= target:
            failed.append(key)
        print(f"{key:<8} {label:<40} {seconds:8.2f} {seconds / baseline:11.1f} "
              f"{jobs.get('total', 0) or '':>6} {sampling or '':>9}  {verdict}")
    print(f"(median of {args.repeats} runs each; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores)")
    if failed:
        raise SystemExit(f"missed targets: {', '.join(failed)}")


if __name__ == "__main__":
    main()
