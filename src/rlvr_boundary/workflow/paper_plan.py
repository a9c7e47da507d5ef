"""The paper-scale study (``scale: paper``) from its config: models, what each is sampled
on, with which prompt, how many samples and on how many GPUs.

Model ids are the config's keys; a model's registry row uses the same columns as the tiny
world's (:class:`study_plan.ModelSpec`), so claims, tables and figures read both alike.
An RL model's ``regime`` is its training recipe (e.g. ``simplerl_zoo``, ``oat_zero``):
the claims report groups C1/C2 verdicts by it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .study_plan import ModelSpec

# What a study may set for a shipped benchmark; its source and pins come from the catalog.
STUDY_BENCHMARK_KEYS = ("n", "limit", "analog")


def with_catalog(config: dict, catalog: dict) -> dict:
    """A checkpoint study's config with the project's shipped benchmarks, templates and RL
    data (configs/catalog.yaml) filled in by name: ``benchmarks`` may be a list of names or
    name -> {n, limit, analog}; a study's own benchmark, template or RL data set needs a
    name the catalog does not use. Only the RL data the study's models train on are added.
    Merging a merged config changes nothing."""
    merged = dict(config)
    benchmarks = config.get("benchmarks") or {}
    if isinstance(benchmarks, list):
        benchmarks = {name: {} for name in benchmarks}
    merged["benchmarks"] = {}
    for name, spec in benchmarks.items():
        spec = dict(spec or {})
        if name in catalog["benchmarks"]:
            shipped = catalog["benchmarks"][name]
            pinned = sorted(key for key, value in spec.items()
                            if key not in STUDY_BENCHMARK_KEYS and value != shipped.get(key))
            if pinned:
                raise ValueError(f"config key 'benchmarks.{name}.{pinned[0]}': {name} is a "
                                 f"shipped benchmark: its source and pins come from "
                                 f"configs/catalog.yaml (set only {', '.join(STUDY_BENCHMARK_KEYS)}"
                                 f"), or give yours another name")
            spec = {**shipped, **spec}
        merged["benchmarks"][name] = spec
    for section in ("prompt_templates", "prompt_stops"):
        merged[section] = _union(catalog.get(section) or {}, config.get(section) or {}, section)
    used = {entry["train"]["data"] for entry in config.get("models", {}).values() if "train" in entry}
    used |= {((config.get("studies") or {}).get("algorithms") or {}).get("data")} - {None}
    shipped = {name: spec for name, spec in (catalog.get("rl_data") or {}).items() if name in used}
    merged["rl_data"] = _union(shipped, config.get("rl_data") or {}, "rl_data")
    return merged


def _union(shipped: dict, own: dict, section: str) -> dict:
    clash = sorted(name for name in set(shipped) & set(own) if shipped[name] != own[name])
    if clash:
        raise ValueError(f"config key '{section}.{clash[0]}': a shipped name "
                         f"(configs/catalog.yaml); give yours another name")
    return {**shipped, **own}


def load_study_config(path: str | Path, catalog: str | Path) -> dict:
    """A checkpoint study's config file as the workflow sees it (merged with the catalog)."""
    return with_catalog(yaml.safe_load(Path(path).read_text()),
                        yaml.safe_load(Path(catalog).read_text()))


def paper_models(config: dict) -> dict[str, ModelSpec]:
    """Every model by id, with parents checked."""
    models = {}
    for model, entry in config["models"].items():
        models[model] = ModelSpec(
            model=model, family=entry["family"], role=entry["role"],
            parent=entry.get("parent", ""), regime=entry.get("recipe", ""),
            algorithm=entry.get("algorithm", ""), study=entry.get("study", ""),
            step=int(entry.get("step", entry.get("train", {}).get("steps", 0))),
            checkpoint_of=entry.get("checkpoint_of", ""))
    for spec in models.values():
        if spec.parent and spec.parent not in models:
            raise ValueError(f"models.{spec.model}.parent: {spec.parent!r} is not a model of "
                             "this config")
        if spec.role != "base" and not spec.parent:
            raise ValueError(f"models.{spec.model}: a {spec.role} model names its base as parent")
        if config["models"][spec.model].get("source") == "trained" and not spec.parent:
            raise ValueError(f"models.{spec.model}: a trained model names the model it starts from")
    return models


