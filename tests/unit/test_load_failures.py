"""A model that fails to load is recorded once, and every later job that would load it the
same way stops at its start, naming that failure (workflow.load_failures)."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from rlvr_boundary.sampling.benchmarks import write_normalised
from rlvr_boundary.workflow import load_failures
from rlvr_boundary.workflow.load_failures import (
    LoadFailureMemo, RecordedFailure, load_key, load_settings, model_loading, repeats,
    sampling_memo)
from tiny_hub import byte_tokenizer, tiny_model

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "sample_model.py"
SETTINGS = {"backend": "hf", "dtype": "float32", "max_model_len": None, "engine": None}


def test_where_a_failure_repeats():
    # Anything the checkpoint, the settings or the libraries decide: it repeats.
    assert repeats(ValueError("Unrecognized model in m: no model_type 'xyz'"))
    assert repeats(KeyError("model.layers.0.mlp.weight"))
    assert repeats(OSError("m does not appear to have a file named pytorch_model.bin"))
    assert repeats(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert repeats(RuntimeError("CUDA error: out of memory"))
    assert repeats(ValueError("No available memory for the cache blocks. Try increasing "
                              "`gpu_memory_utilization` when initializing the engine."))
    # Being stopped, timeouts, the file system's or the node's faults: they need not.
    assert not repeats(KeyboardInterrupt())
    assert not repeats(SystemExit(1))
    assert not repeats(TimeoutError("read timed out"))
    assert not repeats(ConnectionResetError())
    assert not repeats(OSError(errno.EIO, "Input/output error"))
    assert not repeats(OSError(errno.ESTALE, "Stale file handle"))
    assert not repeats(OSError(errno.ENOSPC, "No space left on device"))
    assert not repeats(RuntimeError("CUDA error: uncorrectable ECC error encountered"))
    assert not repeats(RuntimeError("NCCL error in: ProcessGroupNCCL.cpp, unhandled system error"))
    assert not repeats(RuntimeError("Found no NVIDIA driver on your system."))
    assert not repeats(RecordedFailure("an earlier job failed"))


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


def test_the_key_follows_the_files_the_load_settings_and_the_libraries(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    key, covers = load_key(str(folder), "", SETTINGS)
    assert load_key(str(folder), "", dict(SETTINGS))[0] == key
    assert covers["files"] == 2 and covers["settings"] == SETTINGS
    # What jobs of one model differ in is no part of it: the temperature, shard and
    # benchmarks are no load setting, nor is n or batch_size.
    job = {"engine": "checkpoint", "device": "cuda", "benchmarks": {"aime24": {"seed": 3}},
           "sampling": {**SETTINGS, "n": 8, "batch_size": 64, "shards": 4}}
    other = {**job, "benchmarks": {"math500": {"seed": 9}},
             "sampling": {**job["sampling"], "n": 256, "batch_size": 8}}
    assert load_settings(job, 1) == load_settings(other, 1)
    assert load_settings(job, 1) != load_settings(job, 2)  # tensor parallel: other GPUs
    # A load setting, a library version, a rewritten file (same bytes too) change it.
    assert load_key(str(folder), "", {**SETTINGS, "dtype": "bfloat16"})[0] != key
    versions = load_failures.library_versions()
    monkeypatch.setattr(load_failures, "library_versions",
                        lambda: {**versions, "transformers": "99.0"})
    assert load_key(str(folder), "", SETTINGS)[0] != key
    monkeypatch.undo()
    assert load_key(str(folder), "", SETTINGS)[0] == key
    (folder / "model.safetensors").write_bytes(b"weights")
    assert load_key(str(folder), "", SETTINGS)[0] != key
    # A model read through a manifest: the folder it names, and the manifest's bytes.
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"path": str(folder), "digest": "a" * 64}))
    via_manifest, covers = load_key(str(manifest), "", SETTINGS)
    assert covers["folder"] == str(folder) and covers["files"] == 2
    manifest.write_text(json.dumps({"path": str(folder), "digest": "b" * 64}))
    assert load_key(str(manifest), "", SETTINGS)[0] != via_manifest


def _memo(tmp_path: Path, key: str, name: str) -> LoadFailureMemo:
    return LoadFailureMemo(model="qwen-7b", key=key, job=f"sample_model {name}",
                           log_file=str(tmp_path / "logs" / f"{name}.log"),
                           failures_dir=tmp_path / "results" / "failures")


def _fail_loading(memo: LoadFailureMemo, error: BaseException) -> None:
    with pytest.raises(type(error)), memo.watching(), model_loading("loading the model"):
        raise error


def test_a_recorded_failure_refuses_jobs_of_the_same_key_only(tmp_path):
    first = _memo(tmp_path, "k1" * 32, "first")
    first.refuse_if_recorded()  # nothing recorded yet
    _fail_loading(first, ValueError("Unrecognized model: model_type 'qwen9'"))
    record = json.loads(first.marker.read_text())
    assert first.marker == tmp_path / "results" / "failures" / "qwen-7b.json"
    assert record["key"] == "k1" * 32 and record["job"] == "sample_model first"
    assert record["error"] == "ValueError: Unrecognized model: model_type 'qwen9'"
    assert record["during"] == "loading the model" and record["log"] == first.log_file
    assert any("raise error" in line for line in record["traceback"])

    # A second failure of the same key keeps the first one's record.
    _fail_loading(_memo(tmp_path, "k1" * 32, "second"), ValueError("again"))
    assert json.loads(first.marker.read_text())["job"] == "sample_model first"

    later = _memo(tmp_path, "k1" * 32, "later")
    with pytest.raises(RecordedFailure) as refused:
        later.refuse_if_recorded()
    message = str(refused.value)
    assert message.startswith("sample_model later: not started. Loading model 'qwen-7b' failed")
    assert "first failure: ValueError: Unrecognized model: model_type 'qwen9'" in message
    assert f"its log: {first.log_file}" in message
    assert f"`rm {first.marker}`, then run snakemake again" in message
    # ... and it ends the refused job's own log.
    assert message in Path(later.log_file).read_text()

    # Another key (the cause fixed: new files, settings or libraries): loaded again, and the
    # outdated record goes once the model has loaded.
    fixed = _memo(tmp_path, "k2" * 32, "fixed")
    fixed.refuse_if_recorded()
    with fixed.watching():
        with model_loading():
            pass
    assert not first.marker.exists()


def test_only_failures_while_loading_that_repeat_are_recorded(tmp_path):
    memo = _memo(tmp_path, "k" * 64, "job")
    for error in [KeyboardInterrupt(), OSError(errno.EIO, "Input/output error"),
                  RuntimeError("CUDA error: an illegal memory access was encountered")]:
        _fail_loading(memo, error)
    assert not memo.marker.exists()
    # After the load: a failure of this job only (a long prompt, OOM mid-generation).
    with pytest.raises(RuntimeError), memo.watching():
        with model_loading():
            pass
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")
    assert not memo.marker.exists()
    # Outside a job's watch (tests, notebooks): nothing is recorded.
    with pytest.raises(ValueError), model_loading():
        raise ValueError("bad config")
    assert not memo.marker.exists()
    # Nested loading steps (verification inside the load) record once, the first error.
    with pytest.raises(ValueError), memo.watching(), model_loading("outer"):
        with model_loading("verifying the checkpoint's files"):
            raise ValueError("config.json: sha256 differs")
    assert json.loads(memo.marker.read_text())["during"] == "verifying the checkpoint's files"


# --- the sampling job itself (scripts/sample_model.py, run as Snakemake runs it) -----------

DRIVER = textwrap.dedent("""
    import json, runpy, sys, time
    from pathlib import Path

    class NS(dict):  # Snakemake's named lists: attributes, and keys() and items()
        def __init__(self, **fields):
            super().__init__(fields)
            self.__dict__.update(fields)

    args = json.loads(sys.argv[1])
    Path(args["log"]).parent.mkdir(parents=True, exist_ok=True)  # as Snakemake does
    snakemake = NS(wildcards=NS(**args["wildcards"]), input=NS(**args["input"]),
                   output=NS(**args["output"]), params=NS(job=args["job"]),
                   resources=NS(gpu=0), log=[args["log"]], config={"sampling": {}}, threads=1)
    started = time.perf_counter()
    try:
        runpy.run_path(args["script"], init_globals={"snakemake": snakemake},
                       run_name="__main__")
        outcome = {"done": True}
    except Exception as error:
        outcome = {"error": type(error).__name__, "message": str(error)}
    outcome["seconds"] = time.perf_counter() - started
    outcome["imported"] = sorted(m for m in ("torch", "transformers", "pandas")
                                 if m in sys.modules)
    print(json.dumps(outcome))
