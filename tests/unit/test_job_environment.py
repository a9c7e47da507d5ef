"""What a GPU job records about its machine, and provenance.json merged from the records:
on a CPU (every GPU field "none") and with torch.cuda replaced by a two-GPU stand-in."""

from __future__ import annotations

import json
import subprocess
from types import SimpleNamespace

import torch

from rlvr_boundary.report.run_record import machines_section
from rlvr_boundary.workflow import job_environment as env
from rlvr_boundary.workflow.provenance import config_hash

CONFIG = {"scale": "paper", "seed": 0, "models": {"m": {"hub": "Org/M-7B"}}}


def fake_gpus(monkeypatch, names=("NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"),
              cuda="12.4"):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(names))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: names[i])
    monkeypatch.setattr(torch.version, "cuda", cuda)


def test_a_cpu_job_records_none_for_every_gpu_field(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    asked = []
    record = env.job_environment("sample_model", {"model": "m", "shard": 0}, CONFIG,
                                 {"math500": 7}, driver=lambda: asked.append(1) or "550")
    assert (record["gpu_count"], record["gpu_names"], record["nvidia_driver"], record["cuda"]) \
        == (0, "none", "none", "none")
    assert not asked  # no driver query without a GPU
    assert record["packages"]["torch"] == torch.__version__
    assert record["wildcards"] == {"model": "m", "shard": "0"}
    assert record["seeds"] == {"math500": 7}
    assert record["config_sha256"] == config_hash(CONFIG)
    assert record["hostname"]
    json.dumps(record)  # a JSON file as it is


def test_a_gpu_job_records_its_gpus_driver_and_cuda(monkeypatch):
    fake_gpus(monkeypatch)
    record = env.job_environment("train_paper_rl", {"model": "m"}, CONFIG, {"rl": 3},
                                 driver=lambda: "550.54.15")
    assert record["gpu_count"] == 2
    assert record["gpu_names"] == ["NVIDIA H100 80GB HBM3"] * 2
    assert (record["nvidia_driver"], record["cuda"]) == ("550.54.15", "12.4")


def test_packages_not_installed_read_none(monkeypatch):
    assert env.package_version("surely-not-a-distribution-xyz") == "none"
    record = env.job_environment("sample_model", {}, CONFIG, {})
    assert set(record["packages"]) >= {"torch", "transformers", "vllm", "trl"}
    assert all(isinstance(v, str) and v for v in record["packages"].values())


def test_the_driver_comes_from_nvidia_smi_and_is_none_without_it(monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: SimpleNamespace(
        returncode=0, stdout="550.54.15\n550.54.15\n"))
    assert env.nvidia_driver() == "550.54.15"

    def missing(*args, **kwargs):
        raise FileNotFoundError("nvidia-smi")

    monkeypatch.setattr(subprocess, "run", missing)
    assert env.nvidia_driver() == "none"


def fake_snakemake(tmp_path, outputs):
    output = SimpleNamespace(**outputs)
    output.keys = lambda: list(outputs)
    wildcards = {"model": "m", "group": "math500", "temperature": "0.6", "shard": "1"}
    return SimpleNamespace(output=output, rule="sample_model", config=CONFIG,
                           wildcards=SimpleNamespace(items=lambda: wildcards.items()))


def test_a_job_writes_its_record_only_where_its_rule_has_the_output(tmp_path, monkeypatch):
    fake_gpus(monkeypatch, names=("NVIDIA A100-SXM4-80GB",))
    monkeypatch.setattr(env, "nvidia_driver", lambda: "535.1")
    target = tmp_path / "shard1.environment.json"
    env.record_job(fake_snakemake(tmp_path, {"samples": "x", "environment": str(target)}),
                   {"math500": 11}, {"backend": "vllm"})
    record = json.loads(target.read_text())
    assert record["gpu_names"] == ["NVIDIA A100-SXM4-80GB"] and record["seeds"] == {"math500": 11}
    assert record["settings"] == {"backend": "vllm"} and record["wildcards"]["shard"] == "1"
    env.record_job(fake_snakemake(tmp_path, {"samples": "x"}), {}, {})  # tiny world: nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard1.environment.json"]


def record(host, names, driver="550", rule="sample_model", config=CONFIG, **packages):
    return {"rule": rule, "hostname": host, "gpu_names": names,
            "gpu_count": 0 if names == "none" else len(names), "nvidia_driver": driver,
            "cuda": "none" if names == "none" else "12.4", "config_sha256": config_hash(config),
            "packages": {"torch": "2.5.1", "transformers": "4.46", "vllm": "0.6.3", "trl": "none",
                         **packages}}


def test_machines_group_jobs_by_host_gpus_and_versions():
    records = {"a.json": record("node1", ["H100"]), "b.json": record("node1", ["H100"]),
               "c.json": record("node2", ["H100", "H100"], rule="train_paper_rl", trl="0.12"),
               "d.json": record("node1", ["H100"], vllm="0.7.0")}
    machines = env.machines(records)
    assert [(m["hostname"], m["gpu_count"], m["vllm"], m["jobs"]) for m in machines] == \
        [("node1", 1, "0.6.3", 2), ("node2", 2, "0.6.3", 1), ("node1", 1, "0.7.0", 1)]
    assert machines[1]["rules"] == {"train_paper_rl": 1} and machines[1]["trl"] == "0.12"


def test_provenance_merges_the_records_and_names_jobs_of_another_config(tmp_path):
    other = {**CONFIG, "seed": 1}
    records = {"a.json": record("node1", ["H100"]), "b.json": record("cpu1", "none", "none",
                                                                     config=other)}
    merged = env.checkpoint_provenance(CONFIG, {"seed": 0}, [
        {"model": "m", "revision_or_sha256": "Org/M-7B@abc sha256:def"}], records, tmp_path)
    assert merged["config_sha256"] == config_hash(CONFIG) and merged["seeds"] == {"seed": 0}
    assert merged["checkpoints"] == {"m": "Org/M-7B@abc sha256:def"}
    assert merged["jobs"] == records and len(merged["machines"]) == 2
    assert merged["jobs_under_other_config"] == ["b.json"]
    assert merged["git"] == {"commit": None, "dirty": None}  # tmp_path is no checkout
    section = machines_section(merged)
    assert "| node1 | H100 | 1 | 550 | 12.4 | 2.5.1 |" in section
    assert "| cpu1 | none | 0 | none | none |" in section
    assert "1 job(s) ran under a config" in section


def test_a_study_without_gpu_jobs_says_so(tmp_path):
    merged = env.checkpoint_provenance(CONFIG, {}, [], {}, tmp_path)
    assert "No GPU job ran" in machines_section(merged)
