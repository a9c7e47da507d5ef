"""GPU hours and disk of a checkpoint study, from its planned jobs, before any GPU hour starts.

The plan is the workflow's own (rlvr_boundary.workflow.paper_plan): every sampling job (model x
benchmark x temperature x shard x sample block, with the model's n, max_new_tokens, size class
and GPUs), the perplexity and entropy scoring jobs and the RL runs. The rates are ASSUMPTIONS
(configs/catalog.yaml `estimate`, a study's `estimate:` block overrides them): replace them with a
smoke run's measured ones (``--measured DIR`` reads that run's samples and benchmark files).

    python -m rlvr_boundary.workflow.estimate --configfile configs/paper.yaml
    python -m rlvr_boundary.workflow.estimate --configfile configs/paper.yaml --measured runs/smoke

How each number is made (tokens per sample = mean_completion_share x the model's max_new_tokens):

- sample_model: problems x n x tokens per sample, over the decode rate per GPU of the model's size
  class (an engine on g GPUs is taken to generate g times as fast: the GPU hours do not change),
  plus start-up seconds x GPUs per job.
- score_checkpoint_perplexity / measure_checkpoint_entropy: the scored responses' prompt and
  completion tokens, once per scoring model, over the prefill rate per GPU.
- train_paper_rl: the rollouts' tokens at the decode rate, plus the update's FLOPs (8 x
  parameters per token: forward, backward and the old-policy pass; +2 with a KL reference; twice
  for PPO's critic) at train_flops_per_gpu_second.
- disk: every generated token at bytes_per_token, twice (samples and the scored table that
  repeats their text); checkpoints: each fetched Hub model once and each trained model's final
  and intermediate checkpoints, parameters x bytes_per_parameter.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .paper_plan import (
    algorithm_study_models,
    benchmark_shards,
    model_blocks,
    model_gpus,
    paper_evaluations,
    plan_checkpoint_studies,
    samples_per_problem,
    temperature_study_models,
    trained_models,
    training_settings,
    with_catalog,
    without_unpinned,
)

RULES = ("sample_model", "score_checkpoint_perplexity", "measure_checkpoint_entropy",
         "train_paper_rl")
REPO = Path(__file__).resolve().parents[3]
_SIZE_IN_NAME = re.compile(r"(?<![0-9.])(\d+(?:\.\d+)?)[bB](?![a-zA-Z])")


def assumptions(catalog: dict, config: dict) -> dict:
    """The catalog's assumed rates with a study's own `estimate:` values over them."""
    merged = dict(catalog.get("estimate") or {})
    for key, value in (config.get("estimate") or {}).items():
        merged[key] = ({**merged.get(key, {}), **value} if isinstance(value, dict)
                       else value)
    return merged


def size_class(config: dict, model: str) -> str | None:
    """A model's size class: its `size`, else a parent's, else the number before "B" in its Hub
    id (Qwen/Qwen2.5-7B -> 7b); None when none says."""
    entry = config["models"][model]
    if entry.get("size"):
        return str(entry["size"])
    match = _SIZE_IN_NAME.search(str(entry.get("hub", "")).rsplit("/", 1)[-1])
    if match:
        return f"{match.group(1)}b"
    parent = entry.get("parent") or entry.get("checkpoint_of")
    return size_class(config, parent) if parent in config["models"] else None


def benchmark_problems(config: dict, benchmark: str) -> int | None:
    """Problems sampled per model: `limit`, else `expected_rows`, else the local file's lines."""
    spec = config["benchmarks"][benchmark]
    rows = spec.get("expected_rows")
    if spec.get("limit"):
        return int(min(spec["limit"], rows or spec["limit"]))
    if rows:
        return int(rows)
    path = REPO / spec["file"] if spec.get("file") else None
    if path is not None and path.is_file():
        return sum(1 for line in path.read_text().splitlines() if line.strip())
    return None


def _max_new_tokens(config: dict, model: str) -> int:
    return int(config["models"][model].get("max_new_tokens", config["sampling"]["max_new_tokens"]))


