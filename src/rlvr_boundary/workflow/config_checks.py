"""Checks a JSON schema cannot express, run when the workflow is parsed.

Each error names the config key, so a bad value fails before any job starts:
:func:`check_config` for the tiny world (rules/common.smk), :func:`check_paper_config` for
``scale: paper`` (rules/checkpoint_plan.smk), and :func:`check_config_files` for every config
file snakemake loaded (a key given twice names its file and line: YAML keeps the last one).

A config file that is not valid YAML never reaches these checks: snakemake reads
``--configfile`` files before the workflow, and says only "Config file is not valid JSON or
YAML". ``python -m rlvr_boundary.workflow.config_checks FILE...`` names the file, line and
column (and any key given twice).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Hashable
from pathlib import Path

import yaml

from ..training.rl_settings import WORKFLOW_KEYS, validate_settings
from .study_plan import checkpoint_steps, reserved_run_suffix


# Token counts of the tiny world's text (one character = one token):
# prompt "d(op d)*depth=" plus bos; completion "(op d = d)*depth | d" plus eos.
def prompt_tokens(depth: int) -> int:
    return 2 * depth + 3


def completion_tokens(depth: int) -> int:
    return 4 * depth + 3


class ConfigError(ValueError):
    pass


def _check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"config key '{key}': {message}")


def check_architecture(architecture: dict, key: str) -> None:
    hidden, heads = architecture["hidden_size"], architecture["num_attention_heads"]
    _check(hidden % heads == 0, f"{key}.num_attention_heads",
           f"hidden_size {hidden} is not divisible by {heads} heads")
    _check(hidden // heads >= 32, f"{key}.num_attention_heads",
           f"head_dim {hidden // heads} < 32 (vLLM supports head sizes >= 32)")


def check_config(config: dict) -> None:
    n = config["sampling"]["n"]
    for k in config["analysis"]["ks"]:
        _check(k <= n, "analysis.ks", f"k={k} > sampling.n={n}: pass@k is undefined for k > n")
    _check(config["analysis"]["claim_metric"] in config["analysis"]["metrics"],
           "analysis.claim_metric", "must be one of analysis.metrics")
    temperatures = [float(t) for t in config["sampling"]["temperatures"]]
    _check(float(config["analysis"]["claim_temperature"]) in temperatures,
           "analysis.claim_temperature", f"must be one of sampling.temperatures {temperatures}")

    check_not_greedy(temperatures, n, "sampling.temperatures", f"sampling.n={n}")
    study_temperatures = ((config.get("studies") or {}).get("temperatures") or {}).get("values", [])
    check_not_greedy(study_temperatures, n, "studies.temperatures.values", f"sampling.n={n}")

    check_architecture(config["teacher"]["architecture"], "teacher.architecture")
    for name, family in config["families"].items():
        _check("-" not in name, f"families.{name}", "family names may not contain '-'")
        _check(name != "teacher", f"families.{name}",
               "'teacher' names the distillation teacher: a family of that name would reuse "
               "its pretraining seed (pretrain/teacher)")
        check_architecture(family["architecture"], f"families.{name}.architecture")
    _check_range((config.get("world") or {}).get("rare_wrong_rate", [0.0, 0.0]),
                 "world.rare_wrong_rate")
    rarity = (config.get("studies") or {}).get("corpus_rarity") or {}
    for variant, spec in rarity.get("variants", {}).items():
        _check_range(spec["rare_wrong_rate"],
                     f"studies.corpus_rarity.variants.{variant}.rare_wrong_rate")
    check_real(config)

    rl_pool = config["data"]["rl_prompts"]["problems"]
    for name, regime in config["rl"]["regimes"].items():
        _check(regime["prompts"] <= rl_pool, f"rl.regimes.{name}.prompts",
               f"{regime['prompts']} > data.rl_prompts.problems={rl_pool}")
    _check(config["distill"]["prompts"] <= config["data"]["train"]["problems"],
           "distill.prompts", "more than data.train.problems")
    _check(not set(config["distill"]["depths"]) - set(config["data"]["train"]["depths"]),
           "distill.depths", "must be a subset of data.train.depths")

    for name, bench in config["benchmarks"].items():
        _check(config["sampling"]["shards"] <= bench["problems"], "sampling.shards",
               f"more shards than the {bench['problems']} problems of benchmark {name}")

    check_algorithms(config["rl"])
    check_studies(config)

    context = config["world"]["max_positions"]
    deepest = max(d for split in [*config["benchmarks"].values(), config["data"]["train"]]
                  for d in split["depths"])
    for key in ("sampling.max_new_tokens", "rl.max_new_tokens"):
        section, field = key.split(".")
        budget = config[section][field]
        _check(prompt_tokens(deepest) + budget <= context, key,
               f"prompt ({prompt_tokens(deepest)} tokens at depth {deepest}) + {budget} new tokens "
               f"exceeds the models' context world.max_positions={context}")


def check_algorithms(rl: dict) -> None:
    algorithms = rl.get("algorithms", {})
    _check(rl.get("algorithm", "grpo") in algorithms, "rl.algorithm",
           f"{rl.get('algorithm')!r} is not one of rl.algorithms {sorted(algorithms)}")
    shared = {key: value for key, value in rl.items() if key not in WORKFLOW_KEYS}
    for name, entry in algorithms.items():
        _check(not reserved_run_suffix(name), f"rl.algorithms.{name}",
               "names like seed1 or step10 are reserved for seed and checkpoint models")
        try:  # the trainer's own check, run now rather than in the training job
            validate_settings({**shared, **entry})
        except ValueError as error:
            raise ConfigError(f"config key 'rl.algorithms.{name}': {error}") from None


def _check_names(values, known, key: str, what: str) -> None:
    for value in values:
        _check(value in known, key, f"{value!r} is not one of {what} {sorted(known)}")


def check_studies(config: dict) -> None:
    """Every family, regime, algorithm and benchmark a study names exists."""
    plan = config.get("studies") or {}
    families, regimes = config["families"], config["rl"]["regimes"]
    benchmarks = config["benchmarks"]
    for name, study in plan.items():
        if "family" in study:
            _check_names([study["family"]], families, f"studies.{name}.family", "families")
        if "regime" in study:
            _check_names([study["regime"]], regimes, f"studies.{name}.regime", "rl.regimes")
        _check_names(study.get("regimes", []), regimes, f"studies.{name}.regimes", "rl.regimes")
        _check_names(study.get("benchmarks", []), benchmarks, f"studies.{name}.benchmarks",
                     "benchmarks")
    if "algorithms" in plan:
        _check_names(plan["algorithms"]["algorithms"], config["rl"]["algorithms"],
                     "studies.algorithms.algorithms", "rl.algorithms")
    if "training_length" in plan:
        regime = plan["training_length"]["regime"]
        _check(bool(checkpoint_steps(config, regime)), "studies.training_length",
               f"regime {regime!r} keeps no intermediate checkpoints (rl.checkpoint_fractions)")
    if "corpus_rarity" in plan:
        for variant in plan["corpus_rarity"]["variants"]:
            derived = f"{plan['corpus_rarity']['family']}_{variant}"
            _check(derived not in families, f"studies.corpus_rarity.variants.{variant}",
                   f"the derived family {derived!r} clashes with a family of that name")


# A temperature below this samples greedily: T = 0 in rlvr_boundary.sampling.generate and
# vllm_engine; below vLLM's _SAMPLING_EPS (1e-5) vLLM itself switches to greedy decoding.
GREEDY_BELOW = 1e-5


def check_not_greedy(temperatures, n: int, key: str, n_key: str) -> None:
    """Greedy decoding gives one completion: n > 1 copies of it make pass@k flat in k."""
    for temperature in temperatures:
        _check(float(temperature) >= GREEDY_BELOW or n == 1, key,
               f"temperature {temperature} samples greedily: the {n} samples per problem "
               f"({n_key}) would all be the same and pass@k flat in k; use a temperature "
               f">= {GREEDY_BELOW} or n = 1")


def _check_range(pair, key: str) -> None:
    low, high = (float(value) for value in pair)
    _check(low <= high, key, f"[{low}, {high}] is reversed: give the range as [low, high]")


def check_real(config: dict) -> None:
    """The real-data section's imports name one of its benchmarks, each model once per
    benchmark (rules/real.smk keys the imports by <model>/<benchmark>)."""
    from ..analyses.real_counts import real_settings

    real = real_settings(config)
    seen = set()
    for index, entry in enumerate(real["imports"]):
        _check_names([entry["benchmark"]], real["benchmarks"], f"real.imports[{index}].benchmark",
                     "real.benchmarks")
        pair = f"{entry['model']}/{entry['benchmark']}"
        _check(pair not in seen, f"real.imports[{index}]",
               f"{pair} is imported twice (one import per model and benchmark)")
        seen.add(pair)


# --- scale: paper ------------------------------------------------------------------------

VLLM_BACKENDS = ("vllm", "vllm-cpu")


def check_paper_config(config: dict) -> None:
    """Checks of a ``scale: paper`` config (schemas/paper.schema.yaml) that its schema cannot
    express: parents, templates, n_overrides, size classes, greedy temperatures and the
    vLLM context. Run on the config's own models (before the algorithm study adds its)."""
    models, benchmarks, sampling = config["models"], config["benchmarks"], config["sampling"]
    check_parents(models)
    for model, entry in models.items():
        for benchmark, name in entry["templates"].items():
            key = f"models.{model}.templates.{benchmark}"
            _check(benchmark == "default" or benchmark in benchmarks, key,
                   f"{benchmark!r} is not 'default' or one of benchmarks {sorted(benchmarks)}")
            _check(name in config["prompt_templates"], key,
                   f"unknown template {name!r}; known: {sorted(config['prompt_templates'])}")
    check_sizes(config)

    families = sorted({entry["family"] for entry in models.values()})
    overrides = config.get("n_overrides") or {}
    for family, per_benchmark in overrides.items():
        hint = " (a model id: overrides are per family)" if family in models else ""
        _check(family in families, f"n_overrides.{family}",
               f"{family!r} is not a family of models{hint}; families: {families}")
        for benchmark in per_benchmark:
            _check(benchmark in benchmarks, f"n_overrides.{family}.{benchmark}",
                   f"{benchmark!r} is not one of benchmarks {sorted(benchmarks)}")

    # Every model samples every benchmark at sampling.temperatures (paper_plan.paper_evaluations).
    n, where = max([(int(spec["n"]), f"benchmarks.{b}.n") for b, spec in benchmarks.items()]
                   + [(int(n), f"n_overrides.{family}.{b}") for family, per_benchmark
                      in overrides.items() for b, n in per_benchmark.items()])
    check_not_greedy(sampling.get("temperatures", []), n, "sampling.temperatures", f"{where}={n}")
    study = (config.get("studies") or {}).get("temperatures") or {}
    check_not_greedy(study.get("values", []), n, "studies.temperatures.values", f"{where}={n}")

    check_cot_judge(config)

    if sampling["backend"] in VLLM_BACKENDS:
        _check("max_model_len" in sampling, "sampling.max_model_len",
               f"backend {sampling['backend']} needs the engine's context length (>= the "
               "longest prompt + sampling.max_new_tokens)")
        _check(sampling["max_model_len"] > sampling["max_new_tokens"], "sampling.max_model_len",
               f"{sampling['max_model_len']} leaves no room for a prompt before "
               f"sampling.max_new_tokens={sampling['max_new_tokens']}")


