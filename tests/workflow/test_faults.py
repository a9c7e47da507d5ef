"""Killed runs lose at most the jobs in flight, and a rerun ends where an uninterrupted
run ends (`test_study`): finished shards are kept, a killed training job is redone. A
SIGKILLed Snakemake leaves no job running behind it (the jobs watch it:
`process_guard.watch_snakemake`), and the next run needs no `--unlock` (stale locks go at
parse time: `process_guard.remove_stale_locks`)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import planned_jobs
from workflow_runner import TEST_CONFIG, run_snakemake, snakemake_cmd

pytestmark = pytest.mark.workflow

CORES = 2
# Jobs check their Snakemake once a second: after it is killed, they are gone within this.
JOB_GRACE = 5
# Their sampling jobs are interrupted: one per temperature they are sampled at, times
# sampling.shards (test config: 3 models x 2 temperatures x 1 shard = 6 jobs).
RESAMPLED = ["tdeep-base", "tdeep-rl-narrow", "twide-base"]


def _start(workdir: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    """Snakemake in its own session, so that it and its jobs can be killed together (and
    whatever a failed check left running, afterwards)."""
    log = workdir / "killed-run.log"
    proc = subprocess.Popen(snakemake_cmd(*args, "--cores", str(CORES), "--configfile", TEST_CONFIG),
                            cwd=workdir, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONHASHSEED": "0"}, start_new_session=True)
    return proc, log


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 180, jobs_too: bool = True) -> None:
    """SIGKILL Snakemake once ready(): with every job process (no clean-up: a crashed node),
    or (``jobs_too=False``) Snakemake alone, its jobs left to notice."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run never reached the kill point"
        time.sleep(0.05)
    if jobs_too:
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
    proc.wait(timeout=30)


def _no_job_outlives(proc: subprocess.Popen, workdir: Path, grace: float = JOB_GRACE) -> None:
    """Fail if a process still works in workdir after `grace` seconds (killing the run's
    session then, so that nothing is left running)."""
    survivors = _processes_in(workdir, grace)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # nothing left in it
        pass
    assert not survivors, f"a job process outlived the kill of its snakemake: {survivors}"


def _lock_files(workdir: Path) -> list[Path]:
    return sorted((workdir / ".snakemake" / "locks").glob("*.lock"))


def _job_stats(text: str) -> dict[str, int]:
    """{rule: job count} of the 'Job stats' table a run prints before it starts."""
    table = text.split("Job stats:", 1)[1].splitlines()[3:]
    jobs = {}
    for line in table:
        match = re.match(r"^([a-z_]+)\s+(\d+)$", line.strip())
        if match is None:
            break
        jobs[match.group(1)] = int(match.group(2))
    jobs.pop("total", None)
    return jobs


def _processes_in(workdir: Path, grace: float = 10) -> list[int]:
    """Pids of processes still working inside workdir once `grace` seconds have passed."""
    deadline = time.monotonic() + grace
    while True:
        pids = []
        for entry in Path("/proc").iterdir():
            try:
                cwd = os.readlink(entry / "cwd") if entry.name.isdigit() else ""
            except OSError:  # gone, or a zombie
                continue
            if cwd == str(workdir) or cwd.startswith(f"{workdir}/"):
                pids.append(int(entry.name))
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.2)


def _job_blocks(log_text: str, rule: str):
    """{jobid, output, log} of each job of `rule` that Snakemake's log lists (None where a
    field is absent)."""
    for block in re.split(r"\n(?=\[)", log_text):
        if re.search(rf"^(?:local)?rule {rule}:$", block, flags=re.MULTILINE):
            fields = {key: re.search(rf"^\s+{key}: (.+)$", block, flags=re.MULTILINE)
                      for key in ("jobid", "output", "log")}
            yield {key: match.group(1) if match else None for key, match in fields.items()}


def _finished_outputs(log_text: str, rule: str) -> set[str]:
    """Outputs of the jobs of `rule` that Snakemake recorded as finished before the kill
    (it unmarks a job's outputs as incomplete before it logs 'Finished jobid')."""
    outputs = {job["jobid"]: job["output"].split(", ") for job in _job_blocks(log_text, rule)
               if job["jobid"] and job["output"]}
    finished = re.findall(rf"^Finished jobid: (\d+) \(Rule: {rule}\)$", log_text, flags=re.MULTILINE)
    return {path for jobid in finished for path in outputs[jobid]}


def _started_job_logs(log_text: str, rule: str) -> dict[str, list[str]]:
    """{log file: outputs} of the jobs of `rule` that Snakemake started."""
    return {job["log"]: job["output"].split(", ") for job in _job_blocks(log_text, rule)
            if job["output"] and job["log"]}


