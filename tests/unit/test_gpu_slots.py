"""workflow.gpu_slots: parallel local GPU jobs get devices of their own (fake device lists;
no GPU needed)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from types import SimpleNamespace

import pytest

from rlvr_boundary.workflow import gpu_slots
from rlvr_boundary.workflow.gpu_slots import claim_gpus, claim_job_gpus, gpu_pool


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    """No SLURM, no inherited devices, and every lock this test took released after it."""
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("RLVR_GPU_LOCK_DIR", raising=False)
    yield
    for handle in gpu_slots._HELD:
        handle.close()
    gpu_slots._HELD.clear()


def test_two_claims_from_a_pool_of_three_get_disjoint_devices(tmp_path):
    first = claim_gpus(1, pool=["0", "1", "2"], lock_dir=tmp_path)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ",".join(first)
    second = claim_gpus(2, pool=["0", "1", "2"], lock_dir=tmp_path)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ",".join(second)
    assert len(first) == 1 and len(second) == 2
    assert sorted(first + second) == ["0", "1", "2"]


def test_more_than_the_pool_is_an_error_naming_both_numbers(tmp_path):
    with pytest.raises(ValueError, match=r"asks for 2 GPUs, the pool has 1 \(0\)"):
        claim_gpus(2, pool=["0"], lock_dir=tmp_path)
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def _holder(lock_dir) -> subprocess.Popen:
    """Another job: a process that holds device 0 until its stdin closes or it is killed."""
    code = textwrap.dedent(f"""
        import sys
        from rlvr_boundary.workflow.gpu_slots import claim_gpus
        print(claim_gpus(1, pool=["0"], lock_dir={str(lock_dir)!r}), flush=True)
        sys.stdin.read()
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "['0']"
    return child


@pytest.mark.parametrize("ends", ["exits", "is killed"])
def test_a_claim_waits_until_the_holding_job_ends(tmp_path, caplog, ends):
    child = _holder(tmp_path)
    end = child.stdin.close if ends == "exits" else child.kill
    timer = threading.Timer(0.5, end)
    started = time.monotonic()
    timer.start()
    try:
        with caplog.at_level(logging.INFO, logger=gpu_slots.__name__):
            assert claim_gpus(1, pool=["0"], lock_dir=tmp_path, poll_s=0.05) == ["0"]
    finally:
        timer.cancel()
        child.kill()
        child.wait()
    assert time.monotonic() - started >= 0.45
    assert f"waiting for 1 free GPU(s) of 0 (held: 0: pid {child.pid})" in caplog.text
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"


def test_a_waiting_claim_holds_nothing_and_can_time_out(tmp_path):
    claim_gpus(1, pool=["0", "1"], lock_dir=tmp_path)  # "0", held by this test
    with pytest.raises(TimeoutError, match="no 2 free GPUs of 0,1"):
        claim_gpus(2, pool=["0", "1"], lock_dir=tmp_path, poll_s=0.02, timeout_s=0.1)
    # The waiting claim let "1" go again: no two jobs each hold half of what both need.
    assert claim_gpus(1, pool=["0", "1"], lock_dir=tmp_path) == ["1"]


def test_slurm_and_count_zero_do_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    assert claim_gpus(0, pool=["0", "1"], lock_dir=tmp_path / "a") == []
    monkeypatch.setenv("SLURM_JOB_ID", "123")
    assert claim_gpus(2, pool=["0", "1"], lock_dir=tmp_path / "b") == []
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"  # SLURM's assignment stays
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert gpu_slots._HELD == []


def _path_with(tmp_path, monkeypatch, nvidia_smi: str | None) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if nvidia_smi is not None:
        script = bin_dir / "nvidia-smi"
        script.write_text(f"#!/bin/sh\nprintf '%s' '{nvidia_smi}'\n")  # printf: a builtin
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_without_nvidia_smi_the_pool_is_empty_and_nothing_is_set(tmp_path, monkeypatch, caplog):
    _path_with(tmp_path, monkeypatch, None)
    assert gpu_pool() == []
    with caplog.at_level(logging.INFO, logger=gpu_slots.__name__):
        assert claim_gpus(1, lock_dir=tmp_path / "locks") == []
    assert "CUDA_VISIBLE_DEVICES" not in os.environ
    assert "no GPU found" in caplog.text


def test_the_pool_is_what_nvidia_smi_lists(tmp_path, monkeypatch):
    _path_with(tmp_path, monkeypatch,
               "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-aaa)\n"
               "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-bbb)\n"
               "  MIG 3g.40gb     Device  0: (UUID: MIG-ccc)\n")
    assert gpu_pool() == ["0", "1"]
    assert claim_gpus(2, lock_dir=tmp_path / "locks") == ["0", "1"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0,1"


def test_an_inherited_cuda_visible_devices_is_the_pool(tmp_path, monkeypatch):
    _path_with(tmp_path, monkeypatch, "GPU 0: A\nGPU 1: B\nGPU 2: C\nGPU 3: D\n")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2, 3")
    assert gpu_pool() == ["2", "3"]
    assert claim_gpus(1, lock_dir=tmp_path / "locks") == ["2"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "2"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_pool() == []  # set but empty: no device is visible


def test_the_job_helper_reads_the_rule_gpu_resource(tmp_path, monkeypatch):
    monkeypatch.setenv("RLVR_GPU_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    job = SimpleNamespace(resources=SimpleNamespace(gpu=2, mem_mb=1000))
    assert claim_job_gpus(job) == ["0", "1"]
    assert sorted(p.name for p in (tmp_path / "locks").iterdir()) == ["0.lock", "1.lock"]
    # A rule without a gpu resource, and a script run outside Snakemake: nothing.
    assert claim_job_gpus(SimpleNamespace(resources=SimpleNamespace(mem_mb=1000))) == []
    assert claim_job_gpus() == []
    # In a rule script, Snakemake's preamble defines `snakemake` in __main__: the default.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")  # the claim above narrowed it
    monkeypatch.setattr(sys.modules["__main__"], "snakemake",
                        SimpleNamespace(resources=SimpleNamespace(gpu=1)), raising=False)
    assert claim_job_gpus() == ["2"]