def check_cot_judge(config: dict) -> None:
    """analysis.cot_judge (optional): its model is a model of this config, its template a
    prompt_templates key or a text with {question}, its instruction has the placeholders."""
    from ..analyses.cot_judge import judge_instruction, judge_template

    judge = (config.get("analysis") or {}).get("cot_judge")
    if not judge:
        return
    models = config["models"]
    _check(judge["model"] in models, "analysis.cot_judge.model",
           f"{judge['model']!r} is not a model of this config (models: {sorted(models)})")
    for read in (judge_template, judge_instruction):  # each error names its key
        try:
            read(config)
        except ValueError as error:
            raise ConfigError(str(error)) from None
    sampling = config["sampling"]
    if sampling["backend"] in VLLM_BACKENDS:
        context = (judge.get("max_model_len") or models[judge["model"]].get("max_model_len")
                   or sampling.get("max_model_len"))
        budget = judge.get("max_new_tokens", 2048)
        _check(not context or context > budget, "analysis.cot_judge.max_new_tokens",
               f"{budget} leaves no room for a prompt in the judge's context {context}")


def check_parents(models: dict) -> None:
    """A base has no parent; every other model's parent is another model's id, a base of
    the same family (C1/C2 compare a model with the base it was trained from)."""
    for model, entry in models.items():
        key, parent, role = f"models.{model}.parent", entry.get("parent"), entry["role"]
        if role == "base":
            _check(parent is None, key, f"a base model has no parent (got {parent!r})")
            continue
        _check(parent is not None, key, f"a {role} model names the base it was trained from")
        _check(parent != model, key, "a model cannot be its own parent")
        _check(parent in models, key, f"{parent!r} is not a model of this config")
        _check(models[parent]["role"] == "base", key,
               f"{parent!r} is a {models[parent]['role']} model, not a base")
        _check(models[parent]["family"] == entry["family"], key,
               f"{parent!r} is of family {models[parent]['family']!r}, this model of "
               f"{entry['family']!r}")


