"""A killed Snakemake leaves neither running jobs nor locks that need a manual unlock.

Jobs die with their Snakemake (:func:`watch_snakemake`, called by ``job_io.start_job``).
Snakemake 9's local executor runs a ``script:`` job from a thread of its own process as
``bash -c "set -euo pipefail; python .snakemake/scripts/tmpXXXX.<name>.py"``
(``snakemake.shell``, ``subprocess.Popen(shell=True)``, no setsid, no process group of its own):
bash 5.2 execs the python, older shells or wrappers may not, so the job's parent is
Snakemake or a shell below it. When Snakemake is SIGKILLed, nothing tells the job: it is
re-parented and runs on, writing outputs while a rerun has already started.

So the job learns which process its Snakemake is, and a daemon thread checks once a second
that it is still there; once it is gone, the thread logs one line, SIGKILLs the job's own
descendant processes (grading pool workers, ...) and ends the job
(``os._exit(ORPHANED_EXIT)``). Which process: every Snakemake that parses the Snakefile
(main, ``--mode remote``, ``--mode subprocess``) exports ``RLVR_SNAKEMAKE`` = host, PID
namespace, pid and start time (:func:`guard_snakemake`, from ``rules/core.smk``), and its
jobs inherit it. The start time tells a reused pid apart; host and namespace make sure the
pid is one this /proc shows (an inherited value from another node is ignored). With it, a
job whose Snakemake was killed while the job was still importing its modules ends as soon
as it calls ``start_job`` (by then it has no snakemake ancestor any more). Without it (a
Snakemake that did not parse this Snakefile), the nearest ancestor whose command line runs
snakemake is watched; with neither, nothing is. ``prctl(PR_SET_PDEATHSIG)`` is not used:
it fires when the parent *thread* that forked the job ends (a worker thread of Snakemake's
pool, not Snakemake), and not at all when a shell stands between the two. Nor is the
process group killed: the job shares it with Snakemake's other jobs and with whatever the
user started Snakemake with (``| tee``).

Under SLURM a job runs below a ``snakemake --mode remote`` of its own on the compute node
(the slurm-jobstep executor, via srun), which parses the Snakefile, so that one is watched:
it lives exactly as long as the job, and the watch never ends a healthy SLURM job. The
login node's Snakemake (whose value sbatch passes on) is never watched from a node.

Stale locks (:func:`remove_stale_locks`, from :func:`guard_snakemake` in the main process):
Snakemake writes ``.snakemake/locks/<n>.{input,output}.lock`` only after the Snakefile is
parsed and the DAG built (``Workflow.execute``: ``with self.persistence.lock()``), and a
killed run leaves them behind, so the next run stops on ``LockException`` until
``snakemake --unlock``. At parse time the main Snakemake process removes them when no other
live process on this machine works in this directory: a snakemake whose cwd is this
directory, or a rule script (``.snakemake/scripts/``) whose cwd is in it, this process
and its ancestors left out. Otherwise they stay and Snakemake refuses as usual.

Other machines' processes are not in this machine's /proc. So that an instance on another
node sharing the directory (a second login node) never loses its locks, the process that
goes on to take the locks records its host name in ``.snakemake/lock_host``; locks taken
on another host are never removed (``snakemake --unlock`` once that run is gone, as
before).

Linux only (``/proc``); elsewhere all of this does nothing, and a killed run needs
``--unlock``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

PROC = Path("/proc")
# Exit status of a job ended because its Snakemake is gone (128 + SIGTERM, as if terminated).
ORPHANED_EXIT = 128 + signal.SIGTERM
SCRIPTS_DIR = "/.snakemake/scripts/"
# Under .snakemake/: the host whose Snakemake instance took (or is about to take) the locks.
LOCK_HOST = "lock_host"
# Exported by each Snakemake that parses the Snakefile, inherited by its jobs:
# "<host> <pid namespace> <pid> <start time>".
ENV = "RLVR_SNAKEMAKE"


def _stat(pid: int, root: Path = PROC) -> tuple[str, int, int] | None:
    """(state, ppid, start time in clock ticks since boot) of a process, or None if gone."""
    try:
        fd = os.open(f"{root}/{pid}/stat", os.O_RDONLY)
        try:
            text = os.read(fd, 4096).decode(errors="replace")
        finally:
            os.close(fd)
        # The command name (field 2, in parentheses) may hold spaces and parentheses.
        fields = text[text.rindex(")") + 2:].split()
        return fields[0], int(fields[1]), int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def _cmdline(pid: int, root: Path = PROC) -> list[str]:
    try:
        raw = (root / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    if not raw:  # a kernel thread, or gone
        return []
    return [arg.decode(errors="replace") for arg in raw.removesuffix(b"\0").split(b"\0")]


def _cwd(pid: int, root: Path = PROC) -> str | None:
    try:
        return os.readlink(root / str(pid) / "cwd")
    except OSError:  # gone, a zombie, or another user's process
        return None


def is_snakemake(argv: list[str]) -> bool:
    """Whether a command line runs Snakemake: ``snakemake ...``, ``python .../bin/snakemake
    ...`` or ``python [options] -m snakemake ...``."""
    if not argv:
        return False
    if os.path.basename(argv[0]) == "snakemake":
        return True
    if not os.path.basename(argv[0]).startswith("python"):
        return False
    for position, arg in enumerate(argv[1:], start=1):
        if arg == "-m":
            return argv[position + 1:position + 2] == ["snakemake"]
        if arg.startswith("-m"):
            return arg[2:] == "snakemake"
        if not arg.startswith("-"):
            return os.path.basename(arg) == "snakemake"
    return False


def is_job_script(argv: list[str]) -> bool:
    """Whether a command line runs a rule's script (``.snakemake/scripts/tmpXXXX.<name>.py``)."""
    return any(SCRIPTS_DIR in arg for arg in argv[1:3])


