"""The paper-scale study (``scale: paper``) from its config: models, what each is sampled
on, with which prompt, how many samples and on how many GPUs.

Model ids are the config's keys; a model's registry row uses the same columns as the tiny
world's (:class:`study_plan.ModelSpec`), so claims, tables and figures read both alike.
An RL model's ``regime`` is its training recipe (e.g. ``simplerl_zoo``, ``oat_zero``):
the claims report groups C1/C2 verdicts by it.
"""

from __future__ import annotations

from .study_plan import ModelSpec


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


def prompt_template(config: dict, model: str, benchmark: str) -> str:
    """The model's own prompt for a benchmark (the paper used each model's training prompt)."""
    chosen = config["models"][model]["templates"]
    name = chosen.get(benchmark, chosen.get("default"))
    if name is None:
        raise ValueError(f"models.{model}.templates: no template for {benchmark} and no default")
    if name not in config["prompt_templates"]:
        raise ValueError(f"models.{model}.templates: unknown template {name!r}; known: "
                         f"{sorted(config['prompt_templates'])}")
    return config["prompt_templates"][name]


def model_gpus(config: dict, model: str) -> int:
    """GPUs one sampling job holds: the tensor-parallel size for the model's size class
    (vLLM), one for transformers on cuda, none on CPU."""
    if config["device"] != "cuda":
        return 0
    if config["sampling"]["backend"] != "vllm":
        return 1
    size = config["models"][model].get("size", "")
    return int(config["sampling"].get("tensor_parallel", {}).get(size, 1))


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


def unpinned(config: dict) -> list[str]:
    """Models and benchmarks whose pin is still missing (null revision or sha256)."""
    from ..models.hub_models import COMMIT

    missing = [f"models.{m}.revision" for m, e in config["models"].items()
               if e.get("source", "hub") == "hub" and not COMMIT.fullmatch(str(e.get("revision")))]
    for section in ("benchmarks", "rl_data"):
        for name, spec in (config.get(section) or {}).items():
            missing += _missing_pins(section, name, spec)
    return missing


def trained_models(config: dict) -> list[str]:
    """Models the workflow trains itself (``source: trained``)."""
    return [m for m, e in config["models"].items() if e.get("source") == "trained"]


def training_settings(config: dict, model: str) -> dict:
    """The RL run of a ``source: trained`` model: its ``train`` block minus the workflow's
    keys, with the math-verify reward unless it says otherwise; checked like the tiny
    world's algorithms, so a typo fails when the DAG is built."""
    from ..training.rl_settings import validate_settings

    train = config["models"][model]["train"]
    settings = {key: value for key, value in train.items() if key not in ("data", "template")}
    settings.setdefault("reward_metric", "math_verify")
    try:
        validate_settings(settings)
    except ValueError as error:
        raise ValueError(f"models.{model}.train: {error}") from None
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
    return int(config["models"][model]["train"].get("gpus", 1)) if config["device"] == "cuda" else 0


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
    if not study or not _data_pinned(config, study["data"]):
        return {}
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
    if "C5" not in gaps and not (config.get("analysis") or {}).get("cot_annotations"):
        gaps["C5"] = ("no annotation file yet: fill results/annotations/<benchmark>/"
                      "to_annotate.csv (data/annotations/README.md) and list it under "
                      "analysis.cot_annotations")
    algorithms = (config.get("studies") or {}).get("algorithms")
    if algorithms is None:
        gaps["C6"] = "study `algorithms` is not in this configuration"
    elif not _data_pinned(config, algorithms["data"]):  # pinned: algorithm_study_models
        gaps["C6"] = (f"not run: RL data not pinned (rl_data.{algorithms['data']} has no "
                      "revision or sha256)")
    return gaps