def _rate(table: dict, size: str | None) -> float | None:
    value = (table or {}).get(size) if size else None
    return float(value) if value else None


def _gpus(config: dict, model: str) -> int:
    """GPUs a job holds; a CPU study's jobs are counted as on one GPU each (what they would
    hold on a GPU node)."""
    return max(1, model_gpus({**config, "device": "cuda"}, model))


def sampling_jobs(config: dict) -> list[dict]:
    """Every planned sampling table: model, benchmark, temperature, its jobs (shards x sample
    blocks), problems, n, max_new_tokens, size class and GPUs per job."""
    jobs = []
    for model, benchmark, temperature in paper_evaluations(config):
        jobs.append(dict(model=model, benchmark=benchmark, temperature=temperature,
                         jobs=benchmark_shards(config, benchmark)
                         * len(model_blocks(config, model, benchmark)),
                         problems=benchmark_problems(config, benchmark),
                         n=samples_per_problem(config, model, benchmark),
                         max_new_tokens=_max_new_tokens(config, model),
                         size=size_class(config, model), gpus=_gpus(config, model)))
    return jobs


def _scoring_tokens(config: dict, models: list[str], benchmarks: list[str], per_problem: int,
                    prompt_tokens: float, share: float) -> float:
    total = 0.0
    for model in models:
        for benchmark in benchmarks:
            problems = benchmark_problems(config, benchmark) or 0
            n = min(per_problem, samples_per_problem(config, model, benchmark))
            total += problems * n * (prompt_tokens + share * _max_new_tokens(config, model))
    return total