def ancestors(pid: int, root: Path = PROC) -> list[int]:
    """The parent, grandparent, ... of a process, up to (without) pid 1."""
    chain = []
    while len(chain) < 256:
        stat = _stat(pid, root)
        if stat is None or stat[1] <= 1:
            break
        pid = stat[1]
        chain.append(pid)
    return chain


def snakemake_ancestor(pid: int | None = None, root: Path = PROC) -> tuple[int, int] | None:
    """(pid, start time) of the nearest ancestor of ``pid`` (default: this process) that
    runs snakemake, or None when there is none (or no /proc)."""
    for ancestor in ancestors(os.getpid() if pid is None else pid, root):
        if is_snakemake(_cmdline(ancestor, root)):
            stat = _stat(ancestor, root)
            return (ancestor, stat[2]) if stat else None
    return None


def is_alive(pid: int, start_time: int, root: Path = PROC) -> bool:
    """Whether the process ``pid`` that started at ``start_time`` still runs (a reused pid
    has another start time; a zombie is not running)."""
    stat = _stat(pid, root)
    return stat is not None and stat[2] == start_time and stat[0] not in ("Z", "X", "x")


def descendants(pid: int, root: Path = PROC) -> list[int]:
    """Children, grandchildren, ... of a process (one scan of ``root``)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir(root)
    except OSError:
        return []
    for entry in entries:
        if entry.isdigit():
            stat = _stat(int(entry), root)
            if stat is not None:
                children.setdefault(stat[1], []).append(int(entry))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def _end_orphaned_job(snakemake_pid: int, root: Path = PROC) -> None:
    """What the watch thread does once its Snakemake is gone: log, kill the job's own
    descendants, exit."""
    children = descendants(os.getpid(), root)
    logging.getLogger("rlvr_boundary").error(
        "snakemake (pid %d) is gone: ending this job (pid %d) and its %d child process(es)",
        snakemake_pid, os.getpid(), len(children))
    for child in children:
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
    os._exit(ORPHANED_EXIT)


def _pid_namespace(root: Path = PROC) -> str | None:
    try:
        return os.readlink(f"{root}/self/ns/pid")
    except OSError:
        return None


def identity(pid: int | None = None, root: Path = PROC) -> str | None:
    """``RLVR_SNAKEMAKE``'s value for a process (default: this one), or None without /proc."""
    pid = os.getpid() if pid is None else pid
    stat, namespace = _stat(pid, root), _pid_namespace(root)
    if stat is None or namespace is None:
        return None
    return f"{os.uname().nodename} {namespace} {pid} {stat[2]}"


def exported_snakemake(environ=os.environ, root: Path = PROC) -> tuple[int, int] | None:
    """(pid, start time) of the Snakemake named by ``RLVR_SNAKEMAKE``, when it names a
    process of this machine and PID namespace (alive or not); else None."""
    try:
        host, namespace, pid, start_time = environ[ENV].split()
        here = (host, namespace) == (os.uname().nodename, _pid_namespace(root))
        return (int(pid), int(start_time)) if here else None
    except (KeyError, ValueError):
        return None


