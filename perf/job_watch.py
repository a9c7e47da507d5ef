"""What the snakemake watch costs a job: ``workflow_io.start_job`` with and without
``process_guard.watch_snakemake``, same run; and the parse-time /proc scan for stale locks.

    python perf/job_watch.py [--repeats 15] [--idle 3] [--bytecode cached|none]

The script re-runs itself as a process whose argv[0] is ``snakemake`` that exports
``RLVR_SNAKEMAKE`` (as ``rules/core.smk`` does), so the jobs it starts are watched, as rule
jobs are. Each job is a fresh
Python process that imports ``job_io`` (pandas with it), then times ``start_job`` (the
baseline: ``watch_snakemake`` replaced by a no-op, i.e. start_job without the
watch), then sleeps ``--idle`` seconds and reports the CPU time it used while sleeping (the
watch thread's once-a-second check); the whole job's wall time (spawn to exit, less the
sleep) is timed too. Runs alternate; prints medians and the ratios. Then
times ``process_guard.instances_in`` (the scan ``rules/core.smk`` runs when lock files
exist) over this machine's /proc.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

JOB = textwrap.dedent("""
    import sys, threading, time, types
    variant, log, idle = sys.argv[1], sys.argv[2], float(sys.argv[3])
    from rlvr_boundary.workflow import job_io
    if variant == "baseline":  # start_job without the watch (its import is then a no-op too)
        sys.modules["rlvr_boundary.workflow.process_guard"] = types.SimpleNamespace(
            watch_snakemake=lambda: None)
    start = time.perf_counter()
    job_io.start_job(log)
    seconds = time.perf_counter() - start
    cpu = time.process_time()
    time.sleep(idle)
    print(seconds, time.process_time() - cpu, threading.active_count())
""")


def _as_snakemake(argv: list[str]) -> int:
    """Run this script again as a process named ``snakemake`` (argv[0])."""
    return subprocess.run(["snakemake", __file__, "--as-snakemake", sys.executable, *argv],
                          executable=sys.executable).returncode


def _job(python: str, variant: str, folder: str, idle: float,
         env: dict[str, str]) -> tuple[float, float, int, float]:
    """(start_job seconds, CPU seconds while idle, threads, wall seconds of the whole job
    from spawn to exit less the idle sleep)."""
    start = time.perf_counter()
    out = subprocess.run([python, "-c", JOB, variant, f"{folder}/{variant}.log", str(idle)],
                         capture_output=True, text=True, check=True, env=env).stdout.split()
    wall = time.perf_counter() - start - idle
    return float(out[0]), float(out[1]), int(out[2]), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--idle", type=float, default=3.0)
    parser.add_argument("--bytecode", choices=["cached", "none"], default="cached",
                        help="none: compile every module at every start (PYTHONDONTWRITEBYTECODE)")
    # (its value: the Python to run jobs with; sys.executable is unknown under that argv[0])
    parser.add_argument("--as-snakemake", metavar="PYTHON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.as_snakemake:
        sys.exit(_as_snakemake(sys.argv[1:]))

    from rlvr_boundary.workflow.process_guard import ENV, identity, instances_in

    os.environ[ENV] = identity()  # as rules/core.smk does in Snakemake: the jobs inherit it

    results: dict[str, list[tuple[float, float, int, float]]] = {"baseline": [], "watched": []}
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ)
        if args.bytecode == "cached":  # as an installed package runs: compiled modules cached
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = f"{folder}/pycache"
        for variant in results:  # warm-up (caches), not counted
            _job(args.as_snakemake, variant, folder, 0, env)
        for _ in range(args.repeats):
            for variant in results:
                results[variant].append(_job(args.as_snakemake, variant, folder, args.idle, env))
        watched_log = Path(folder, "watched.log").read_text()
    assert not watched_log.strip(), watched_log  # no job was ended

    def median(variant: str, field: int) -> float:
        return statistics.median(r[field] for r in results[variant])

    threads = {v: sorted({r[2] for r in results[v]}) for v in results}
    print(f"median of {args.repeats} fresh processes each (alternating; bytecode {args.bytecode}); "
          f"threads after start_job: baseline {threads['baseline']}, watched {threads['watched']}")
    base, ours = median("baseline", 0), median("watched", 0)
    print(f"start_job:  baseline (no watch) {base * 1e3:.2f} ms, watched {ours * 1e3:.2f} ms "
          f"(+{(ours - base) * 1e3:.2f} ms), ratio {ours / base:.2f}")
    base, ours = median("baseline", 3), median("watched", 3)
    print(f"whole job (spawn, import job_io, start_job, exit): baseline {base * 1e3:.1f} ms, "
          f"watched {ours * 1e3:.1f} ms, ratio {ours / base:.3f}")
    for variant in results:
        cpu = median(variant, 1)
        print(f"CPU while idle {args.idle:.0f} s ({variant}): {cpu * 1e3:.2f} ms "
              f"= {cpu / args.idle * 1e3:.3f} ms per second")

    procs = sum(name.isdigit() for name in os.listdir("/proc"))
    times = []
    for _ in range(20):
        start = time.perf_counter()
        instances_in(os.getcwd())
        times.append(time.perf_counter() - start)
    print(f"stale-lock scan (instances_in) over {procs} processes: median "
          f"{statistics.median(times) * 1e3:.2f} ms (runs only when lock files exist)")


if __name__ == "__main__":
    main()