""")


def _sampling_job(tmp_path: Path, model: Path, shard: int, temperature: str) -> dict:
    benchmark = tmp_path / "results" / "benchmarks" / "mini" / "problems.jsonl"
    if not benchmark.exists():
        table = pd.DataFrame({"problem_id": ["mini/0", "mini/1"], "question": ["1+1?", "2+2?"],
                              "reference_answer": ["2", "4"], "source": ["t", "t"]})
        write_normalised(table, {"benchmark": "mini"}, benchmark,
                         benchmark.with_name("manifest.json"))
    name = f"T{temperature}-shard{shard}"
    args = {
        "script": str(SCRIPT), "log": f"logs/sample_model/{name}.log",
        "wildcards": {"model": "tiny-hf", "group": "mini", "temperature": temperature,
                      "shard": str(shard), "block": "0"},
        "input": {"model": str(model), "benchmarks": [str(benchmark)]},
        "output": {"samples": f"results/samples/{name}.parquet"},
        "job": {"engine": "checkpoint", "device": "cpu",
                "benchmarks": {"mini": {"seed": 7, "template": "Q: {question}\nA:"}},
                "block": {"index": 0, "start": 0, "samples": 2},
                "sampling": {"backend": "hf", "dtype": "float32", "top_p": 1.0, "shards": 2,
                             "max_new_tokens": 4, "batch_size": 8}},
    }
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(args)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return {**json.loads(done.stdout.strip().splitlines()[-1]), **args}


def test_a_model_that_fails_to_load_stops_its_later_jobs_at_their_start(tmp_path):
    # A snapshot of an architecture the installed transformers does not know.
    model = tmp_path / "checkpoint"
    byte_tokenizer().save_pretrained(model)
    (model / "config.json").write_text('{"model_type": "no_such_architecture"}')

    first = _sampling_job(tmp_path, model, shard=0, temperature="0.6")
    assert first["error"] == "ValueError" and "no_such_architecture" in first["message"]
    marker = tmp_path / "results" / "failures" / "tiny-hf.json"
    record = json.loads(marker.read_text())
    assert record["log"] == first["log"] and "no_such_architecture" in record["error"]
    assert record["job"] == "sample_model tiny-hf/mini/T0.6/shard0_block0"

    # Another job of the model (other shard and temperature): refused at once, before
    # torch, transformers or even pandas are imported.
    second = _sampling_job(tmp_path, model, shard=1, temperature="1.0")
    assert second["error"] == "RecordedFailure", second
    assert second["seconds"] < 1.0 and second["imported"] == [], second
    assert "sample_model tiny-hf/mini/T1.0/shard1_block0: not started" in second["message"]
    assert f"its log: {first['log']}" in second["message"]
    assert f"`rm {Path('results/failures/tiny-hf.json')}`" in second["message"]
    assert "no_such_architecture" in (tmp_path / second["log"]).read_text()
    assert not (tmp_path / second["output"]["samples"]).exists()

    # The cause fixed (the checkpoint written again): the job runs, the record goes.
    tokenizer = byte_tokenizer()
    tiny_model(tokenizer, seed=0, max_positions=256).save_pretrained(model)
    tokenizer.save_pretrained(model)
    third = _sampling_job(tmp_path, model, shard=1, temperature="1.0")
    assert third.get("done"), third
    assert len(pd.read_parquet(tmp_path / third["output"]["samples"])) == 2  # 1 problem x n=2
    assert not marker.exists()
    log = (tmp_path / third["log"]).read_text()
    assert "holds a failure for other checkpoint files" in log
    assert "removed the outdated failure record" in log


def test_the_sampling_memo_of_a_job(tmp_path):
    folder = _folder(tmp_path)
    job = {"engine": "checkpoint", "device": "cuda", "sampling": SETTINGS, "benchmarks": {}}
    memo = sampling_memo("m", str(folder), job, 2, "logs/x.log", "sample_model m/x",
                         failures_dir=tmp_path / "failures")
    assert memo.key == load_key(str(folder), "", load_settings(job, 2))[0]
    assert memo.marker == tmp_path / "failures" / "m.json" and memo.log_file == "logs/x.log"