def watch_snakemake(interval: float = 1.0, root: Path = PROC,
                    environ=os.environ) -> threading.Thread | None:
    """End this process (and its descendants) once the Snakemake that runs it is gone.

    The Snakemake is the one ``RLVR_SNAKEMAKE`` names (when on this machine), else the
    nearest snakemake ancestor. When it is already gone, this process ends now; otherwise a
    daemon thread checks it every ``interval`` seconds (one read of its
    ``/proc/<pid>/stat``) and is returned. None: no Snakemake found, or no /proc (nothing
    is watched then)."""
    if not root.is_dir():
        return None
    found = exported_snakemake(environ, root) or snakemake_ancestor(root=root)
    if found is None:
        return None
    pid, start_time = found
    if not is_alive(pid, start_time, root):
        _end_orphaned_job(pid, root)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if not is_alive(pid, start_time, root):
                _end_orphaned_job(pid, root)

    thread = threading.Thread(target=watch, name="snakemake-watch", daemon=True)
    thread.start()
    return thread


def guard_snakemake(main_process: bool, workdir: str | os.PathLike = ".") -> None:
    """What ``rules/core.smk`` calls while Snakemake parses the Snakefile: name this
    process to the jobs it will start (``RLVR_SNAKEMAKE``) and, in the main process,
    remove stale locks (:func:`remove_stale_locks`)."""
    value = identity()
    if value is not None:
        os.environ[ENV] = value
    remove_stale_locks(workdir, main_process=main_process)


def instances_in(workdir: str | os.PathLike, exclude: set[int] = frozenset(),
                 root: Path = PROC) -> list[int]:
    """Pids of live processes working in ``workdir``: a snakemake whose cwd is it, or a
    rule script whose cwd is it or below it (a shadow directory); ``exclude`` left out."""
    here = os.path.realpath(workdir)
    found = []
    try:
        entries = os.listdir(root)
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) in exclude:
            continue
        cwd = _cwd(int(entry), root)
        if cwd is None or not (cwd == here or cwd.startswith(here + "/")):
            continue
        argv = _cmdline(int(entry), root)
        if (cwd == here and is_snakemake(argv)) or is_job_script(argv):
            found.append(int(entry))
    return found


def remove_stale_locks(workdir: str | os.PathLike = ".", main_process: bool = True,
                       root: Path = PROC, pid: int | None = None,
                       host: str | None = None) -> list[Path]:
    """Remove ``workdir``'s Snakemake locks when no other instance works there; returns the
    removed lock files (and prints one line when there were any).

    ``main_process``: False in the Snakemake processes that run single jobs (``--mode
    remote``, e.g. a SLURM job on a node that cannot see the main instance; ``--mode
    subprocess``): those never touch locks or the host record. ``pid``: this process
    (default os.getpid()); it and its ancestors do not count as other instances. ``host``:
    this machine (default its node name)."""
    snakemake_dir = Path(workdir) / ".snakemake"
    lock_dir = snakemake_dir / "locks"
    if not main_process or not root.is_dir():
        return []
    pid = os.getpid() if pid is None else pid
    host = os.uname().nodename if host is None else host
    locks = sorted(path for path in lock_dir.glob("*.lock") if path.is_file())
    if locks:
        locked_on = _read_lock_host(snakemake_dir)
        if locked_on not in (None, host):
            print(f"Snakemake locks in {lock_dir} were taken on host {locked_on}: kept "
                  "(`snakemake --unlock` once no instance runs there)", file=sys.stderr)
            return []
        if instances_in(workdir, exclude={pid, *ancestors(pid, root)}, root=root):
            return []  # Snakemake refuses to run, as usual
        for lock in locks:
            lock.unlink(missing_ok=True)
        print(f"Removed {len(locks)} stale Snakemake lock(s) in {lock_dir}: no other Snakemake "
              "instance or job runs in this directory", file=sys.stderr)
    _write_lock_host(snakemake_dir, host)
    return locks


def _read_lock_host(snakemake_dir: Path) -> str | None:
    try:
        return (snakemake_dir / LOCK_HOST).read_text().strip() or None
    except OSError:
        return None


def _write_lock_host(snakemake_dir: Path, host: str) -> None:
    """Record this host as the one whose instance takes the locks next (atomically)."""
    if _read_lock_host(snakemake_dir) == host:
        return
    try:
        snakemake_dir.mkdir(parents=True, exist_ok=True)
        tmp = snakemake_dir / f".{LOCK_HOST}.{os.getpid()}.tmp"
        tmp.write_text(host + "\n")
        os.replace(tmp, snakemake_dir / LOCK_HOST)
    except OSError:  # a read-only directory: Snakemake itself will say so
        pass
