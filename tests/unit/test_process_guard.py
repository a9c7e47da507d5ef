"""process_guard: a job dies with its Snakemake, and a killed run's locks go when no other
instance works in the directory. Fake /proc trees (the ``root`` argument) and real
processes (a parent whose argv[0] is ``snakemake``)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rlvr_boundary.workflow import process_guard as guard
from rlvr_boundary.workflow.process_guard import (ENV, ORPHANED_EXIT, descendants,
                                                  exported_snakemake, guard_snakemake, identity,
                                                  instances_in, is_alive, is_snakemake,
                                                  remove_stale_locks, snakemake_ancestor,
                                                  watch_snakemake)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux /proc only")
# The environment of the processes these tests start: no RLVR_SNAKEMAKE unless a test sets it.
CLEAN_ENV = {key: value for key, value in os.environ.items() if key != ENV}


def _process(root: Path, pid: int, ppid: int, argv: list[str], cwd: Path | None = None,
             start: int = 1000, state: str = "S") -> None:
    """A fake /proc/<pid>: stat (state, ppid, start time in field 22), cmdline, cwd."""
    folder = root / str(pid)
    folder.mkdir(parents=True)
    rest = ["0"] * 16 + [str(start)] + ["0"] * 30  # fields 6..21 zero, 22 = start time
    (folder / "stat").write_text(f"{pid} (a (b) c) {state} {ppid} {pid} {' '.join(rest)}\n")
    (folder / "cmdline").write_bytes(b"".join(arg.encode() + b"\0" for arg in argv))
    if cwd is not None:
        (folder / "cwd").symlink_to(cwd)


def test_snakemake_command_lines_are_recognised():
    assert is_snakemake(["snakemake", "--cores", "2"])
    assert is_snakemake(["/venv/bin/python", "/venv/bin/snakemake", "--cores", "2"])
    assert is_snakemake(["/usr/bin/python3.11", "-m", "snakemake", "--mode", "remote"])
    assert is_snakemake(["python3", "-u", "-msnakemake"])
    assert not is_snakemake(["python", "/w/.snakemake/scripts/tmpab12.sample_model.py"])
    assert not is_snakemake(["bash", "-c", "snakemake --cores 1"])
    assert not is_snakemake(["python", "-m", "pytest", "snakemake"])
    assert not is_snakemake(["/usr/sbin/slurmstepd"])
    assert not is_snakemake([])


def test_the_nearest_snakemake_ancestor_is_watched_and_a_reused_pid_is_not_it(tmp_path):
    root = tmp_path / "proc"
    _process(root, 10, 1, ["python", "-m", "snakemake", "--cores", "2"], start=500)
    _process(root, 20, 10, ["bash", "-c", "set -euo pipefail; python x.py"])
    _process(root, 30, 20, ["python", "/w/.snakemake/scripts/tmp1.sample_model.py"])
    _process(root, 31, 30, ["python", "-c", "pool worker"])
    assert snakemake_ancestor(30, root) == (10, 500)
    assert is_alive(10, 500, root)
    assert not is_alive(10, 501, root)  # same pid, another process
    assert not is_alive(11, 500, root)  # gone
    assert sorted(descendants(10, root)) == [20, 30, 31]
    assert descendants(31, root) == []

    # Under SLURM without a snakemake of its own on the node: nothing to watch.
    _process(root, 40, 1, ["/usr/sbin/slurmstepd"])
    _process(root, 41, 40, ["python", "script.py"])
    assert snakemake_ancestor(41, root) is None
    # A zombie (killed, not reaped yet) is not alive.
    _process(root, 50, 1, ["snakemake"], start=7, state="Z")
    assert not is_alive(50, 7, root)


def test_no_snakemake_ancestor_or_no_proc_means_no_watch(tmp_path):
    assert watch_snakemake(environ={}) is None  # pytest does not run under snakemake
    assert watch_snakemake(root=tmp_path / "no-proc", environ={}) is None


def test_the_exported_snakemake_counts_on_this_machine_and_pid_namespace_only():
    mine = identity()
    host, namespace, pid, start = mine.split()
    assert (int(pid), int(start)) == (os.getpid(), guard._stat(os.getpid())[2])
    assert exported_snakemake({ENV: mine}) == (os.getpid(), int(start))
    # sbatch passes the login node's value on to a job on a compute node: not this machine.
    assert exported_snakemake({ENV: f"login1-not-{host} {namespace} {pid} {start}"}) is None
    assert exported_snakemake({ENV: f"{host} pid:[1] {pid} {start}"}) is None  # a container's
    assert exported_snakemake({ENV: "garbage"}) is None
    assert exported_snakemake({}) is None


def test_guard_snakemake_names_this_process_to_its_jobs_and_removes_stale_locks(
        tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    locks = _locked(tmp_path)
    guard_snakemake(main_process=False, workdir=tmp_path)  # --mode remote: names, no locks
    assert os.environ[ENV] == identity()
    assert all(path.exists() for path in locks)
    guard_snakemake(main_process=True, workdir=tmp_path)
    assert not any(path.exists() for path in locks)


def _locked(workdir: Path) -> list[Path]:
    locks = workdir / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    paths = [locks / "0.input.lock", locks / "0.output.lock"]
    for path in paths:
        path.write_text("results/x\n")
    return paths


def test_stale_locks_are_removed_when_no_other_instance_works_here(tmp_path, capsys):
    workdir, elsewhere, root = tmp_path / "study", tmp_path / "other", tmp_path / "proc"
    elsewhere.mkdir()
    locks = _locked(workdir)
    _process(root, 10, 1, ["bash"], cwd=workdir)
    _process(root, 20, 10, ["python", "-m", "snakemake", "-n"], cwd=workdir)  # this one
    _process(root, 30, 1, ["snakemake", "--cores", "2"], cwd=elsewhere)  # another directory
    _process(root, 40, 1, ["python", "train.py"], cwd=workdir)  # not snakemake, not a job
    assert remove_stale_locks(workdir, root=root, pid=20, host="node1") == locks
    assert not any(path.exists() for path in locks)
    assert "Removed 2 stale Snakemake lock(s)" in capsys.readouterr().err
    # The next instance to take them is recorded; with no locks nothing else happens.
    assert (workdir / ".snakemake" / "lock_host").read_text() == "node1\n"
    assert remove_stale_locks(workdir, root=root, pid=20, host="node1") == []
    assert capsys.readouterr().err == ""


def test_an_ancestor_snakemake_is_this_instance(tmp_path):
    workdir, root = tmp_path / "study", tmp_path / "proc"
    locks = _locked(workdir)
    _process(root, 10, 1, ["/venv/bin/python", "/venv/bin/snakemake"], cwd=workdir)
    _process(root, 20, 10, ["python", "-m", "snakemake", "--mode", "subprocess"], cwd=workdir)
    assert remove_stale_locks(workdir, root=root, pid=20, host="node1") == locks


@pytest.mark.parametrize("argv, cwd", [
    (["/venv/bin/python", "-m", "snakemake", "--cores", "2"], ""),  # a live instance here
    (["python", "{w}/.snakemake/scripts/tmp1.sample_model.py"], ""),  # a job of a killed one
    (["python", "{w}/.snakemake/scripts/tmp2.train_rl.py"], ".snakemake/shadow/tmp3"),
])
def test_locks_stay_while_another_instance_or_its_job_works_here(tmp_path, capsys, argv, cwd):
    workdir, root = tmp_path / "study", tmp_path / "proc"
    locks = _locked(workdir)
    (workdir / cwd).mkdir(parents=True, exist_ok=True)
    _process(root, 20, 1, ["snakemake", "--cores", "1"], cwd=workdir)  # this one
    _process(root, 30, 1, [arg.format(w=workdir) for arg in argv], cwd=workdir / cwd)
    assert instances_in(workdir, exclude={20}, root=root) == [30]
    assert remove_stale_locks(workdir, root=root, pid=20, host="node1") == []
    assert all(path.exists() for path in locks)
    assert capsys.readouterr().err == ""


def test_locks_taken_on_another_host_or_seen_from_a_job_process_stay(tmp_path, capsys):
    workdir, root = tmp_path / "study", tmp_path / "proc"
    locks = _locked(workdir)
    (workdir / ".snakemake" / "lock_host").write_text("login2\n")
    _process(root, 20, 1, ["snakemake", "--cores", "1"], cwd=workdir)
    assert remove_stale_locks(workdir, root=root, pid=20, host="login1") == []
    assert "taken on host login2: kept" in capsys.readouterr().err
    assert (workdir / ".snakemake" / "lock_host").read_text() == "login2\n"
    # A Snakemake that runs one job (--mode remote: a SLURM node) never touches them.
    assert remove_stale_locks(workdir, main_process=False, root=root, pid=20, host="login2") == []
    assert all(path.exists() for path in locks)
    # On the host that took them, with no instance alive there: removed.
    assert remove_stale_locks(workdir, root=root, pid=20, host="login2") == locks


def test_real_processes_lock_kept_while_a_snakemake_lives_in_the_directory(tmp_path):
    locks = _locked(tmp_path)
    other = subprocess.Popen(["snakemake", "-c", "import time; time.sleep(60)"],
                             executable=sys.executable, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 10
        while not instances_in(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert instances_in(tmp_path) == [other.pid]
        assert remove_stale_locks(tmp_path, host="h") == []
    finally:
        other.kill()
        other.wait()
    assert remove_stale_locks(tmp_path, host="h") == locks


# A "snakemake" that starts a job the way the local executor does (a shell below it), and
# the job: start_job, then a child process of its own, then work. The job learns which
# process its Snakemake is from RLVR_SNAKEMAKE (exported as rules/core.smk does), or, without
# it, as its nearest ancestor named snakemake (argv[0]).
PARENT = textwrap.dedent("""
    import os, subprocess, sys, time
    if sys.argv[2] == "exported":
        from rlvr_boundary.workflow.process_guard import ENV, identity
        os.environ[ENV] = identity()
    subprocess.Popen("set -euo pipefail; " + sys.argv[1], shell=True, executable="/bin/bash")
    time.sleep(120)