def samples_per_problem(config: dict, model: str, benchmark: str) -> int:
    """n for (model, benchmark): the benchmark's n unless the model's family overrides it."""
    family = config["models"][model]["family"]
    overrides = (config.get("n_overrides") or {}).get(family, {})
    return int(overrides.get(benchmark, config["benchmarks"][benchmark]["n"]))


def model_blocks(config: dict, model: str, benchmark: str) -> list:
    """The sample blocks of (model, benchmark): its n in blocks of ``sampling.block_size``
    (:mod:`rlvr_boundary.sampling.blocks`)."""
    from ..sampling.blocks import sample_blocks

    return sample_blocks(samples_per_problem(config, model, benchmark),
                         int(config["sampling"]["block_size"]))


def benchmark_shards(config: dict, benchmark: str) -> int:
    """Sampling jobs per model, benchmark and temperature: ``sampling.shards``, but never
    more than the benchmark has problems (its ``limit``, else ``expected_rows``): a
    5-problem smoke run loads each model 5 times at most, not 8."""
    spec = config["benchmarks"][benchmark]
    sizes = [size for size in (spec.get("limit"), spec.get("expected_rows")) if size]
    return min([int(config["sampling"]["shards"]), *sizes])


def prompt_template(config: dict, model: str, benchmark: str,
                    stops: bool = False) -> str | dict:
    """The model's own prompt for a benchmark (the paper used each model's training prompt):
    its text with ``{question}``, or with ``stops`` ``{"text", "stop", "stop_token_ids"}``,
    the template's stop rules from ``prompt_stops`` (empty lists where it has none), which
    :func:`~rlvr_boundary.sampling.checkpoints.sample_problems` takes as its template."""
    chosen = config["models"][model]["templates"]
    name = chosen.get(benchmark, chosen.get("default"))
    if name is None:
        raise ValueError(f"models.{model}.templates: no template for {benchmark} and no default")
    if name not in config["prompt_templates"]:
        raise ValueError(f"models.{model}.templates: unknown template {name!r}; known: "
                         f"{sorted(config['prompt_templates'])}")
    rules = config.get("prompt_stops") or {}
    unknown = sorted(set(rules) - set(config["prompt_templates"]))
    if unknown:
        raise ValueError(f"prompt_stops: {unknown} are not prompt templates; known: "
                         f"{sorted(config['prompt_templates'])}")
    if not stops:
        return config["prompt_templates"][name]
    rule = rules.get(name) or {}
    return {"text": config["prompt_templates"][name], "stop": list(rule.get("stop") or []),
            "stop_token_ids": [int(i) for i in rule.get("stop_token_ids") or []]}


MODEL_CONTEXT_KEYS = ("max_model_len", "max_new_tokens")


def model_sampling(config: dict, model: str, settings: dict) -> dict:
    """A job's sampling settings for ``model``: ``settings`` with the model's own context
    and completion budget where it gives them (a model with a shorter context than the
    study's), each only where ``settings`` has that key (the backend reads it)."""
    entry = config["models"][model]
    return {**settings, **{key: entry[key] for key in MODEL_CONTEXT_KEYS
                           if key in entry and key in settings}}


def model_gpus(config: dict, model: str) -> int:
    """GPUs one sampling job holds: the tensor-parallel size for the model's size class
    (vLLM), one for transformers on cuda, none on CPU."""
    if config["device"] == "cpu":  # auto is resolved in the job: it may find a GPU
        return 0
    if config["sampling"]["backend"] != "vllm":
        return 1
    size = config["models"][model].get("size", "")
    return int(config["sampling"].get("tensor_parallel", {}).get(size, 1))


def model_tensor_parallel(config: dict, model: str) -> dict:
    """``{"tensor_parallel_size": n}`` for a sampling job whose vLLM engine splits the model
    over n GPUs (:func:`model_gpus`), else ``{}``: a param of the job, as the split changes
    the engine's arithmetic (each GPU sums part of every matrix product, all-reduced), so
    samples change with it; a change reruns the model's jobs, and only its own size class's.
    On CPU (one engine process) and with transformers (one device) there is nothing to split."""
    if config["device"] == "cpu" or config["sampling"]["backend"] != "vllm":
        return {}
    return {"tensor_parallel_size": model_gpus(config, model)}


