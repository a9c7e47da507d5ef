"""A model that fails to load fails the same way in every job that loads it: the first such
failure is recorded, and every later job that would repeat it stops at its start.

Under ``keep-going`` (profiles/default) a checkpoint that cannot be loaded - a broken
snapshot, an architecture the installed transformers or vLLM does not know, weights or a KV
cache that do not fit the GPUs - would otherwise fail each of its many sampling jobs, each
after minutes of GPU time spent importing, verifying and loading.

What counts as a failure that repeats is decided by *where* it is raised: inside
:func:`model_loading`, which wraps the steps from the model's files to a ready model (the
checkpoint's integrity check, its config and tokenizer, the weights onto the device, a
vLLM engine's start-up with its memory profiling). Everything there depends on the
checkpoint's files, the load settings and the installed libraries only, so a job with the
same ones fails the same way. Excepted (:func:`repeats`): the job being stopped
(``KeyboardInterrupt``, ``SystemExit``: Ctrl-C, a kill, preemption), timeouts and lost
connections, I/O faults of the file system (``EIO``, ``ESTALE``, a full disk ...), and
faults of the device or its driver other than running out of memory (ECC errors, a GPU
fallen off the bus, NCCL): a broken node must not bar the model on every other node. Out of
memory while loading *is* recorded: the job's GPUs are its own (gpu_slots; SLURM), so the
next job of the model, with as many GPUs of the same kind, runs out the same way.

Not recorded: anything after the model is loaded, where jobs of one model differ (their
benchmark, prompts, temperature, shard): a prompt longer than the context, CUDA out of
memory mid-generation, writing the output. Those fail their own job only.

The record is ``results/failures/<model>.json`` (:data:`FAILURES_DIR`): the error, the
job and log file it came from, and the key it holds for. The key (:func:`load_key`) is a
sha256 of the checkpoint's files (path, size, mtime, ctime and inode of each, so a
re-fetched or repaired file changes it; the file system is not read beyond ``stat``), the
manifest the model is read through, the load settings (:func:`load_settings`) and the
versions of the libraries that load it (:data:`LIBRARIES`). A job refuses only for a record
with its own key, so fixing the cause by changing any of those reruns by itself, and the
first job that then loads the model removes the outdated record. To retry with nothing
changed: delete the record (the refusal names the command).

A refusal is :class:`RecordedFailure`, raised by :meth:`LoadFailureMemo.refuse_if_recorded`
before anything slow (the rule script calls it first, before importing pandas, torch or
the model code: it reads one small JSON file and ``stat``s the checkpoint's files).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import socket
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .versions import installed_versions

log = logging.getLogger(__name__)

FAILURES_DIR = Path("results") / "failures"
# The libraries whose version decides whether a checkpoint loads (an upgrade may fix it).
LIBRARIES = ("torch", "transformers", "tokenizers", "safetensors", "accelerate", "vllm")
# The sampling settings that reach the loading code (n, temperature, top_p, max_new_tokens,
# stop rules and batch_size do not).
LOAD_SETTINGS = ("backend", "dtype", "max_model_len", "engine")
# The options a rerun must repeat (as models.integrity says it).
RUN_OPTIONS = "(with the --configfile/--profile options the study runs with)"

# I/O faults of the file system: not the checkpoint's.
TRANSIENT_ERRNOS = frozenset({errno.EIO, errno.ESTALE, errno.EAGAIN, errno.EINTR, errno.ENOSPC,
                              errno.EDQUOT, errno.EBUSY, errno.ETIMEDOUT, errno.ENOLCK})
# Faults of the node's devices, their driver or the links between GPUs (no GPU visible at
# all, too); out of memory excepted.
_DEVICE_FAULT = re.compile(r"CUDA error|CUDA driver|cudaError|CUDNN_STATUS|\bNCCL|\bECC\b|"
                           r"fallen off the bus|device-side assert|\bXid\b|NVIDIA driver|"
                           r"No CUDA GPUs are available|CUDA-capable device")
_OUT_OF_MEMORY = re.compile(r"out of memory|OutOfMemory|cudaErrorMemoryAllocation", re.IGNORECASE)
# How much of an error's text and traceback a record keeps.
MESSAGE_CHARS = 2000
TRACEBACK_LINES = 30


class RecordedFailure(RuntimeError):
    """The job would load a model whose load already failed with the same key."""


def repeats(error: BaseException) -> bool:
    """Whether ``error``, raised while a model loads, would be raised again by the next job
    that loads the same files with the same settings and libraries (module docstring)."""
    if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit: stopped, not failed
        return False
    if isinstance(error, (RecordedFailure, TimeoutError, ConnectionError)):
        return False
    if isinstance(error, OSError) and error.errno in TRANSIENT_ERRNOS:
        return False
    text = f"{type(error).__name__}: {error}"
    return not (_DEVICE_FAULT.search(text) and not _OUT_OF_MEMORY.search(text))


def load_settings(job: dict, gpus: int) -> dict:
    """What of a sampling job's plan (``params.job``) reaches the code that loads its model:
    the engine, the device, the GPU count (tensor parallelism) and :data:`LOAD_SETTINGS`."""
    sampling = job.get("sampling") or {}
    return {"engine": job.get("engine"), "device": job.get("device"), "gpus": int(gpus or 0),
            **{name: sampling.get(name) for name in LOAD_SETTINGS}}


def library_versions() -> dict[str, str | None]:
    """The installed version of each of :data:`LIBRARIES` (None: not installed), read from
    the package metadata without importing anything."""
    return installed_versions(LIBRARIES)


def model_folder(model_input: str, subfolder: str = "") -> str:
    """The folder a job loads (as :func:`rlvr_boundary.sampling.job.model_path`, without its
    imports): the path a manifest names, or the input folder and its step subfolder."""
    if model_input.endswith(".json"):
        return json.loads(Path(model_input).read_text())["path"]
    return os.path.join(model_input, subfolder)


def _file_stats(folder: Path) -> list[list]:
    """(relative path, size, mtime, ctime, inode) of every file under ``folder``, links
    followed (a Hub snapshot's files link to its blobs); Snakemake's markers left out."""
    stats = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            if name.startswith(".snakemake"):
                continue
            path = Path(root, name)
            try:
                info = path.stat()
            except OSError:  # a dangling link: part of what the load will meet
                stats.append([str(path.relative_to(folder)), None])
                continue
            stats.append([str(path.relative_to(folder)), info.st_size, info.st_mtime_ns,
                          info.st_ctime_ns, info.st_ino])
    return stats


def load_key(model_input: str, subfolder: str, settings: dict) -> tuple[str, dict]:
    """(sha256 key, what it covers) of loading a model: its files' stats, its manifest's
    bytes, ``settings`` and :func:`library_versions`."""
    manifest = None
    if model_input.endswith(".json") and Path(model_input).is_file():
        manifest = hashlib.sha256(Path(model_input).read_bytes()).hexdigest()
    folder = Path(model_folder(model_input, subfolder))
    covered = {"model_input": model_input, "folder": str(folder), "manifest_sha256": manifest,
               "settings": settings, "libraries": library_versions()}
    files = _file_stats(folder) if folder.is_dir() else []
    text = json.dumps({**covered, "files": files}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest(), {**covered, "files": len(files)}


@dataclass
class LoadFailureMemo:
    """One job's view of its model's failure record."""

    model: str
    key: str
    job: str  # the job, in words: rule and wildcards
    log_file: str
    covers: dict = field(default_factory=dict)  # what the key is a digest of
    failures_dir: Path = FAILURES_DIR
    _stale: bool = field(default=False, init=False)
    _note: str = field(default="", init=False)
    _recorded: BaseException | None = field(default=None, init=False)

    @property
    def marker(self) -> Path:
        return Path(self.failures_dir) / f"{self.model}.json"

    def read(self) -> dict | None:
        """The model's record, or None (none, or unreadable: then it is ignored, logged)."""
        try:
            record = json.loads(self.marker.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.warning("ignoring unreadable failure record %s: %s", self.marker, error)
            return None
        return record if isinstance(record, dict) and "key" in record else None

    def refuse_if_recorded(self) -> None:
        """Raise :class:`RecordedFailure` if loading this model with this key already failed
        (the message also ends the job's log); a record for another key is outdated:
        noted, and removed once this job has loaded the model."""
        record = self.read()
        if record is None:
            return
        if record["key"] != self.key:
            # Logged once the job's log is set up (watching).
            self._stale = True
            self._note = (f"{self.marker} holds a failure for other checkpoint files, load "
                          f"settings or libraries (key {str(record['key'])[:12]}, now "
                          f"{self.key[:12]}): loading the model again")
            return
        message = self.refusal(record)
        _append_to_log(self.log_file, message)
        raise RecordedFailure(message)

    def refusal(self, record: dict) -> str:
        return (
            f"{self.job}: not started. Loading model '{self.model}' failed in an earlier job, "
            f"and this job would load the same checkpoint files with the same load settings "
            f"and libraries (key {self.key[:12]}), so it would fail the same way.\n"
            f"  first failure: {record.get('error')}\n"
            f"  while: {record.get('during')}, in job {record.get('job')} on "
            f"{record.get('host')} at {record.get('time')}\n"
            f"  its log: {record.get('log')}\n"
            f"  record: {self.marker}\n"
            f"Fix the cause: a changed checkpoint file, load setting ({', '.join(LOAD_SETTINGS)}, "
            f"device, GPUs) or version of {', '.join(LIBRARIES)} lifts this refusal by itself. "
            f"To retry with nothing changed (the failure was transient after all): "
            f"`rm {self.marker}`, then run snakemake again {RUN_OPTIONS}."
        )

    def record(self, error: BaseException, during: str) -> None:
        """Record ``error`` as this model's load failure; a record of the same key is kept
        (the first failure stays the one named)."""
        if self._recorded is error:
            return
        self._recorded = error
        existing = self.read()
        if existing is not None and existing["key"] == self.key:
            return
        text = f"{type(error).__name__}: {error}"
        lines = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        record = {
            "model": self.model, "key": self.key,
            "error": text[:MESSAGE_CHARS], "during": during, "job": self.job,
            "log": self.log_file, "host": socket.gethostname(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "traceback": lines.splitlines()[-TRACEBACK_LINES:],
            "covers": self.covers,
            "retry": f"rm {self.marker}",
        }
        self.marker.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.marker.with_name(f".{self.marker.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
        os.replace(tmp, self.marker)
        self._stale = False
        log.error("recorded as a load failure of model '%s' in %s: later jobs loading it with "
                  "the same files, settings and libraries will not start", self.model, self.marker)

    def loaded(self) -> None:
        """The model loaded: an outdated record of it (another key) goes."""
        if not self._stale:
            return
        record = self.read()
        if record is not None and record["key"] != self.key:
            self.marker.unlink(missing_ok=True)
            log.info("removed the outdated failure record %s: the model loaded", self.marker)
        self._stale = False

    @contextmanager
    def watching(self) -> Iterator[LoadFailureMemo]:
        """While this is entered, failures inside :func:`model_loading` are recorded here."""
        global _ACTIVE
        if self._note:
            log.info("%s", self._note)
            self._note = ""
        previous, _ACTIVE = _ACTIVE, self
        try:
            yield self
        finally:
            _ACTIVE = previous


_ACTIVE: LoadFailureMemo | None = None


@contextmanager
def model_loading(during: str = "loading the model") -> Iterator[None]:
    """Around the code that turns a model's files into a ready model. Outside a job's
    :meth:`LoadFailureMemo.watching` (tests, notebooks) it does nothing; inside, an error
    that :func:`repeats` is recorded before it propagates."""
    memo = _ACTIVE
    if memo is None:
        yield
        return
    try:
        yield
    except BaseException as error:
        if repeats(error):
            memo.record(error, during)
        raise
    memo.loaded()


def sampling_memo(model: str, model_input: str, job: dict, gpus: int, log_file: str,
                  description: str, failures_dir: str | Path = FAILURES_DIR) -> LoadFailureMemo:
    """The memo of one sampling job (scripts/sample_model.py): ``job`` is its plan
    (``params.job``), ``gpus`` its GPU count."""
    key, covers = load_key(model_input, job.get("subfolder", ""), load_settings(job, gpus))
    return LoadFailureMemo(model=model, key=key, job=description, log_file=str(log_file),
                           covers=covers, failures_dir=Path(failures_dir))


def _append_to_log(path: str, message: str) -> None:
    """The refusal in the job's log (shown by Snakemake for a failed job), which
    :func:`~rlvr_boundary.workflow.job_io.start_job` has not set up yet."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {__name__} ERROR {message}\n")
    except OSError:
        pass
