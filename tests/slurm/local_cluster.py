"""A real one-node SLURM cluster in a temp folder, for tests (its settings: docs/tiny_world.md).

Private munged (own key and socket) and slurmctld/slurmd on free ports, so nothing of a
system SLURM or munge is touched; the daemons are started in the foreground as our own
children and stopped by pid. Needs root (or passwordless sudo) and the Debian packages
slurmctld, slurmd, slurm-client and munge.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ["munged", "mungekey", "slurmctld", "slurmd"]
CLIENTS = ["sbatch", "squeue", "sinfo", "scontrol", "srun", "scancel"]
INSTALL_HINT = "apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"
# The node's fake GPUs (two, so that a tensor-parallel job can ask for both): any character
# devices serve, SLURM only needs a distinct file per GPU.
FAKE_GPU_FILES = ("/dev/null", "/dev/zero")


def _which(name: str) -> str | None:
    # The daemons live in /usr/sbin, which a non-root PATH may lack.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def unavailable_reason() -> str | None:
    """Why a cluster cannot be started here, or None when it can."""
    missing = [name for name in DAEMONS + CLIENTS if _which(name) is None]
    if missing:
        return f"SLURM/munge not installed (missing {', '.join(missing)}; install: {INSTALL_HINT})"
    if os.geteuid() != 0 and _root_prefix() is None:
        return "slurmd and munged need root: not root and no passwordless sudo"
    return None


def _root_prefix() -> list[str] | None:
    """[] as root, ["sudo", "-n"] with passwordless sudo, else None."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"],
                                               capture_output=True).returncode == 0:
        return ["sudo", "-n", "--preserve-env=SLURM_CONF"]
    return None


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _mem_total_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class LocalCluster:
    """Start with ``start()``, stop with ``stop()`` (or use as a context manager).
    ``env`` is what SLURM clients (sbatch, squeue, Snakemake's plugin) need."""

    def __init__(self, partitions: dict[str, bool] | None = None):
        # {partition name: is default}; every partition has the one node.
        self.partitions = partitions or {"debug": True}
        self.gpus = len(FAKE_GPU_FILES)
        self.prefix = _root_prefix()
        self.root = Path(tempfile.mkdtemp(prefix="rlvr-slurm-"))
        # munged insists that everyone may traverse to its socket.
        self.root.chmod(0o755)
        self.conf = self.root / "slurm.conf"
        self.node = socket.gethostname().split(".")[0]
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {**os.environ, "SLURM_CONF": str(self.conf),
                    "PATH": f"{self.root / 'bin'}:{os.environ.get('PATH', '')}"}

    # -- set-up ---------------------------------------------------------------------
    def _write_config(self) -> None:
        for sub in ["state", "spool", "log", "munge-socket"]:
            (self.root / sub).mkdir(mode=0o755)
        ctld_port, slurmd_port = _free_ports(2)
        cpus = os.cpu_count() or 1
        memory = int(_mem_total_mb() * 0.8)
        sock = self.root / "munge-socket" / "munge.socket"
        partitions = "\n".join(
            f"PartitionName={name} Nodes={self.node} Default={'YES' if default else 'NO'} "
            "MaxTime=INFINITE State=UP" for name, default in self.partitions.items())
        self.conf.write_text(f"""\
ClusterName=rlvrtest
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
StateSaveLocation={self.root}/state
SlurmdSpoolDir={self.root}/spool
SlurmctldPidFile={self.root}/slurmctld.pid
SlurmdPidFile={self.root}/slurmd.pid
SlurmctldLogFile={self.root}/log/slurmctld.log
SlurmdLogFile={self.root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
MinJobAge=3600
ReturnToService=2
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
GresTypes=gpu
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} Gres=gpu:fake:{self.gpus} State=UNKNOWN
{partitions}
""")
        # Fake GPUs: SLURM schedules them and sets CUDA_VISIBLE_DEVICES; there is no device.
        # One line per GPU, each naming a character device of its own (no detection).
        (self.root / "gres.conf").write_text("AutoDetect=off\n" + "".join(
            f"Name=gpu Type=fake File={path}\n" for path in FAKE_GPU_FILES))
        # Inside a job, Snakemake's jobstep plugin drops every SLURM_* variable, SLURM_CONF
        # too, before it calls srun. A real cluster's srun finds /etc/slurm/slurm.conf; this
        # private cluster's srun is pointed at its config by a shim first on PATH.
        shim = self.root / "bin" / "srun"
        shim.parent.mkdir(mode=0o755)
        shim.write_text(f"#!/bin/sh\nSLURM_CONF={self.conf} exec {_which('srun')} \"$@\"\n")
        shim.chmod(0o755)

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "wb")
        self.procs[name] = subprocess.Popen(self.prefix + argv, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=self.env)

    def start(self, timeout: float = 60) -> "LocalCluster":
        assert self.prefix is not None, unavailable_reason()
        self._write_config()
        key_dir = self.root / "munge-key"
        subprocess.run(self.prefix + ["install", "-d", "-m", "700", str(key_dir)], check=True)
        subprocess.run(self.prefix + [_which("mungekey"), "-c", "-k", str(key_dir / "munge.key")],
                       check=True, capture_output=True)
        self._spawn("munged", [_which("munged"), "-F", "--force",
                               f"--socket={self.root}/munge-socket/munge.socket",
                               f"--key-file={key_dir}/munge.key",
                               f"--log-file={self.root}/log/munged.log",
                               f"--pid-file={key_dir}/munged.pid",
                               f"--seed-file={key_dir}/munged.seed"])
        self._wait(lambda: (self.root / "munge-socket" / "munge.socket").exists(), timeout, "munged")
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-f", str(self.conf)])
        self._spawn("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf), "-N", self.node])
        self._wait(self._node_idle, timeout, "an idle node")
        return self

    def _node_idle(self) -> bool:
        result = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True,
                                env=self.env)
        return result.returncode == 0 and result.stdout.split()[:1] == ["idle"]

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [name for name, proc in self.procs.items() if proc.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited early:\n{self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"no {what} after {timeout} s:\n{self.logs()}")

    # -- use ------------------------------------------------------------------------
    def run(self, *argv: str, check: bool = True) -> str:
        result = subprocess.run(list(argv), capture_output=True, text=True, env=self.env, check=check)
        return result.stdout

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld knows (MinJobAge keeps finished ones for an hour), as
        ``scontrol show job --oneliner`` key=value records."""
        records = []
        for line in self.run("scontrol", "show", "job", "--oneliner").splitlines():
            if not line.strip() or line.startswith("No jobs"):
                continue
            record = {}
            for token in line.split():
                key, _, value = token.partition("=")
                record[key] = value
            records.append(record)
        return records

    def logs(self) -> str:
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            text = path.read_text(errors="replace")
            parts.append(f"--- {path.name}\n{text[-3000:]}")
        return "\n".join(parts)

    # -- tear-down ------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the daemons we started, by pid (slurmd and slurmctld first, munged last)."""
        for name in ["slurmd", "slurmctld", "munged"]:
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            if self.prefix:
                subprocess.run(self.prefix + ["kill", "-TERM", str(proc.pid)], check=False)
            else:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                if self.prefix:
                    subprocess.run(self.prefix + ["kill", "-KILL", str(proc.pid)], check=False)
                else:
                    proc.kill()
                proc.wait(timeout=10)
        subprocess.run(self.prefix + ["rm", "-rf", str(self.root)], check=False)

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
