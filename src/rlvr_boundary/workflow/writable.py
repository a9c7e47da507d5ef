"""A run that cannot write where its jobs write stops before any job, naming the folder.

Without this, a read-only ``results/`` (``chmod -R a-w results`` to keep a finished study,
a read-only mount, an immutable folder) fails job by job: Snakemake's "Failed to create
output directory" once the first job has started, or a job's own traceback when the folder
exists and the job writes into it. :func:`check_run_writable`, called by ``rules/core.smk``
(``onstart:``: once the DAG is built, before the first job, never in a dry run: ``-n`` on a
read-only copy of a finished study only reads), looks at every output, log and benchmark
file of the jobs that will run and refuses the run when one of them cannot be made. Not
at parse time: Snakemake 9 sets ``workflow.dryrun`` only after the Snakefile is parsed
(``Workflow.execute``), so a check there could not let a dry run through.

Where a file cannot be made: the nearest folder that exists on the way to it (the folder
itself, else the first of its parents that exists, where the missing ones would be created)
does not let this process create entries (``os.access`` with ``W_OK | X_OK``: the kernel's
answer for this user, ACLs, immutable folders and read-only file systems included; root
passes a ``chmod a-w``, as it writes there).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

# Folders named in one error (the rest are counted).
NAMED = 5


class UnwritableOutput(PermissionError):
    """A folder the run's jobs write into does not let this process write."""


def _existing_folder(path: Path) -> Path:
    """The folder a file at ``path`` is created in, or the nearest existing parent."""
    folder = path.parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    return folder


def _why(folder: Path) -> str:
    """Why ``folder`` refuses writes: its file system is read-only or its permissions."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "on a read-only file system"
    except OSError:
        pass
    return "not writable by this user"


def unwritable_folders(paths: Iterable[str | os.PathLike]) -> dict[Path, list[str]]:
    """``{folder: [files to be written below it]}`` for each folder that refuses writes
    (in the order first met; each folder checked once)."""
    checked: dict[Path, bool] = {}
    refused: dict[Path, list[str]] = {}
    for path in paths:
        folder = _existing_folder(Path(path))
        if folder not in checked:
            checked[folder] = os.access(folder, os.W_OK | os.X_OK)
        if not checked[folder]:
            refused.setdefault(folder, []).append(os.fspath(path))
    return refused


def check_writable(paths: Iterable[str | os.PathLike]) -> None:
    """Raise :class:`UnwritableOutput` naming each folder the ``paths`` (files a run will
    write) cannot be created in, one of its files and what to do."""
    refused = unwritable_folders(paths)
    if not refused:
        return
    lines = [f"  {folder}/ ({_why(folder)}): {len(files)} file(s) to write there, e.g. "
             f"{files[0]}" for folder, files in list(refused.items())[:NAMED]]
    if len(refused) > NAMED:
        lines.append(f"  and {len(refused) - NAMED} more folder(s)")
    first = next(iter(refused))
    raise UnwritableOutput(
        "This run's jobs cannot write their outputs; no job was started:\n"
        + "\n".join(lines)
        + f"\nMake the folders writable (e.g. `chmod -R u+w {first}`; a read-only file system: "
        "remount it read-write), or run the study in a writable copy of the workflow. A dry "
        "run (`snakemake -n`) writes nothing and works here as it is.")


def job_files(jobs) -> list[str]:
    """Every output, log and benchmark file of Snakemake ``jobs`` (``Job.products``)."""
    return [os.fspath(path) for job in jobs for path in job.products(include_logfiles=True)]


def check_run_writable(workflow) -> None:
    """``onstart:`` (rules/core.smk): the jobs Snakemake is about to run can write every
    file they make. Dry runs never call it (Snakemake runs no ``onstart`` for ``-n``); the
    check is repeated here so that a direct call in a dry run checks nothing, too."""
    if workflow.dryrun:
        return
    check_writable(job_files(workflow.dag.needrun_jobs()))