def paper_evaluations(config: dict) -> list[tuple[str, str, str]]:
    """(model, benchmark, temperature) for every sampled table, in a stable order: every
    model on every benchmark at sampling.temperatures, and the temperature study's models
    (bases and RL models of its families) on its benchmarks at its extra temperatures."""
    temperatures = [str(float(t)) for t in config["sampling"]["temperatures"]]
    algorithms = (config.get("studies") or {}).get("algorithms") or {}
    evaluations = [(m, b, t) for m, entry in config["models"].items()
                   for b in sorted(config["benchmarks"])
                   if not entry.get("study") or b in algorithms.get("benchmarks", config["benchmarks"])
                   for t in temperatures]
    study = temperature_study_models(config)
    if study:
        extra = sorted({str(float(t)) for t in study["values"]} - set(temperatures), key=float)
        evaluations += [(m, b, t) for m in study["models"] for b in study["benchmarks"]
                        for t in extra]
    return evaluations


def temperature_study_models(config: dict) -> dict:
    """studies.temperatures checked against the config: its families' base and RL models,
    its benchmarks (default: all) and values; {} when the study is not configured."""
    study = (config.get("studies") or {}).get("temperatures")
    if not study:
        return {}
    families = {e["family"] for e in config["models"].values()}
    unknown = sorted(set(study["families"]) - families)
    if unknown:
        raise ValueError(f"studies.temperatures.families: {unknown} are not families of models")
    benchmarks = study.get("benchmarks") or sorted(config["benchmarks"])
    unknown = sorted(set(benchmarks) - set(config["benchmarks"]))
    if unknown:
        raise ValueError(f"studies.temperatures.benchmarks: {unknown} are not benchmarks")
    models = [m for m, e in config["models"].items()  # study models have studies of their own
              if e["family"] in study["families"] and e["role"] in ("base", "rl")
              and not e.get("study")]
    return {"models": models, "benchmarks": sorted(benchmarks), "values": study["values"]}


def _missing_pins(section: str, name: str, spec: dict) -> list[str]:
    """The pins a benchmark or RL data set lacks: its sha256 and, from the Hub, a commit."""
    from ..models.hub_models import COMMIT

    missing = [] if spec.get("sha256") else [f"{section}.{name}.sha256"]
    hub = spec.get("hub")
    if hub and not COMMIT.fullmatch(str(hub.get("revision"))):
        missing.append(f"{section}.{name}.hub.revision")
    return missing


def without_unpinned(config: dict) -> tuple[dict, dict[str, str]]:
    """The config to plan, without what cannot run yet: each Hub model without a commit,
    each benchmark without its pins, each trained model whose RL data are not pinned, and
    every model that depends on one of them (its parent or the run it is a checkpoint of).
    Returns that config and the left-out names (``models.<id>``, ``benchmarks.<name>``) with
    why, which the report lists as not run: the rest of the study runs to its report."""
    from ..models.hub_models import COMMIT

    why = {}
    for model, entry in config["models"].items():
        if entry.get("source", "hub") == "hub" and not COMMIT.fullmatch(str(entry.get("revision"))):
            why[model] = "revision not pinned"
        elif entry.get("source") == "trained" and not _data_pinned(config, entry["train"]["data"]):
            why[model] = f"RL data {entry['train']['data']} not pinned"
    changed = True
    while changed:  # models trained from, or checkpoints of, a left-out model
        changed = False
        for model, entry in config["models"].items():
            upstream = entry.get("parent") or entry.get("checkpoint_of")
            if model not in why and upstream in why:
                why[model], changed = f"depends on {upstream}, not run", True
    left_out = {f"models.{m}": reason for m, reason in why.items()}
    for name, spec in config["benchmarks"].items():
        missing = _missing_pins("benchmarks", name, spec)
        if missing:
            left_out[f"benchmarks.{name}"] = "not pinned (" + ", ".join(
                key.split(".", 2)[2] for key in missing) + ")"
    planned = {**config,
               "models": {m: e for m, e in config["models"].items() if m not in why},
               "benchmarks": {b: s for b, s in config["benchmarks"].items()
                              if f"benchmarks.{b}" not in left_out}}
    return planned, left_out


