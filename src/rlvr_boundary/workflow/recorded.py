"""Benchmark and training data files: their sha256 recorded when a job writes them, checked
whenever one reads them.

A normalised benchmark file or a training data file edited in place after its job wrote it
(a row fixed by hand, a file copied over from another study) was read by every later
sampling, grading or training job as if the workflow had made it. So the job that writes
one records its sha256, and every job that reads one hashes the bytes it then parses (one
read: nothing can change in between):

- the tiny world's tables from make_task_data: ``results/data/benchmarks/<name>.parquet``
  (read by sampling, grading, scoring and entropy jobs), ``results/data/train.parquet``
  (pretrain_base, pretrain_teacher, build_distillation_set) and
  ``results/data/rl_prompts.parquet`` (train_rl, through
  :func:`rlvr_boundary.training.rl_job.read_prompts`): each in ``<file>.sha256`` next to
  it, in ``sha256sum``'s format (``sha256sum -c`` checks it too), written by
  :func:`write_recorded_parquet`, read by :func:`read_recorded_parquet`;
- a real benchmark's ``results/benchmarks/<name>/problems.jsonl`` (prepare_benchmark): as
  ``normalised_sha256`` in the ``manifest.json`` beside it
  (:func:`rlvr_boundary.sampling.benchmarks.read_normalised` checks it with
  :func:`read_checked`).

A mismatch, or no record at all, stops the reading job with :class:`RecordedFileChanged`:
the file, both digests, and the one command that writes it (and everything that read it)
again, :func:`rebuild_command`.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path

import pandas as pd

from ..models.integrity import RUN_OPTIONS
from .job_io import write_parquet, write_text

RECORD_SUFFIX = ".sha256"
_RECORD_LINE = re.compile(r"([0-9a-f]{64})  (.+)")


class RecordedFileChanged(ValueError):
    """A file differs from the sha256 recorded when its job wrote it, or has no record."""


def record_path(path: str | os.PathLike) -> Path:
    """Where the sha256 of a file written by :func:`write_recorded_parquet` is kept."""
    return Path(f"{os.fspath(path)}{RECORD_SUFFIX}")


def rebuild_command(path: str | os.PathLike) -> str:
    """The command that has the workflow write ``path`` again, and redo what read it."""
    return f"`snakemake --forcerun {os.fspath(path)}` {RUN_OPTIONS}"


def write_recorded_parquet(frame: pd.DataFrame, path: str | os.PathLike) -> str:
    """Write ``frame`` to ``path`` (atomically) and its sha256 to :func:`record_path`;
    return the sha256."""
    write_parquet(frame, path)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    write_text(f"{digest}  {Path(path).name}\n", record_path(path))
    return digest


def read_checked(path: str | os.PathLike, expected: str | None, record: str) -> bytes:
    """The bytes of ``path``, once their sha256 is ``expected`` (recorded in ``record``,
    which the message names; None: nothing is recorded)."""
    if expected is None:
        raise RecordedFileChanged(
            f"{path}: no sha256 recorded for it ({record}), so it cannot be told from a file "
            f"edited after it was written. Write it again: {rebuild_command(path)}")
    data = Path(path).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise RecordedFileChanged(
            f"{path}: sha256 {actual} differs from {expected} recorded in {record} when it "
            f"was written: the file was changed since. Write it again, and redo everything "
            f"that read it: {rebuild_command(path)}")
    return data


def recorded_sha256(path: str | os.PathLike) -> tuple[str | None, str]:
    """(sha256 recorded for ``path``, or None; where it is or should be recorded)."""
    record = record_path(path)
    try:
        line = record.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None, f"{record} is missing"
    match = _RECORD_LINE.fullmatch(line)
    if not match:
        raise RecordedFileChanged(
            f"{record}: not a sha256 record ('<64 hex digits>  <file name>'); write "
            f"{path} again: {rebuild_command(path)}")
    return match.group(1), str(record)


def read_recorded_parquet(path: str | os.PathLike) -> pd.DataFrame:
    """A table written by :func:`write_recorded_parquet`, its bytes checked first."""
    expected, record = recorded_sha256(path)
    return pd.read_parquet(io.BytesIO(read_checked(path, expected, record)))
