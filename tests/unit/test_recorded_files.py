"""Normalised benchmark files and the tiny world's training data carry the sha256 their job
recorded; a file edited after it was written stops every job that reads it, naming the file
and the command that writes it again (rlvr_boundary.workflow.recorded)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import runpy
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from rlvr_boundary.grading.counting import grade_benchmark
from rlvr_boundary.sampling.benchmarks import read_normalised, write_normalised
from rlvr_boundary.sampling.job import sample_job
from rlvr_boundary.stats.seeds import derive_seed
from rlvr_boundary.training.rl_job import read_prompts, run_rule
from rlvr_boundary.workflow.recorded import (
    RecordedFileChanged,
    read_recorded_parquet,
    record_path,
    write_recorded_parquet,
)
from rlvr_boundary.world.data import problems_frame
from rlvr_boundary.world.task import Problem
from workflow_runner import REPO, TEST_CONFIG, run_snakemake

BENCHMARK = problems_frame([Problem(4, (("+", 3), ("*", 2))), Problem(1, (("-", 2),))], "b")
GRADER = {"kind": "tiny_world", "claim_metric": "trace"}
SAMPLES = pd.DataFrame({"problem_id": ["b-00000"], "sample_id": [0], "completion": ["+3=7*2=4|4"],
                        "finish_reason": ["stop"], "completion_tokens": [10]})


def _edit_in_place(path: Path, old: bytes, new: bytes) -> None:
    """Same size, same mtime: nothing but the bytes tells the edit."""
    assert len(old) == len(new)
    info = path.stat()
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def _tiny_benchmark(tmp_path: Path) -> Path:
    path = tmp_path / "results" / "data" / "benchmarks" / "b.parquet"
    write_recorded_parquet(BENCHMARK, path)
    return path


# --- the tiny world's benchmark tables --------------------------------------------------------


def test_a_recorded_table_reads_back_and_its_record_is_sha256sum_format(tmp_path):
    path = _tiny_benchmark(tmp_path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert record_path(path).read_text() == f"{digest}  b.parquet\n"
    check = subprocess.run(["sha256sum", "-c", record_path(path).name], cwd=path.parent,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    pd.testing.assert_frame_equal(read_recorded_parquet(path), BENCHMARK)


def test_a_table_edited_in_place_is_refused_naming_it_and_its_rebuild(tmp_path):
    path = _tiny_benchmark(tmp_path)
    prompt = BENCHMARK.prompt.iloc[0].encode()
    _edit_in_place(path, prompt, prompt.replace(b"4", b"5", 1))
    with pytest.raises(RecordedFileChanged, match=rf"^{path}: sha256 [0-9a-f]{{64}} differs from "
                       rf"[0-9a-f]{{64}} recorded in {record_path(path)} .*`snakemake --forcerun "
                       rf"{path}`"):
        read_recorded_parquet(path)


def test_a_table_without_its_record_or_with_a_broken_one_is_refused(tmp_path):
    path = _tiny_benchmark(tmp_path)
    record_path(path).write_text("not a digest\n")
    with pytest.raises(RecordedFileChanged, match="not a sha256 record"):
        read_recorded_parquet(path)
    record_path(path).unlink()
    with pytest.raises(RecordedFileChanged, match=rf"^{path}: no sha256 recorded for it "
                       rf"\({record_path(path)} is missing\)"):
        read_recorded_parquet(path)


def test_grading_and_sampling_refuse_an_edited_tiny_benchmark(tmp_path):
    path = _tiny_benchmark(tmp_path)
    assert grade_benchmark(SAMPLES, str(path), GRADER).correct.tolist() == [True]
    prompt = BENCHMARK.prompt.iloc[1].encode()
    _edit_in_place(path, prompt, prompt.replace(b"-", b"+", 1))
    with pytest.raises(RecordedFileChanged, match=str(path)):
        grade_benchmark(SAMPLES, str(path), GRADER)
    # The benchmark is read before the model is loaded: no checkpoint needed to see it refused.
    job = {"engine": "tiny_world", "benchmarks": {"b": {"seed": 1}}, "device": "cpu",
           "sampling": {"shards": 1, "n": 1, "top_p": 1.0, "max_new_tokens": 8, "batch_size": 8}}
    with pytest.raises(RecordedFileChanged, match=str(path)):
        sample_job(str(tmp_path / "no-model"), [str(path)], job, 0, 1.0, 1)


# --- the tiny world's training data: train.parquet and rl_prompts.parquet ---------------------


def _run_script(name: str, snakemake, monkeypatch) -> None:
    """A rule script as Snakemake runs it (its log set-up left out: pytest keeps the log)."""
    monkeypatch.setattr("rlvr_boundary.workflow.job_io.start_job",
                        lambda path: logging.getLogger("job"))
    runpy.run_path(str(REPO / "scripts" / name), init_globals={"snakemake": snakemake})


def _task_data(tmp_path: Path, monkeypatch) -> Path:
    """results/data as make_task_data writes it for the test config (its script, ~1 s)."""
    config = yaml.safe_load((REPO / TEST_CONFIG).read_text())
    data, names = tmp_path / "results" / "data", sorted(config["benchmarks"])
    output = SimpleNamespace(
        world=str(data / "world.json"), train=str(data / "train.parquet"),
        rl_prompts=str(data / "rl_prompts.parquet"),
        train_record=str(data / "train.parquet.sha256"),
        rl_prompts_record=str(data / "rl_prompts.parquet.sha256"),
        benchmarks=[str(data / "benchmarks" / f"{b}.parquet") for b in names],
        benchmark_records=[str(data / "benchmarks" / f"{b}.parquet.sha256") for b in names])
    params = SimpleNamespace(seed=derive_seed(config["seed"], "data"), world=config["world"],
                             data=config["data"], benchmarks=config["benchmarks"])
    _run_script("make_task_data.py", SimpleNamespace(output=output, params=params, log=["-"]),
                monkeypatch)
    return data


def _rl_rule_job(tmp_path: Path, prompts: Path) -> SimpleNamespace:
    """A train_rl job as scripts/train_rl.py passes it to run_rule."""
    return SimpleNamespace(
        input=SimpleNamespace(prompts=str(prompts)), threads=1,
        params=SimpleNamespace(rl={"steps": 2, "prompts": 16}, seed=0, device="cpu"),
        output=SimpleNamespace(checkpoints=str(tmp_path / "ckpt"), model=str(tmp_path / "rl"),
                               history=str(tmp_path / "history.csv")))


def test_make_task_data_records_the_training_data_and_training_reads_it(tmp_path, monkeypatch):
    data = _task_data(tmp_path, monkeypatch)
    for name in ["train.parquet", "rl_prompts.parquet"]:
        path = data / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert record_path(path).read_text() == f"{digest}  {name}\n"
        pd.testing.assert_frame_equal(read_recorded_parquet(path), pd.read_parquet(path))
    prompts = data / "rl_prompts.parquet"
    table = read_prompts({"prompts": str(prompts), "prompts_recorded": True})
    pd.testing.assert_frame_equal(table, pd.read_parquet(prompts))
    assert len(table) == 200 and table.prompt.str.endswith("=").all()


def test_rl_training_refuses_edited_rl_prompts_naming_the_file(tmp_path, monkeypatch):
    prompts = _task_data(tmp_path, monkeypatch) / "rl_prompts.parquet"
    table = pd.read_parquet(prompts)
    data = prompts.read_bytes()
    prompt = next(p.encode() for p in table.prompt if p.encode() in data)  # stored uncompressed
    _edit_in_place(prompts, prompt, str((int(prompt[:1]) + 1) % 10).encode() + prompt[1:])
    # The base is never loaded: the prompts are checked first.
    with pytest.raises(RecordedFileChanged, match=rf"^{prompts}: sha256 [0-9a-f]{{64}} differs "
                       rf"from [0-9a-f]{{64}} recorded in {record_path(prompts)} .*"
                       rf"`snakemake --forcerun {prompts}`"):
        run_rule(_rl_rule_job(tmp_path, prompts), str(tmp_path / "no-model"), [],
                 prompts_recorded=True)
    record_path(prompts).unlink()
    with pytest.raises(RecordedFileChanged, match=rf"^{prompts}: no sha256 recorded for it"):
        read_prompts({"prompts": str(prompts), "prompts_recorded": True})
    # A trained model's prompts (make_rl_prompts) have no record and are read as they are.
    assert len(read_prompts({"prompts": str(prompts), "prompts_recorded": False})) == len(table)


@pytest.mark.parametrize("script", ["pretrain.py", "build_distillation_set.py"])
def test_pretraining_and_distillation_refuse_an_edited_train_file(tmp_path, monkeypatch, script):
    """A row fixed by hand and the table written back with pandas: the job stops before it
    builds or loads a model, naming the file."""
    train = _task_data(tmp_path, monkeypatch) / "train.parquet"
    table = pd.read_parquet(train)
    table.loc[0, "answer"] = str((int(table.answer.iloc[0]) + 1) % 10)
    table.to_parquet(train, index=False)
    snakemake = SimpleNamespace(
        input=SimpleNamespace(world="unused", train=str(train),
                              teacher=str(tmp_path / "no-teacher")),
        params=SimpleNamespace(noisy=False, spec={}, max_positions=48, seed=0, device="cpu",
                               distill={}, max_new_tokens=8),
        output=SimpleNamespace(), threads=1, log=["-"])
    with pytest.raises(RecordedFileChanged, match=rf"^{train}: sha256 .* recorded in "
                       rf"{record_path(train)} .*`snakemake --forcerun {train}`"):
        _run_script(script, snakemake, monkeypatch)


def test_pretraining_reads_an_unedited_train_file(tmp_path, monkeypatch):
    """The same script on the file as make_task_data wrote it: a (2-step) base is saved."""
    train = _task_data(tmp_path, monkeypatch) / "train.parquet"
    spec = {"architecture": {"hidden_size": 32, "intermediate_size": 32, "num_hidden_layers": 1,
                             "num_attention_heads": 2},
            "pretrain": {"depths": [1, 2], "steps": 2, "batch_size": 4, "learning_rate": 1e-3}}
    snakemake = SimpleNamespace(
        input=SimpleNamespace(world="unused", train=str(train)),
        params=SimpleNamespace(noisy=False, spec=spec, max_positions=48, seed=0, device="cpu"),
        output=SimpleNamespace(model=str(tmp_path / "base"), history=str(tmp_path / "h.csv")),
        threads=1, log=["-"])
    _run_script("pretrain.py", snakemake, monkeypatch)
    assert (tmp_path / "base" / "config.json").exists()
    assert len(pd.read_csv(tmp_path / "h.csv")) > 0


# --- a real benchmark's problems.jsonl, against its manifest ------------------------------------


def _real_benchmark(tmp_path: Path) -> Path:
    path = tmp_path / "results" / "benchmarks" / "mini" / "problems.jsonl"
    table = pd.DataFrame({"problem_id": ["mini/0", "mini/1"], "question": ["1+1?", "2+2?"],
                          "reference_answer": ["2", "4"], "source": ["t", "t"]})
    write_normalised(table, {"benchmark": "mini"}, path, path.with_name("manifest.json"))
    return path


def test_an_edited_normalised_benchmark_is_refused_by_every_reader(tmp_path):
    path = _real_benchmark(tmp_path)
    assert read_normalised(path).reference_answer.tolist() == ["2", "4"]
    _edit_in_place(path, b'"reference_answer": "4"', b'"reference_answer": "5"')
    manifest = path.with_name("manifest.json")
    with pytest.raises(RecordedFileChanged, match=rf"^{path}: sha256 .* recorded in {manifest} "
                       rf".*`snakemake --forcerun {path}`"):
        read_normalised(path)
    with pytest.raises(RecordedFileChanged, match=str(path)):
        grade_benchmark(SAMPLES.assign(problem_id="mini/1"), str(path),
                        {"kind": "math", "timeout_s": 5})
    job = {"engine": "checkpoint", "benchmarks": {"mini": {"seed": 1, "template": "{question}",
                                                            "n": 1}},
           "sampling": {"shards": 1}, "device": "cpu"}
    with pytest.raises(RecordedFileChanged, match=str(path)):
        sample_job(str(tmp_path / "no-model"), [str(path)], job, 0, 1.0, 1)


def test_a_normalised_benchmark_without_a_usable_manifest_is_refused(tmp_path):
    path = _real_benchmark(tmp_path)
    manifest = path.with_name("manifest.json")
    manifest.write_text(json.dumps({"benchmark": "mini"}))
    with pytest.raises(RecordedFileChanged, match=f"{manifest} has no normalised_sha256"):
        read_normalised(path)
    manifest.unlink()
    with pytest.raises(RecordedFileChanged, match=f"{manifest} is missing"):
        read_normalised(path)


# --- the rule ---------------------------------------------------------------------------------


def test_make_task_data_records_each_table_it_writes(tmp_path):
    """The rule declares the records as outputs and its job writes them (one job, ~3 s)."""
    run_snakemake(tmp_path, "-s", str(REPO / "Snakefile"), "--configfile",
                  str(REPO / TEST_CONFIG), "--cores", "1", "results/data/world.json", timeout=300)
    tables = sorted((tmp_path / "results/data/benchmarks").glob("*.parquet"))
    assert len(tables) >= 2
    assert sorted((tmp_path / "results/data/benchmarks").glob("*.sha256")) == [
        record_path(table) for table in tables]
    data = tmp_path / "results/data"
    assert sorted(data.glob("*.sha256")) == [data / "rl_prompts.parquet.sha256",
                                             data / "train.parquet.sha256"]
    for table in [*tables, data / "train.parquet", data / "rl_prompts.parquet"]:
        read_recorded_parquet(table)