def estimate(config: dict, assumed: dict) -> dict:
    """GPU hours per rule and in total, disk for samples and checkpoints, and what could not be
    estimated (a model without a size class or rate, a benchmark of unknown size). ``config``
    is a planned checkpoint config (catalog merged, unpinned left out, study models added)."""
    share = float(assumed["mean_completion_share"])
    prompt = float(assumed["prompt_tokens"])
    startup = float(assumed["startup_seconds"])
    decode, prefill = assumed["decode_tokens_per_gpu_second"], assumed["prefill_tokens_per_gpu_second"]
    unknown: set[str] = set()
    rules = {rule: {"jobs": 0, "tokens": 0.0, "gpu_hours": 0.0} for rule in RULES}

    generated = 0.0
    for job in sampling_jobs(config):
        rate = _rate(decode, job["size"])
        if job["problems"] is None:
            unknown.add(f"benchmarks.{job['benchmark']}: number of problems")
            continue
        tokens = job["problems"] * job["n"] * share * job["max_new_tokens"]
        generated += tokens
        row = rules["sample_model"]
        row["jobs"] += job["jobs"]
        row["tokens"] += tokens
        if rate is None:
            unknown.add(f"models.{job['model']}: size class {job['size']!r} has no decode rate")
            continue
        row["gpu_hours"] += (tokens / rate + job["jobs"] * startup * job["gpus"]) / 3600

    studies = plan_checkpoint_studies(config)
    main = {m: e for m, e in config["models"].items() if not e.get("study")}
    benchmarks = sorted(config["benchmarks"])
    if "perplexity" in studies:
        per_problem = int(studies["perplexity"].get("samples_per_problem", 8))
        for family in sorted({e["family"] for e in main.values()}):
            members = {m: e for m, e in main.items() if e["family"] == family}
            base = next((m for m, e in members.items() if e["role"] == "base"), None)
            rl = [m for m, e in members.items() if e["role"] == "rl"]
            if base is None or not rl:
                continue
            responded = [base, *rl, *[m for m, e in members.items() if e["role"] == "distilled"][:1]]
            tokens = (1 + len(rl)) * _scoring_tokens(config, responded, benchmarks, per_problem,
                                                     prompt, share)
            _add_scoring(rules["score_checkpoint_perplexity"], tokens,
                         _rate(prefill, size_class(config, base)), startup, config, base, unknown)
    study = temperature_study_models(config)
    if study:
        per_problem = int(studies["temperatures"].get("samples_per_problem", 8))
        claim = float((config.get("analysis") or {}).get("claim_temperature", 0.6))
        temperatures = len({claim, *map(float, study["values"])})
        for family in sorted(set(studies["temperatures"]["families"])):
            models = [m for m in study["models"] if config["models"][m]["family"] == family]
            if not models:
                continue
            tokens = temperatures * _scoring_tokens(config, models, study["benchmarks"],
                                                    per_problem, prompt, share)
            _add_scoring(rules["measure_checkpoint_entropy"], tokens,
                         _rate(prefill, size_class(config, models[0])), startup, config,
                         models[0], unknown)

    checkpoint_bytes = 0.0
    bytes_per_parameter = float(assumed["bytes_per_parameter"])
    for model in trained_models(config):
        train = training_settings(config, model)
        size = size_class(config, model)
        parameters = _rate(assumed["parameters_billion"], size)
        rollouts = int(train["steps"]) * int(train["prompts_per_step"]) \
            * int(train["generations_per_prompt"])
        tokens = rollouts * share * int(train["max_new_tokens"])
        row = rules["train_paper_rl"]
        row["jobs"] += 1
        row["tokens"] += tokens
        rate = _rate(decode, size)
        if parameters is None or rate is None:
            unknown.add(f"models.{model}: size class {size!r} has no parameters or decode rate")
            continue
        per_token = 8 + (2 if float(train.get("beta", 0.0)) > 0 else 0)
        per_token *= 2 if train.get("trainer") == "ppo" else 1
        flops = per_token * parameters * 1e9 * rollouts * (prompt + share
                                                           * int(train["max_new_tokens"]))
        row["gpu_hours"] += (tokens / rate + flops / float(assumed["train_flops_per_gpu_second"])
                             + startup * int(train.get("gpus", 1))) / 3600
        saved = 1 + len(config["models"][model].get("checkpoint_steps", []))
        checkpoint_bytes += saved * parameters * 1e9 * bytes_per_parameter
    for model, entry in config["models"].items():
        if entry.get("source", "hub") == "hub":
            parameters = _rate(assumed["parameters_billion"], size_class(config, model))
            if parameters is None:
                unknown.add(f"models.{model}: size class has no parameter count")
                continue
            checkpoint_bytes += parameters * 1e9 * bytes_per_parameter

    return {"rules": rules,
            "gpu_hours": sum(row["gpu_hours"] for row in rules.values()),
            "sample_bytes": 2 * generated * float(assumed["bytes_per_token"]),
            "checkpoint_bytes": checkpoint_bytes,
            "unknown": sorted(unknown)}


def _add_scoring(row: dict, tokens: float, rate: float | None, startup: float, config: dict,
                 model: str, unknown: set) -> None:
    row["jobs"] += 1
    row["tokens"] += tokens
    if rate is None:
        unknown.add(f"models.{model}: size class has no prefill rate")
        return
    row["gpu_hours"] += (tokens / rate + startup * _gpus(config, model)) / 3600


def _bytes(value: float) -> str:
    if value >= 1e10:
        return f"{value / 1e9:,.0f} GB"
    return f"{value / 1e9:.1f} GB" if value >= 1e9 else f"{value / 1e6:,.0f} MB"


def format_estimate(result: dict, source: str) -> str:
    """One compact block: GPU hours per rule and in total, disk, and what was not estimated."""
    lines = [f"Estimate before any GPU hour (rates ASSUMED: {source}; replace them with a smoke "
             "run's, python -m rlvr_boundary.workflow.estimate --configfile FILE --measured DIR):"]
    for rule, row in result["rules"].items():
        if row["jobs"]:
            lines.append(f"  {rule:<28} {row['jobs']:>6} job{'s' if row['jobs'] > 1 else ' '}"
                         f"  {row['tokens']:>9.2e} tokens  {row['gpu_hours']:>10,.1f} GPU h")
    lines.append(f"  total {result['gpu_hours']:,.1f} GPU h; disk: samples and scored tables "
                 f"{_bytes(result['sample_bytes'])}, checkpoints "
                 f"{_bytes(result['checkpoint_bytes'])}")
    if result["unknown"]:
        lines.append("  not estimated: " + "; ".join(result["unknown"]))
    return "\n".join(lines)


