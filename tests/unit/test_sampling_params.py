"""A sampling or scoring job's params hold what changes its output, and only that: a change
of one of them reruns the job, a change of anything else reruns nothing.

At paper scale on GPUs a vLLM engine split over n GPUs (tensor parallel) sums every matrix
product in n parts: other bits, other samples, so each sampling job has its own model's
split as a param (paper_plan.model_tensor_parallel; a change reruns that size class's jobs
only). Where the bytes do not change, nothing is a param: on a CPU in float32 the sampler's
batch_size (tests/unit/test_batch_invariance.py) and the scorers' batch_size
(tests/unit/test_perplexity.py), the GPU map on a CPU, memory, runtime, the other
temperatures. The params are read from the rules themselves: the workflow is parsed
(Snakemake's API, in a subprocess: ~3-5 s for all cases) and sample_model's `job` param
evaluated for given wildcards.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from rlvr_boundary.sampling.checkpoints import _sample_vllm
from rlvr_boundary.workflow.paper_plan import load_study_config, model_gpus, model_tensor_parallel
from workflow_runner import REPO

PAPER = load_study_config(REPO / "configs/paper.yaml", REPO / "configs/catalog.yaml")
SIZES = {"qwen25_7b": 1, "qwen25_14b": 2, "qwen25_32b": 4}  # configs/paper.yaml
TINY_MODEL = "tdeep-base"  # configs/test.yaml

PROBE = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.iocontainers import Wildcards
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

repo, cases = Path(sys.argv[1]), json.loads(sys.argv[2])
SCORING = ("score_perplexity", "score_checkpoint_perplexity", "measure_checkpoint_entropy")
found = []
for configfile, overrides, wildcards in cases:
    with SnakemakeApi(OutputSettings()) as api:
        workflow = api.workflow(
            snakefile=repo / "Snakefile", workdir=Path.cwd(), resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[repo / configfile], config=overrides))._workflow
        rule = workflow.get_rule("sample_model")
        gpus = workflow.globals["SAMPLING_RESOURCES"].get("gpu", 0)  # what the rule holds
        jobs = [{"job": rule.params.job(Wildcards(fromdict=w)),
                 "gpu": gpus(Wildcards(fromdict=w)) if callable(gpus) else gpus} for w in wildcards]
        # The scoring rules' params that take no wildcards.
        scoring = {name: {key: value for key, value in workflow.get_rule(name).params.items()
                          if not callable(value) and key != "code"}
                   for name in SCORING if name in {rule.name for rule in workflow.rules}}
        found.append({"sampling": jobs, "scoring": scoring})
print("PARAMS " + json.dumps(found, default=str))
"""


def _paper_job(model: str) -> dict:
    return {"model": model, "group": "math500", "temperature": "0.6", "shard": "0", "block": "0"}


def _tiny_job() -> dict:
    return {"model": TINY_MODEL, "group": "all", "temperature": "1.0", "shard": "0", "block": "0"}


CASES = {  # name: (configfile, --config overrides, wildcards of the jobs compared)
    "paper": ("configs/paper.yaml", {}, [_paper_job(m) for m in SIZES]),
    "paper_32b_on_2": ("configs/paper.yaml", {"sampling": {"tensor_parallel": {"32b": 2}}},
                       [_paper_job(m) for m in SIZES]),
    "paper_other_machine": ("configs/paper.yaml",
                            {"sampling": {"mem_mb": 1000, "runtime_minutes": 5,
                                          "temperatures": [0.6, 1.0]}},
                            [_paper_job(m) for m in SIZES]),
    "paper_gpu_hf": ("configs/paper.yaml", {"sampling": {"backend": "hf", "batch_size": 8}},
                     [_paper_job("qwen25_32b")]),
    "paper_cpu": ("configs/paper.yaml", {"device": "cpu", "sampling": {
        "backend": "hf", "dtype": "float32", "batch_size": 8}}, [_paper_job("qwen25_32b")]),
    "paper_cpu_other": ("configs/paper.yaml", {"device": "cpu", "sampling": {
        "backend": "hf", "dtype": "float32", "batch_size": 64, "tensor_parallel": {"32b": 8}},
        "studies": {"perplexity": {"batch_size": 9}, "temperatures": {"batch_size": 9}}},
        [_paper_job("qwen25_32b")]),
    # math500 at n = 128 (its catalog n), then raised to 1,024: block 0 is the same job.
    "paper_more_samples": ("configs/paper.yaml", {"n_overrides": {"qwen25_7b": {"math500": 1024}}},
                           [_paper_job("qwen25_7b"), {**_paper_job("qwen25_7b"), "block": "7"}]),
    "tiny": ("configs/test.yaml", {}, [_tiny_job()]),
    "tiny_more_samples": ("configs/test.yaml", {"sampling": {"n": 48}},
                          [_tiny_job(), {**_tiny_job(), "block": "2"}]),
    "tiny_other_batch": ("configs/test.yaml", {"sampling": {"batch_size": 3}, "studies": {
        "perplexity": {"batch_size": 5}}}, [_tiny_job()]),
}


@pytest.fixture(scope="module")
def params(tmp_path_factory) -> dict[str, list[dict]]:
    cases = list(CASES.values())
    result = subprocess.run([sys.executable, "-c", PROBE, str(REPO), json.dumps(cases)],
                            cwd=tmp_path_factory.mktemp("parse"), capture_output=True,
                            text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("PARAMS ")]
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-3000:]
    return dict(zip(CASES, json.loads(lines[0].removeprefix("PARAMS "))))


