"""A run whose jobs cannot write their folders stops before any job, naming the folder
(rlvr_boundary.workflow.writable); a dry run of the same is unaffected."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from rlvr_boundary.workflow import writable
from rlvr_boundary.workflow.writable import (
    UnwritableOutput,
    check_run_writable,
    check_writable,
    unwritable_folders,
)
from workflow_runner import REPO, TEST_CONFIG, run_snakemake


@pytest.fixture
def read_only(tmp_path):
    """Make folders unwritable for this process: chmod a-w, and for root (which writes
    through that) the immutable attribute; skipped where neither holds."""
    made = []

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        made.append(folder)
        if os.access(folder, os.W_OK):
            if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
                pytest.skip("cannot make a folder unwritable for this user (root without chattr)")
        return folder

    yield make
    for folder in made:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(0o755)


def test_the_nearest_existing_folder_of_each_file_decides(tmp_path, read_only):
    (tmp_path / "results" / "open").mkdir(parents=True)
    locked = read_only(tmp_path / "results" / "data")
    files = [tmp_path / "results/data/world.json", tmp_path / "results/data/benchmarks/a.parquet",
             tmp_path / "results/open/x.csv", tmp_path / "results/new/deep/y.csv",
             tmp_path / "logs/a.log"]
    assert unwritable_folders(files) == {locked: [str(files[0]), str(files[1])]}
    with pytest.raises(UnwritableOutput) as error:
        check_writable(files)
    message = str(error.value)
    assert f"{locked}/ (not writable by this user): 2 file(s) to write there, e.g. {files[0]}" \
        in message
    assert f"chmod -R u+w {locked}" in message and "writable copy of the workflow" in message
    check_writable(files[2:])  # nothing refused: no error


def test_every_refusing_folder_is_named_up_to_a_limit(tmp_path, monkeypatch):
    folders = [tmp_path / f"f{i}" for i in range(writable.NAMED + 2)]
    for folder in folders:
        folder.mkdir()
    monkeypatch.setattr(writable.os, "access", lambda path, mode: False)
    with pytest.raises(UnwritableOutput) as error:
        check_writable([folder / "out.csv" for folder in folders])
    message = str(error.value)
    assert all(f"{folder}/" in message for folder in folders[:writable.NAMED])
    assert f"{folders[-1]}/" not in message and "and 2 more folder(s)" in message


def test_a_dry_run_checks_nothing_a_run_checks_the_jobs_it_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(writable.os, "access", lambda path, mode: False)
    job = SimpleNamespace(products=lambda include_logfiles: [str(tmp_path / "out.csv"),
                                                             str(tmp_path / "logs/job.log")])
    workflow = SimpleNamespace(dryrun=True, dag=SimpleNamespace(needrun_jobs=lambda: [job]))
    check_run_writable(workflow)
    workflow.dryrun = False
    with pytest.raises(UnwritableOutput, match=f"{tmp_path}/ .*2 file"):
        check_run_writable(workflow)
    workflow.dag.needrun_jobs = lambda: []  # nothing to run, nothing to write
    check_run_writable(workflow)


def test_snakemake_stops_before_any_job_and_a_dry_run_still_works(tmp_path, read_only):
    """Snakemake on the test config, its first job's folder read-only (~3 s a call)."""
    read_only(tmp_path / "results" / "data")
    args = ("results/data/world.json", "-s", str(REPO / "Snakefile"), "--configfile",
            str(REPO / TEST_CONFIG))
    result = run_snakemake(tmp_path, *args, "--cores", "1", check=False, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "UnwritableOutput" in output and "no job was started" in output
    assert "results/data/ (not writable by this user)" in output
    assert "localrule make_task_data" not in output  # stopped before the job began
    assert not (tmp_path / "logs").exists()
    assert not list((tmp_path / ".snakemake").glob("locks/*"))  # its locks released
    dry = run_snakemake(tmp_path, *args, "-n", timeout=300)
    assert "make_task_data" in dry.stdout + dry.stderr