def planned_estimate(config: dict, catalog: dict) -> str:
    """The block printed when a GPU study's DAG is built (``config`` as planned there)."""
    source = "configs/catalog.yaml `estimate`" + (
        " with the study's `estimate:`" if config.get("estimate") else "")
    return format_estimate(estimate(config, assumptions(catalog, config)), source)


def measured_rates(run_dir: str | Path, config: dict) -> dict:
    """A finished (smoke) run's own sampling rates: output tokens per GPU-second by size class
    (start-up included, as the benchmark files time whole jobs) and the mean completion length
    as a share of max_new_tokens, from results/samples/**/shard*_block*.parquet and
    benchmarks/sample_model/**/shard*_block*.tsv. Models are looked up in ``config``."""
    import pandas as pd

    run_dir = Path(run_dir)
    tokens, seconds, shares = {}, {}, []
    for timing in sorted((run_dir / "benchmarks/sample_model").glob("*/*/*/shard*.tsv")):
        model = timing.relative_to(run_dir / "benchmarks/sample_model").parts[0]
        samples = (run_dir / "results/samples" / timing.relative_to(
            run_dir / "benchmarks/sample_model")).with_suffix(".parquet")
        if model not in config["models"] or not samples.is_file():
            continue
        size = size_class(config, model)
        used = pd.read_parquet(samples, columns=["completion_tokens"]).completion_tokens
        wall = float(pd.read_csv(timing, sep="\t")["s"].iloc[0])
        tokens[size] = tokens.get(size, 0.0) + float(used.sum())
        seconds[size] = seconds.get(size, 0.0) + wall * _gpus(config, model)
        shares.append(float(used.mean()) / _max_new_tokens(config, model))
    if not tokens:
        raise ValueError(f"{run_dir}: no sampling job with both its samples and its benchmark file")
    return {"decode_tokens_per_gpu_second": {s: tokens[s] / seconds[s] for s in tokens},
            "mean_completion_share": sum(shares) / len(shares), "startup_seconds": 0}


def planned_config(path: str | Path, catalog: dict) -> tuple[dict, dict[str, str]]:
    """A study config as the workflow plans it: catalog merged, schema defaults filled,
    unpinned models and benchmarks left out (returned with why), the algorithm study's models
    added."""
    from snakemake.utils import validate

    from .config_checks import load_config_file

    config = with_catalog(load_config_file(path), catalog)
    validate(config, str(REPO / "schemas/paper.schema.yaml"))
    config, not_run = without_unpinned(config)
    config["models"] = {**config["models"], **algorithm_study_models(config)}
    return config, not_run


def main(argv: list[str] | None = None) -> int:
    from .config_checks import load_config_file

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", required=True, help="a checkpoint study's config")
    parser.add_argument("--catalog", default=str(REPO / "configs/catalog.yaml"))
    parser.add_argument("--measured", help="a finished smoke run's directory: use its rates")
    args = parser.parse_args(argv)
    catalog = load_config_file(args.catalog)
    config, not_run = planned_config(args.configfile, catalog)
    assumed, source = assumptions(catalog, config), f"{args.catalog} `estimate`"
    if args.measured:
        rates = measured_rates(args.measured, config)
        print(f"Measured in {args.measured}: " + ", ".join(
            f"{size} {rate:,.0f} tokens/GPU-s" for size, rate
            in rates["decode_tokens_per_gpu_second"].items())
              + f"; mean completion {rates['mean_completion_share']:.2f} of max_new_tokens")
        assumed = {**assumed, **rates, "decode_tokens_per_gpu_second": {
            **assumed["decode_tokens_per_gpu_second"], **rates["decode_tokens_per_gpu_second"]}}
        source = f"decoding measured in {args.measured}, the rest {source}"
    print(format_estimate(estimate(config, assumed), source))
    if not_run:
        print("  not counted (not pinned yet, so not run): " + ", ".join(not_run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