def _sampling(found: dict) -> list[dict]:
    return [entry["job"]["sampling"] for entry in found["sampling"]]


def test_a_vllm_job_on_gpus_has_its_own_models_split_as_a_param(params):
    for entry, (model, size) in zip(params["paper"]["sampling"], SIZES.items()):
        assert entry["job"]["sampling"]["tensor_parallel_size"] == size == entry["gpu"], model
        # The size -> GPUs map is not: another class's change must not rerun this model.
        assert "tensor_parallel" not in entry["job"]["sampling"]


def test_a_changed_split_reruns_that_size_class_alone(params):
    before, after = params["paper"]["sampling"], params["paper_32b_on_2"]["sampling"]
    changed = [m for m, old, new in zip(SIZES, before, after) if old["job"] != new["job"]]
    assert changed == ["qwen25_32b"]
    assert after[2]["job"]["sampling"]["tensor_parallel_size"] == 2 == after[2]["gpu"]
    old, new = copy.deepcopy(before[2]["job"]), copy.deepcopy(after[2]["job"])
    for job in (old, new):
        del job["sampling"]["tensor_parallel_size"]
    assert old == new  # nothing else moved


def test_memory_runtime_and_other_temperatures_are_no_params(params):
    other, paper = params["paper_other_machine"]["sampling"], params["paper"]["sampling"]
    assert [entry["job"] for entry in other] == [entry["job"] for entry in paper]


def test_hf_holds_one_device_and_keeps_batch_size_on_a_gpu(params):
    (sampling,) = _sampling(params["paper_gpu_hf"])
    assert "tensor_parallel_size" not in sampling  # nothing to split
    assert sampling["batch_size"] == 8  # a GPU's kernels follow the batch: not measured


def test_on_a_cpu_in_float32_batch_size_and_the_gpu_map_are_no_params(params):
    assert params["paper_cpu"] == params["paper_cpu_other"]
    (sampling,) = _sampling(params["paper_cpu"])
    assert not {"batch_size", "tensor_parallel", "tensor_parallel_size"} & set(sampling)
    assert sampling["dtype"] == "float32"  # the dtype changes every bit: a param
    assert params["tiny"] == params["tiny_other_batch"]
    (tiny,) = _sampling(params["tiny"])
    assert not {"batch_size", "temperatures"} & set(tiny)


def test_scoring_batch_size_is_a_param_only_where_it_can_change_a_score(params):
    """analyses.perplexity.batch_size_param in the rules: one length per batch makes scores
    on a CPU in float32 independent of it; the vLLM backends never read it."""
    tiny = params["tiny"]["scoring"]["score_perplexity"]
    assert tiny["batch_size"] is None and "batch_size" not in tiny["study"]
    assert params["tiny"]["scoring"] == params["tiny_other_batch"]["scoring"]
    on_gpus = params["paper"]["scoring"]  # vLLM scores, transformers measures entropy (bf16)
    assert on_gpus["score_checkpoint_perplexity"]["batch_size"] is None
    assert on_gpus["measure_checkpoint_entropy"]["batch_size"] == 4
    assert params["paper_gpu_hf"]["scoring"]["score_checkpoint_perplexity"]["batch_size"] == 4
    on_cpu = params["paper_cpu"]["scoring"]
    assert set(on_cpu) == {"score_checkpoint_perplexity", "measure_checkpoint_entropy"}
    assert all(rule["batch_size"] is None for rule in on_cpu.values())
    assert on_cpu == params["paper_cpu_other"]["scoring"]  # other batch sizes: the same


def test_model_tensor_parallel_follows_backend_and_device():
    assert [model_tensor_parallel(PAPER, m) for m in SIZES] == [
        {"tensor_parallel_size": n} for n in SIZES.values()]
    assert all(model_tensor_parallel(PAPER, m)["tensor_parallel_size"] == model_gpus(PAPER, m)
               for m in SIZES)
    for change in ({"device": "cpu"}, {"sampling": {"backend": "hf"}},
                   {"sampling": {"backend": "vllm-cpu"}}):
        config = copy.deepcopy(PAPER)
        for key, value in change.items():
            config[key] = {**config[key], **value} if isinstance(value, dict) else value
        assert model_tensor_parallel(config, "qwen25_32b") == {}, change


def test_a_job_holding_other_gpus_than_its_split_is_refused_before_the_engine_starts():
    settings = {"backend": "vllm", "tensor_parallel_size": 4, "max_model_len": 64}
    with pytest.raises(ValueError, match=r"holds 2 GPU\(s\), its tensor_parallel_size param is 4"):
        _sample_vllm("no-model", ["q"], 1, 1.0, settings, 0, 2, [], [])


def test_raising_n_leaves_the_first_blocks_jobs_as_they_were(params):
    # n is no param; a job's block (its sample ids) and seed are (sampling/blocks.py).
    for small, large in (("paper", "paper_more_samples"), ("tiny", "tiny_more_samples")):
        first = params[small]["sampling"][0]["job"]
        assert params[large]["sampling"][0]["job"] == first, small
        assert first["block"] == {"index": 0, "start": 0, "samples": 16 if small == "tiny" else 128}
        last = params[large]["sampling"][1]["job"]
        assert last["block"]["start"] == (896 if small == "paper" else 32) and last["block"]["index"] > 0
        assert {spec["seed"] for spec in last["benchmarks"].values()}.isdisjoint(
            {spec["seed"] for spec in first["benchmarks"].values()})