""")
JOB = textwrap.dedent("""
    import os, subprocess, sys, time
    from pathlib import Path
    from rlvr_boundary.workflow.job_io import start_job
    folder = Path(sys.argv[1])
    start_job(folder / "job.log")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    (folder / "pids").write_text(f"{os.getpid()} {child.pid}")
    time.sleep(120)
""")


def _start_parent(how: str, shell_command: str) -> subprocess.Popen:
    # (argv[0] "snakemake": that Python finds no venv, and PARENT then needs none)
    name = "snakemake" if how == "ancestor" else sys.executable
    return subprocess.Popen([name, "-c", PARENT, shell_command, how], executable=sys.executable,
                            env=CLEAN_ENV)


def _wait_for_job(parent: subprocess.Popen, folder: Path) -> tuple[int, int]:
    deadline = time.monotonic() + 60
    while not (folder / "pids").exists():
        assert time.monotonic() < deadline and parent.poll() is None, "the job never started"
        time.sleep(0.05)
    time.sleep(0.05)  # (written whole by then: a few bytes)
    job, child = map(int, (folder / "pids").read_text().split())
    return job, child


def _running(pid: int) -> bool:
    stat = guard._stat(pid)
    return stat is not None and stat[0] != "Z"


@pytest.mark.parametrize("how", ["ancestor", "exported"])
def test_a_job_lives_with_its_snakemake_and_dies_with_it(tmp_path, how):
    parent = _start_parent(how, shlex.join([sys.executable, "-c", JOB, str(tmp_path)]))
    try:
        job, child = _wait_for_job(parent, tmp_path)
        assert (snakemake_ancestor(job) is not None) == (how == "ancestor")
        time.sleep(2.5)  # a few checks of a live Snakemake end nothing
        assert _running(job) and _running(child)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 5
    while (_running(job) or _running(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(job), "the job outlived its snakemake"
    assert not _running(child), "the job's child outlived its snakemake"
    assert f"snakemake (pid {parent.pid}) is gone: ending this job (pid {job}) and its 1 child " \
           in (tmp_path / "job.log").read_text()


def test_a_watched_job_ends_with_the_orphaned_exit_status(tmp_path):
    """The job's own exit status, seen by the shell between it and the killed snakemake."""
    status = tmp_path / "status"
    job_command = shlex.join([sys.executable, "-c", JOB, str(tmp_path)])
    parent = _start_parent("ancestor", f"{job_command} || echo $? > {status}")
    _wait_for_job(parent, tmp_path)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while not status.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status.read_text().strip() == str(ORPHANED_EXIT)


def test_a_job_whose_snakemake_died_while_it_imported_ends_at_start_job(tmp_path):
    """Killed before the job's start_job: the job has no snakemake ancestor any more, but
    RLVR_SNAKEMAKE still names the dead one."""
    gone = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)
    named = identity(gone.pid)
    gone.communicate(b"")
    done = subprocess.run([sys.executable, "-c", JOB, str(tmp_path)], capture_output=True,
                          text=True, env={**CLEAN_ENV, ENV: named}, timeout=60)
    assert done.returncode == ORPHANED_EXIT, done.stderr
    assert not (tmp_path / "pids").exists()  # nothing after start_job ran
    log = (tmp_path / "job.log").read_text()
    assert f"snakemake (pid {gone.pid}) is gone: ending this job" in log
