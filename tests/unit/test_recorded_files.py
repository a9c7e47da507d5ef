"""Normalised benchmark files carry the sha256 their job recorded; a file edited after it
was written stops every job that reads it, naming the file and the command that writes it
again (rlvr_boundary.workflow.recorded)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from rlvr_boundary.grading.counting import grade_benchmark
from rlvr_boundary.sampling.benchmarks import read_normalised, write_normalised
from rlvr_boundary.sampling.job import sample_job
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


def test_make_task_data_records_each_benchmark_it_writes(tmp_path):
    """The rule declares the records as outputs and its job writes them (one job, ~3 s)."""
    run_snakemake(tmp_path, "-s", str(REPO / "Snakefile"), "--configfile",
                  str(REPO / TEST_CONFIG), "--cores", "1", "results/data/world.json", timeout=300)
    tables = sorted((tmp_path / "results/data/benchmarks").glob("*.parquet"))
    assert len(tables) >= 2
    assert sorted((tmp_path / "results/data/benchmarks").glob("*.sha256")) == [
        record_path(table) for table in tables]
    for table in tables:
        read_recorded_parquet(table)
