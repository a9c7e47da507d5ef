"""Small helpers for the rule scripts: setting up the job (its log), atomic writes."""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path

import pandas as pd


def start_job(path: str | os.PathLike) -> logging.Logger:
    """Set up a rule script's process, after its imports: the package's log lines (progress,
    rates, ETAs) go to the rule's log file, and so does an uncaught error.

    The objects of the modules imported so far are frozen out of the garbage collector:
    torch and transformers bring millions, and the collections at interpreter exit walked
    them all (a sampling job's exit: ~1 s idle, 1.2-2 s on busy cores; ~0.2 s with them
    frozen, perf/job_overhead.py).

    The job dies with the Snakemake that runs it: a daemon thread checks that Snakemake
    once a second and, once it is gone (killed; or already here, when it was killed while
    the job imported its modules), logs one line, kills the job's own child processes and
    exits (``process_guard.watch_snakemake``; Linux only, and only for a Snakemake on this
    machine).

    A job whose rule declares GPUs (``resources: gpu``) gets devices of its own among those
    of this machine, before anything initialises CUDA (``gpu_slots.claim_job_gpus``; under
    SLURM the scheduler assigns them)."""
    from rlvr_boundary.workflow.gpu_slots import claim_job_gpus
    from rlvr_boundary.workflow.process_guard import watch_snakemake

    gc.freeze()
    logging.basicConfig(filename=str(path), level=logging.INFO, force=True,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("transformers").setLevel(logging.WARNING)
    sys.excepthook = _log_uncaught  # the error that stops a job ends its log, too
    watch_snakemake()
    claim_job_gpus()  # after the log is set up: a wait for free GPUs is logged there
    return logging.getLogger("rlvr_boundary")


def compute_threads(snakemake) -> int:
    """The CPU threads a job computes with: its ``threads`` param where its bytes depend on
    the count (rules/core.smk's result_threads: the configured count even when ``--cores``
    gives the job fewer), else the threads Snakemake gave it."""
    return int(getattr(snakemake.params, "threads", None) or snakemake.threads)


def _log_uncaught(kind, value, traceback) -> None:
    logging.getLogger("rlvr_boundary").error("failed: %s", value, exc_info=(kind, value, traceback))
    sys.__excepthook__(kind, value, traceback)


def _atomic(path: str | os.PathLike, write) -> None:
    """Write to a temp file next to ``path``, then rename: no half-written file is ever read."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_parquet(frame: pd.DataFrame, path) -> None:
    _atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_csv(frame: pd.DataFrame, path) -> None:
    _atomic(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n"))


def write_json(data, path) -> None:
    _atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2, sort_keys=False) + "\n"))


def write_text(text: str, path) -> None:
    _atomic(path, lambda tmp: Path(tmp).write_text(text))


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_tree(folder) -> str:
    """One hash for a folder: the sha256 of its files' relative paths and contents
    (Snakemake's own marker files, which hold a timestamp, left out)."""
    paths = sorted(p for p in Path(folder).rglob("*")
                   if p.is_file() and not p.name.startswith(".snakemake"))
    return sha256_named((str(p.relative_to(folder)), sha256_file(p)) for p in paths)


def sha256_named(named_hashes) -> str:
    """One sha256 over (name, file sha256) pairs, in the order given."""
    digest = hashlib.sha256()
    for name, file_hash in named_hashes:
        digest.update(name.encode() + b"\0")
        digest.update(file_hash.encode())
    return digest.hexdigest()


def progress_line(done: int, total: int, started: float) -> str:
    """``done/total  rate/s  ETA`` for a long step's periodic log line (``started``: a
    time.perf_counter() value)."""
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed > 0 else float("inf")
    eta = (total - done) / rate if rate > 0 else 0.0
    return f"{done}/{total}  {rate:.1f}/s  ETA {eta:.0f}s"