def check_sizes(config: dict) -> None:
    """A model's size is a key of sampling.tensor_parallel wherever that decides its GPUs
    (vLLM on GPUs) or size classes are given at all: an unknown one silently got 1 GPU."""
    sampling = config["sampling"]
    classes = sampling.get("tensor_parallel") or {}
    on_gpus = config.get("device") != "cpu" and sampling["backend"] == "vllm"
    if not (classes or on_gpus):
        return
    for model, entry in config["models"].items():
        if "size" in entry:
            _check(entry["size"] in classes, f"models.{model}.size",
                   f"{entry['size']!r} is not a size class of sampling.tensor_parallel "
                   f"{sorted(classes)}")


# --- config files ------------------------------------------------------------------------

class StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a mapping key given twice (YAML keeps the last one
    silently); the error names the key's path and the duplicate's line."""

    def construct_document(self, node):
        self._paths = {}
        self._name_nodes(node, "")
        return super().construct_document(node)

    def _name_nodes(self, node, path: str) -> None:
        """Key paths (``sampling.n``, ``real.imports[0]``) of the document's collections."""
        if id(node) in self._paths:  # an alias of a node already named
            return
        self._paths[id(node)] = path
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                self._name_nodes(value_node, f"{path}.{name}" if path else name)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._name_nodes(item, f"{path}[{index}]")

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            lines = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<:` may repeat its keys
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if not isinstance(key, Hashable):  # SafeLoader's own error follows
                    continue
                if key in lines:
                    path = self._paths.get(id(node), "")
                    raise ConfigError(
                        f"{key_node.start_mark.name}, line {line}: config key "
                        f"'{f'{path}.{key}' if path else key}' is given twice (first on line "
                        f"{lines[key]}); YAML would keep the last one silently")
                lines[key] = line
        return super().construct_mapping(node, deep)


def _no_duplicate_pairs(pairs):
    keys = [key for key, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise ConfigError(f"config keys {twice} are given twice in one JSON object")
    return dict(pairs)


def load_config_file(path) -> dict:
    """A config file as snakemake reads it (JSON, else YAML), refusing keys given twice and
    naming the file and line of a YAML error."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_pairs)
    except json.JSONDecodeError:
        pass
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    loader = StrictLoader(text)
    loader.name = str(path)  # the marks' file name
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise ConfigError(f"{path}, line {mark.line + 1}, column {mark.column + 1}: not valid "
                          f"YAML: {error.problem or error.context}") from None
    finally:
        loader.dispose()


def check_config_files(paths) -> None:
    """Every config file snakemake loaded (``workflow.configfiles``) has each key once."""
    for path in paths:
        load_config_file(path)


if __name__ == "__main__":  # python -m rlvr_boundary.workflow.config_checks FILE...
    try:
        check_config_files(sys.argv[1:])
    except ConfigError as error:
        sys.exit(str(error))
    print(f"{len(sys.argv) - 1} config file(s): valid JSON/YAML, no key given twice")