def trained_models(config: dict) -> list[str]:
    """Models the workflow trains itself (``source: trained``)."""
    return [m for m, e in config["models"].items() if e.get("source") == "trained"]


def training_settings(config: dict, model: str) -> dict:
    """The RL run of a ``source: trained`` model: its ``train`` block minus the workflow's
    keys, with the math-verify reward unless it says otherwise; checked like the tiny
    world's algorithms, so a typo fails when the DAG is built."""
    from ..training.rl_settings import PAPER_DEFAULTS, validate_settings

    train = config["models"][model]["train"]
    settings = {**PAPER_DEFAULTS,
                **{key: value for key, value in train.items() if key not in ("data", "template")}}
    settings.setdefault("reward_metric", "math_verify")
    try:
        cfg = validate_settings(settings)
    except ValueError as error:
        raise ValueError(f"models.{model}.train: {error}") from None
    gpus, rollouts = int(cfg["gpus"]), int(cfg["prompts_per_step"]) * int(cfg["generations_per_prompt"])
    if rollouts % gpus:
        raise ValueError(f"models.{model}.train: {rollouts} completions per step "
                         f"(prompts_per_step x generations_per_prompt) do not split over gpus={gpus}")
    micro = cfg["micro_batch_size"]
    if micro is not None and (rollouts // gpus) % min(int(micro), rollouts // gpus):
        raise ValueError(f"models.{model}.train: micro_batch_size {micro} does not divide the "
                         f"{rollouts // gpus} completions per GPU and step")
    if cfg["use_vllm"] and cfg["vllm_mode"] == "colocate" and gpus % int(cfg["vllm_tensor_parallel_size"]):
        raise ValueError(f"models.{model}.train: vllm_tensor_parallel_size "
                         f"{cfg['vllm_tensor_parallel_size']} does not divide gpus={gpus}")
    if train["data"] not in config.get("rl_data", {}):
        raise ValueError(f"models.{model}.train.data: {train['data']!r} is not a key of rl_data")
    return settings


def training_template(config: dict, model: str) -> str:
    """The prompt the RL run trains with: ``train.template`` or the model's default."""
    entry = config["models"][model]
    name = entry["train"].get("template", entry["templates"].get("default"))
    if name not in config["prompt_templates"]:
        raise ValueError(f"models.{model}.train.template: unknown template {name!r}")
    return config["prompt_templates"][name]


def training_gpus(config: dict, model: str) -> int:
    return 0 if config["device"] == "cpu" else int(config["models"][model]["train"].get("gpus", 1))


def accelerate_config_file(config: dict, model: str, workflow_dir: str | Path) -> str | None:
    """The accelerate config file a trained model's run is launched with (``accelerate
    launch --config_file``): ``configs/accelerate/<train.distributed>.yaml`` of the workflow,
    which must exist whatever the GPU count (a typo fails when the DAG is built); None where
    the run is one process (one GPU, or device cpu) or ``distributed`` is null (accelerate's
    plain multi-GPU defaults)."""
    from ..training.rl_settings import DISTRIBUTED_DIR

    name = training_settings(config, model).get("distributed")
    if not name:
        return None
    folder = Path(workflow_dir) / DISTRIBUTED_DIR
    path = folder / f"{name}.yaml"
    if not path.is_file():
        shipped = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ValueError(f"models.{model}.train.distributed: {name!r} names no accelerate config "
                         f"file ({path} does not exist); shipped: {shipped}")
    return str(path) if training_gpus(config, model) > 1 else None


def _data_pinned(config: dict, name: str) -> bool:
    """An RL data set counts as pinned when it has a sha256 and, from the Hub, a commit."""
    return not _missing_pins("rl_data", name, config.get("rl_data", {}).get(name, {}))


def plan_checkpoint_studies(config: dict) -> dict:
    """The studies that run among checkpoints: ``perplexity`` and ``temperatures`` as
    configured; ``algorithms`` (and with it ``training_length``) only once its RL data are
    pinned (until then the report says why C6 did not run, :func:`checkpoint_claim_gaps`)."""
    studies = dict(config.get("studies") or {})
    algorithms = studies.pop("algorithms", None)
    if algorithms is not None:
        if algorithms["data"] not in config.get("rl_data", {}):
            raise ValueError(f"studies.algorithms.data: {algorithms['data']!r} is not a key "
                             "of rl_data")
        if _data_pinned(config, algorithms["data"]):
            studies["algorithms"] = algorithms
            if len(algorithms["checkpoint_steps"]) > 1:
                studies["training_length"] = algorithms
    return studies


def algorithm_study_models(config: dict) -> dict[str, dict]:
    """Model entries of the algorithm study, to add to ``models``: each algorithm trained
    from ``base`` by this workflow (``source: trained``, the study's ``train`` settings and
    the algorithm's own), and the first algorithm's intermediate checkpoints as models of
    their own (the training-length study). Empty until the study's RL data are pinned."""
    study = (config.get("studies") or {}).get("algorithms")
    if not study or not _data_pinned(config, study["data"]) or study["base"] not in config["models"]:
        return {}  # not configured, or not run (checkpoint_claim_gaps says why)
    base = study["base"]
    if config["models"].get(base, {}).get("role") != "base":
        raise ValueError(f"studies.algorithms.base: {base!r} is not a model with role base")
    entry = config["models"][base]
    steps = sorted(study["checkpoint_steps"])
    shared = {"family": entry["family"], "role": "rl", "parent": base, "recipe": "algorithms",
              "templates": entry["templates"], **({"size": entry["size"]} if "size" in entry else {})}
    models = {}
    for algorithm in study["algorithms"]:
        settings = study["settings"].get(algorithm, {"trainer": algorithm})
        models[f"{base}-rl-{algorithm}"] = {
            **shared, "algorithm": algorithm, "source": "trained", "study": "algorithms",
            "checkpoint_steps": steps[:-1],
            "train": {"data": study["data"], **study["train"], **settings, "steps": steps[-1]}}
    run = f"{base}-rl-{study['algorithms'][0]}"
    for step in steps[:-1]:
        models[f"{run}-step{step:05d}"] = {
            **shared, "algorithm": study["algorithms"][0], "source": "checkpoint",
            "study": "length", "checkpoint_of": run, "step": step,
            "path": f"results/checkpoints/{run}/step-{step:05d}"}
    clash = sorted(set(models) & set(config["models"]))
    if clash:
        raise ValueError(f"studies.algorithms: model ids {clash} are already in models")
    return models


def checkpoint_claim_gaps(config: dict, models: dict) -> dict[str, str]:
    """Claim id -> the input it lacks in this configuration (the report prints it where the
    claim's value would be). Empty for a claim that can be computed."""
    roles = {spec.role for spec in models.values()}
    gaps = {}
    if "rl" not in roles:
        for claim in ("C1", "C2", "C3", "C4", "C5", "C8"):
            gaps[claim] = "no model with role `rl` in models"
    if "distilled" not in roles:
        gaps["C7"] = "no model with role `distilled` in models"
    analysis = config.get("analysis") or {}
    judge = (analysis.get("cot_judge") or {}).get("model")
    if "C5" not in gaps and not analysis.get("cot_annotations") and judge not in models:
        gaps["C5"] = ("no annotation file yet: fill results/annotations/<benchmark>/"
                      "to_annotate.csv (data/annotations/README.md) and list it under "
                      "analysis.cot_annotations" + (
                          f"; the judge {judge} (analysis.cot_judge) is not run" if judge
                          else ""))
    algorithms = (config.get("studies") or {}).get("algorithms")
    if algorithms is None:
        gaps["C6"] = "study `algorithms` is not in this configuration"
    elif not _data_pinned(config, algorithms["data"]):  # pinned: algorithm_study_models
        gaps["C6"] = (f"not run: RL data not pinned (rl_data.{algorithms['data']} has no "
                      "revision or sha256)")
    elif algorithms["base"] not in config["models"]:  # left out by without_unpinned
        gaps["C6"] = f"not run: its base {algorithms['base']} is not pinned"
    return gaps