def _model_files(folder: Path) -> dict[str, bytes]:
    """A checkpoint folder's files and bytes (Snakemake's timestamp marker left out)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".snakemake")}


def _stat(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_ino, info.st_mtime_ns


def test_killed_sampling_resumes_without_redoing_finished_shards(study_copy, test_study):
    results = study_copy / "results"
    samples = results / "samples"

    def shards() -> list[Path]:
        return [p for model in RESAMPLED for p in (samples / model).rglob("shard*.parquet")]

    total = len(shards())
    # The kill comes once CORES + 1 files exist, so at least one job has finished and
    # (with more jobs than that) at least one has not.
    assert total > CORES + 1, f"only {total} sampling jobs: too few to kill a run between them"
    # These models are sampled again, and everything after sampling is to be redone.
    for model in RESAMPLED:
        shutil.rmtree(samples / model)
        shutil.rmtree(results / "scored" / model)
    for folder in ["report", "figures"]:
        shutil.rmtree(results / folder)
    for table in ["tables/counts.parquet", "tables/passk.csv", "provenance.json"]:
        (results / table).unlink()

    # Snakemake alone is killed (a user's kill -9, an OOM kill): its jobs end themselves.
    started = time.time()
    proc, log = _start(study_copy)
    _kill_when(proc, lambda: len(shards()) >= CORES + 1, jobs_too=False)
    _no_job_outlives(proc, study_copy)

    done = shards()
    finished = _finished_outputs(log.read_text(), "sample_model")
    assert 0 < len(finished) < total
    # A job of the killed run that had set itself up (its log was written since) and wrote
    # no output was ended by its watch, which said so in its log.
    for job_log, outputs in _started_job_logs(log.read_text(), "sample_model").items():
        path = study_copy / job_log
        if path.exists() and path.stat().st_mtime >= started and \
                not (study_copy / outputs[0]).exists():
            assert "is gone: ending this job" in path.read_text(), job_log
    before = {path: _stat(study_copy / path) for path in finished}
    # Whatever is on disk is whole (atomic writes); at most the jobs in flight are lost.
    assert len(done) - len(finished) <= CORES

    # A killed Snakemake leaves its locks; the rerun (no --unlock) removes them, as no other
    # instance works here, and reruns the incomplete jobs.
    assert _lock_files(study_copy), "the killed run left no lock"
    rerun = run_snakemake(study_copy, "--cores", str(CORES), "--configfile", TEST_CONFIG,
                          "--rerun-incomplete")
    assert "stale Snakemake lock(s)" in rerun.stderr
    assert _job_stats(rerun.stdout + rerun.stderr)["sample_model"] == total - len(finished)
    assert not _lock_files(study_copy)

    assert {path: _stat(study_copy / path) for path in finished} == before
    assert len(shards()) == total
    assert not list(samples.rglob(".*.tmp")), "a temp file of a killed write was left behind"
    for table in ["results/tables/counts.parquet", "results/tables/passk.csv"]:
        assert (study_copy / table).read_bytes() == (test_study / table).read_bytes(), table


def test_killed_training_job_is_detected_and_redone(study_copy):
    model = "tdeep-rl-narrow"
    folder = study_copy / "results" / "models" / model
    checkpoints = study_copy / "results" / "checkpoints" / model
    reference = _model_files(folder), _model_files(checkpoints)

    # Retrain that one model and kill the job once its intermediate checkpoint is (being)
    # written: Snakemake removed the old model when the job started, the new one is not
    # written yet. (The old checkpoints go first, so that only the new job's count.)
    shutil.rmtree(checkpoints)
    target = f"results/models/{model}"
    # Every process at once (a crashed node): a job left to notice its Snakemake's death
    # could save the final model in that second.
    proc, _ = _start(study_copy, "--force", target)
    _kill_when(proc, lambda: checkpoints.exists() and any(checkpoints.iterdir()))
    _no_job_outlives(proc, study_copy)

    # Nothing that looks like a finished model is left behind.
    assert not (folder / "config.json").exists()
    assert not (folder.exists() and any(folder.iterdir()))

    # The same command again retrains it, from scratch, with no --unlock: the first run
    # after the kill (here a dry run) removes the stale locks.
    assert _lock_files(study_copy), "the killed run left no lock"
    assert planned_jobs(study_copy, "--rerun-incomplete", target) == {"train_rl": 1}
    assert not _lock_files(study_copy)
    run_snakemake(study_copy, target, "--cores", str(CORES), "--configfile", TEST_CONFIG,
                  "--rerun-incomplete")

    assert (_model_files(folder), _model_files(checkpoints)) == reference
    # No temp folder of the killed save is left (Snakemake's own markers aside).
    for parent in [folder.parent, checkpoints]:
        assert not [p for p in parent.iterdir() if p.name.startswith(".") and
                    not p.name.startswith(".snakemake")], parent
