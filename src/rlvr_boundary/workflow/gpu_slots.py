"""GPUs for parallel local jobs: each job that declares ``gpu`` gets devices of its own.

Snakemake counts a ``gpu`` resource but assigns no devices: without this, parallel jobs on
one node all see every GPU and all compute on GPU 0. :func:`claim_gpus` takes ``count``
free device ids from the pool and sets ``CUDA_VISIBLE_DEVICES`` to them, before torch (or
vLLM) initialises CUDA: CUDA reads the variable once, when it starts, so the claim must
come before any CUDA call (importing torch is fine; ``torch.cuda.is_available()`` is too
late for some torch builds).

- The pool: the ``CUDA_VISIBLE_DEVICES`` the job inherited (a user who starts Snakemake
  with ``CUDA_VISIBLE_DEVICES=2,3`` gives its jobs GPUs 2 and 3), else the GPUs that
  ``nvidia-smi -L`` lists, else none (no GPU, or no nvidia-smi: nothing is set and the job
  runs where it can, e.g. on the CPU with ``device: auto``).
- A device is held by an ``fcntl.flock`` lock on ``<lock_dir>/<id>.lock`` (default
  ``.snakemake/gpu_slots/`` in the working directory, Snakemake's; ``RLVR_GPU_LOCK_DIR``
  names another, e.g. one folder for all runs on a node), kept open for the job's life
  (:data:`_HELD`). The kernel drops the lock when the process ends, however it
  ends, so a killed job frees its devices with nothing to clean up.
- A job that finds too few free devices releases what it took (no two jobs can each hold
  half of what both need), logs one line and waits until enough are free.
- Under SLURM (``SLURM_JOB_ID`` set) the scheduler assigns each job its devices and sets
  ``CUDA_VISIBLE_DEVICES`` itself: nothing is done. (A local Snakemake run inside one
  ``salloc`` allocation is therefore not split either.)

Standard library only: every job calls it at start.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_LOCK_DIR = Path(".snakemake") / "gpu_slots"
POLL_S = 2.0  # how often a waiting job tries again

# The open lock files of the devices this process holds: open for the process's life (a
# closed file would release its lock).
_HELD: list = []

_NVIDIA_SMI_GPU = re.compile(r"^GPU (\d+):", re.M)


def gpu_pool() -> list[str]:
    """The device ids a job may take: its inherited CUDA_VISIBLE_DEVICES (ids, UUIDs or
    MIG ids, as given), else the GPU indices ``nvidia-smi -L`` lists, else none."""
    inherited = os.environ.get("CUDA_VISIBLE_DEVICES")
    if inherited is not None:
        return [d.strip() for d in inherited.split(",") if d.strip()]
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):  # absent, failing (no driver) or hung
        return []
    return _NVIDIA_SMI_GPU.findall(listing)


def _lock_name(device: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", device) + ".lock"


def _try_lock(lock_dir: Path, device: str):
    """The open, locked lock file of ``device``, or None when another process holds it."""
    handle = open(lock_dir / _lock_name(device), "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")  # who holds it, for the waiting jobs' log line
    handle.flush()
    return handle


def _holders(lock_dir: Path, devices: list[str]) -> str:
    found = []
    for device in devices:
        try:
            found.append(f"{device}: {(lock_dir / _lock_name(device)).read_text().strip()}")
        except OSError:
            pass
    return ", ".join(found) or "unknown"


def claim_gpus(count: int, pool: list[str] | None = None,
               lock_dir: str | os.PathLike | None = None,
               poll_s: float = POLL_S, timeout_s: float | None = None) -> list[str]:
    """Take ``count`` free devices of ``pool`` (default :func:`gpu_pool`) for this process
    and set ``CUDA_VISIBLE_DEVICES`` to them; wait while too few are free. Returns the ids
    taken; [] (and nothing set) for count 0, under SLURM, or when the pool is empty.
    Raises ValueError when the pool has fewer devices than ``count`` (waiting would never
    end) and TimeoutError after ``timeout_s`` (default: wait for ever)."""
    count = int(count or 0)
    if count <= 0:
        return []
    if os.environ.get("SLURM_JOB_ID"):
        return []  # SLURM has given this job its devices (CUDA_VISIBLE_DEVICES is SLURM's)
    pool = gpu_pool() if pool is None else [str(d) for d in pool]
    if not pool:
        log.info("no GPU found (no CUDA_VISIBLE_DEVICES, nvidia-smi lists none or is absent): "
                 "CUDA_VISIBLE_DEVICES left unset for a job asking %d", count)
        return []
    if count > len(pool):
        raise ValueError(f"the job asks for {count} GPUs, the pool has {len(pool)} "
                         f"({','.join(pool)}): lower its gpu resource or run it where "
                         f"{count} GPUs are visible")
    _warn_if_cuda_started()
    lock_dir = Path(lock_dir or os.environ.get("RLVR_GPU_LOCK_DIR") or DEFAULT_LOCK_DIR)
    lock_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    waiting = False
    while True:
        taken = []
        for device in pool:
            handle = _try_lock(lock_dir, device)
            if handle is not None:
                taken.append((device, handle))
                if len(taken) == count:
                    break
        if len(taken) == count:
            break
        for _, handle in taken:  # none held while waiting: no two jobs wait on each other
            handle.close()
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise TimeoutError(f"no {count} free GPUs of {','.join(pool)} after {timeout_s:.0f} s")
        if not waiting:
            log.info("waiting for %d free GPU(s) of %s (held: %s)", count, ",".join(pool),
                     _holders(lock_dir, pool))
            waiting = True
        time.sleep(poll_s)
    _HELD.extend(handle for _, handle in taken)
    devices = [device for device, _ in taken]
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
    log.info("GPU(s) %s claimed%s", ",".join(devices),
             f" after {time.monotonic() - started:.0f} s" if waiting else "")
    return devices


def claim_job_gpus(job=None, **options) -> list[str]:
    """:func:`claim_gpus` for a rule script's job: ``job`` is its ``snakemake`` object
    (default: the one Snakemake defines in the script's ``__main__``); the count is the
    rule's ``gpu`` resource, 0 where the rule declares none."""
    if job is None:
        job = getattr(sys.modules.get("__main__"), "snakemake", None)
    resources = getattr(job, "resources", None)
    return claim_gpus(int(getattr(resources, "gpu", 0) or 0), **options)


def _warn_if_cuda_started() -> None:
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is not None and getattr(cuda, "is_initialized", lambda: False)():
        log.warning("CUDA was initialised before the GPUs were claimed: this process keeps "
                    "the devices it saw then, whatever CUDA_VISIBLE_DEVICES now says")
