"""Config mutations that used to be accepted with wrong results (or refused without naming
the key) fail when the DAG is built, naming the key - and for a YAML file its file and line.

Each mutation edits a shipped config (the loaded dict, or its YAML text) and calls the checks
the workflow runs at parse time: check_config (rules/common.smk), check_paper_config
(rules/checkpoint_plan.smk) and check_config_files (both, on every file snakemake loaded).
Two snakemake dry runs check the wiring.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from rlvr_boundary.workflow.paper_plan import with_catalog
from rlvr_boundary.workflow.config_checks import (
    ConfigError,
    check_config,
    check_config_files,
    check_paper_config,
    load_config_file,
)
from workflow_runner import REPO, copy_workflow, run_snakemake

DEFAULT, TEST, PAPER = "config.yaml", "configs/test.yaml", "configs/paper.yaml"
CATALOG = "configs/catalog.yaml"  # shipped benchmarks and templates, not a study's config
SCHEMAS = {DEFAULT: "config.schema.yaml", TEST: "config.schema.yaml", PAPER: "paper.schema.yaml"}


def _text(configfile: str) -> str:
    return (REPO / configfile).read_text(encoding="utf-8")


def _checked(configfile: str, config: dict) -> None:
    """What the workflow runs on a config (as :func:`_loaded` gives it) when it is parsed,
    in its order."""
    validate(config, str(REPO / "schemas" / SCHEMAS[configfile]))
    (check_paper_config if config.get("scale") == "paper" else check_config)(config)


def _loaded(configfile: str) -> dict:
    """A config as the workflow sees it: a checkpoint study merged with the catalog."""
    config = yaml.safe_load(_text(configfile))
    if config.get("scale") == "paper":
        config = with_catalog(config, yaml.safe_load(_text(CATALOG)))
    return config


def test_shipped_configs_pass_unchanged():
    shipped = [DEFAULT, *sorted(f"configs/{p.name}" for p in (REPO / "configs").glob("*.yaml")
                                if p.name != "catalog.yaml")]
    assert {TEST, PAPER} <= set(shipped)
    for configfile in shipped:
        config = load_config_file(REPO / configfile)
        assert config == yaml.safe_load(_text(configfile))
        _checked(PAPER if config.get("scale") == "paper" else DEFAULT, _loaded(configfile))
    check_config_files([REPO / configfile for configfile in [*shipped, CATALOG]])


# --- mutations of the loaded dict ---------------------------------------------------------

def _set(path: str, value):
    """An edit setting the key at a dotted path."""
    def edit(config):
        *parents, last = path.split(".")
        for name in parents:
            config = config[name]
        config[last] = value
    return edit


def _delete(path: str):
    def edit(config):
        *parents, last = path.split(".")
        for name in parents:
            config = config[name]
        del config[last]
    return edit


def _teacher_family(config):
    config["families"]["teacher"] = config["families"]["deep"]


def _real_imports(*benchmarks):
    def edit(config):
        config["real"] = {"imports": [{"model": "m", "benchmark": b, "files": ["x.jsonl"]}
                                      for b in benchmarks]}
    return edit


def _vllm_cpu_without_context(config):
    config["sampling"]["backend"] = "vllm-cpu"
    del config["sampling"]["max_model_len"]


def _model(model: str, **fields):
    def edit(config):
        config["models"][model].update(fields)
    return edit


MUTATIONS = [
    # 1. greedy sampling with n > 1: all n samples the same, pass@k flat.
    (DEFAULT, _set("sampling.temperatures", [1.0, 0.0]), "sampling.temperatures"),
    (TEST, _set("sampling.temperatures", [1.0, 1e-6]), "sampling.temperatures"),
    (DEFAULT, _set("studies.temperatures.values", [0.6, 1e-6]), "studies.temperatures.values"),
    (PAPER, _set("sampling.temperatures", [0.6, 0]), "sampling.temperatures"),
    (PAPER, _set("studies.temperatures.values", [1e-7]), "studies.temperatures.values"),
    # 2. an n_overrides entry naming no family (a typo, or a model id) or no benchmark.
    (PAPER, _set("n_overrides", {"llama31_8": {"gsm8k": 1024}}), "n_overrides.llama31_8"),
    (PAPER, _set("n_overrides", {"llama31_8b-simplerl-zoo": {"gsm8k": 1024}}),
     "n_overrides.llama31_8b-simplerl-zoo"),
    (PAPER, _set("n_overrides.llama31_8b.gsm8", 1024), "n_overrides.llama31_8b.gsm8"),
    # 3. parents: itself, an RL / distilled / instruct model, another family, missing; a
    # base with a parent.
    (PAPER, _model("qwen25_7b-simplerl-zoo", parent="qwen25_7b-simplerl-zoo"),
     "models.qwen25_7b-simplerl-zoo.parent"),
    (PAPER, _model("r1_distill_qwen_7b", parent="r1_distill_qwen_7b"),
     "models.r1_distill_qwen_7b.parent"),
    (PAPER, _model("qwen25_math_7b-oat-zero", parent="r1_distill_qwen_7b"),
     "models.qwen25_math_7b-oat-zero.parent"),
    (PAPER, _model("r1_distill_qwen_7b", parent="qwen25_math_7b-oat-zero"),
     "models.r1_distill_qwen_7b.parent"),
    (PAPER, _model("qwen25_math_7b-oat-zero", parent="qwen25_math_7b-instruct"),
     "models.qwen25_math_7b-oat-zero.parent"),
    (PAPER, _model("qwen25_7b-simplerl-zoo", parent="qwen25_14b"),
     "models.qwen25_7b-simplerl-zoo.parent"),
    (PAPER, _model("qwen25_7b-simplerl-zoo", parent="qwen25_7x"),
     "models.qwen25_7b-simplerl-zoo.parent"),
    (PAPER, _model("qwen25_7b", parent="qwen25_14b"), "models.qwen25_7b.parent"),
    # 4. a template for a benchmark that does not exist.
    (PAPER, _set("models.qwen25_7b.templates.math5000", "qwen-boxed"),
     "models.qwen25_7b.templates.math5000"),
    # 5. a size class that is not a key of sampling.tensor_parallel (silently 1 GPU).
    (PAPER, _model("qwen25_32b", size="32B"), "models.qwen25_32b.size"),
    # 7. a reversed range of the rare facts' wrong-writing rate.
    (DEFAULT, _set("world.rare_wrong_rate", [0.995, 0.9]), "world.rare_wrong_rate"),
    (TEST, _set("studies.corpus_rarity.variants.common.rare_wrong_rate", [0.8, 0.5]),
     "studies.corpus_rarity.variants.common.rare_wrong_rate"),
    # 8. a family named teacher (it would reuse the teacher's seeds).
    (DEFAULT, _teacher_family, "families.teacher"),
    # 10. an unknown benchmark in the real-import section (was a bare KeyError); one
    # model/benchmark imported twice (one import silently dropped).
    (DEFAULT, _real_imports("math50"), "real.imports[0].benchmark"),
    (TEST, _real_imports("math500", "math500"), "real.imports[1]"),
    # vLLM without its context length (was a KeyError inside the sampling job).
    (PAPER, _delete("sampling.max_model_len"), "sampling.max_model_len"),
    (PAPER, _vllm_cpu_without_context, "sampling.max_model_len"),
    (PAPER, _set("sampling.max_model_len", 16384), "sampling.max_model_len"),
]


@pytest.mark.parametrize("configfile, edit, key", MUTATIONS,
                         ids=[f"{c}:{k}" for c, _, k in MUTATIONS])
def test_a_mutation_is_refused_naming_its_key(configfile, edit, key):
    config = _loaded(configfile)
    edit(config)
    with pytest.raises(ConfigError) as error:
        _checked(configfile, config)
    assert f"config key '{key}'" in str(error.value)


# --- allowed, with their behaviour ---------------------------------------------------------

def test_greedy_sampling_with_one_sample_is_allowed():
    config = _loaded(TEST)
    config["sampling"].update(n=1, temperatures=[0.0])
    config["analysis"]["claim_temperature"] = 0.0
    _checked(TEST, config)
    paper = _loaded(PAPER)
    paper["sampling"]["temperatures"] = [0.6, 0.0]
    paper["n_overrides"] = {}
    for spec in paper["benchmarks"].values():
        spec["n"] = 1
    _checked(PAPER, paper)


def test_size_classes_matter_only_where_they_decide_gpus():
    """hf backend, no tensor_parallel: a size is a label (the tiny paper test's `tiny`)."""
    config = _loaded(PAPER)
    config["sampling"].update(backend="hf", tensor_parallel={})
    config["models"]["qwen25_7b"]["size"] = "tiny"
    _checked(PAPER, config)
    config["sampling"]["tensor_parallel"] = {"7b": 1}  # size classes given: each is checked
    with pytest.raises(ConfigError, match="models.qwen25_7b.size"):
        _checked(PAPER, config)


def test_shipped_null_revisions_are_allowed():
    config = _loaded(PAPER)
    assert any(entry.get("revision") is None for entry in config["models"].values())
    _checked(PAPER, config)


# --- mutations of the YAML text: file and line --------------------------------------------

def _line_of(text: str, needle: str) -> int:
    return text.splitlines().index(needle) + 1


DUPLICATES = [
    # 6. a key given twice: YAML keeps the last silently.
    (DEFAULT, "seed: 0", "seed: 1", "seed"),
    (TEST, "  n: 16", "  n: 4", "sampling.n"),
    (PAPER, "  temperatures: [0.6]", "  temperatures: [1.0]", "sampling.temperatures"),
    # 11. a model id given twice (was caught only through a dangling parent).
    (PAPER, "  qwen25_7b:", "  qwen25_7b: {family: x, role: base, templates: {default: abel}, "
                            "hub: a/b, revision: null}", "models.qwen25_7b"),
]


@pytest.mark.parametrize("configfile, line, duplicate, key", DUPLICATES,
                         ids=[f"{c}:{k}" for c, _, _, k in DUPLICATES])
def test_a_key_given_twice_names_file_line_and_key(tmp_path, configfile, line, duplicate, key):
    text = _text(configfile)
    first = _line_of(text, line)
    lines = text.splitlines()
    lines.insert(first - 1, duplicate)  # the duplicate above: the original becomes the second
    path = tmp_path / Path(configfile).name
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as error:
        check_config_files([path])
    assert str(error.value).startswith(f"{path}, line {first + 1}: config key '{key}'")
    assert f"first on line {first}" in str(error.value)


def test_a_key_given_twice_in_a_flow_mapping_or_a_list_item(tmp_path):
    path = tmp_path / "paper.yaml"
    text = _text(PAPER).replace("size: 32b, templates:", "size: 32b, size: 14b, templates:", 1)
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"line \d+: config key 'models\.qwen25_32b\.size'"):
        check_config_files([path])
    path.write_text("real:\n  imports:\n    - {model: m, benchmark: b}\n"
                    "    - model: m\n      model: n\n")
    with pytest.raises(ConfigError, match=r"line 5: config key 'real\.imports\[1\]\.model'"):
        check_config_files([path])


def test_repeated_keys_of_a_yaml_merge_are_allowed(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {n: 1, t: 2}\nother:\n  <<: *b\n  n: 3\n")
    assert load_config_file(path) == {"base": {"n": 1, "t": 2}, "other": {"n": 3, "t": 2}}


def test_a_json_config_with_a_key_twice_is_refused(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"seed": 0, "sampling": {"n": 4, "n": 8}}')
    with pytest.raises(ConfigError, match=r"config\.json: config keys \['n'\] are given twice"):
        check_config_files([path])


SYNTAX_ERRORS = [
    # 9. YAML syntax errors: an unclosed flow sequence, a tab, a bad indent.
    (TEST, "  n: 16", "  n: [16"),
    (DEFAULT, "  max_positions: 64", "\tmax_positions: 64"),
    (PAPER, "  top_p: 0.95", "    top_p: 0.95"),
]


@pytest.mark.parametrize("configfile, line, broken", SYNTAX_ERRORS,
                         ids=[c for c, _, _ in SYNTAX_ERRORS])
def test_a_yaml_syntax_error_names_file_and_line(tmp_path, configfile, line, broken):
    text = _text(configfile)
    number = _line_of(text, line)
    path = tmp_path / Path(configfile).name
    path.write_text(text.replace(line + "\n", broken + "\n", 1))
    with pytest.raises(ConfigError) as error:
        load_config_file(path)
    message = str(error.value)
    assert message.startswith(f"{path}, line ") and "not valid YAML" in message
    # The parser notices a few lines later at most (an unclosed bracket: at the next key).
    reported = int(message.split(", line ")[1].split(",")[0])
    assert number <= reported <= number + 2, message


def test_the_module_names_a_broken_files_line_on_the_command_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("sampling:\n  n: 16\n n: 4\n")
    result = subprocess.run([sys.executable, "-m", "rlvr_boundary.workflow.config_checks",
                             str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"{path}, line 3" in result.stderr


# --- the wiring: snakemake dry runs ---------------------------------------------------------

def test_snakemake_refuses_a_duplicate_model_id_before_any_job(tmp_path):
    """checkpoint_plan.smk: check_paper_config passes (the last entry wins), then
    check_config_files names the duplicate."""
    text = _text(PAPER)
    number = _line_of(text, "  qwen25_7b:")
    path = tmp_path / "paper_dup.yaml"
    path.write_text(text.replace("models:\n", "models:\n  qwen25_7b: {family: qwen25_7b, "
                                 "role: base, hub: a/b, revision: null, size: 7b, "
                                 "templates: {default: abel}}\n", 1))
    result = run_snakemake(REPO, "-n", "--configfile", str(path), check=False, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"{path}, line {number + 1}: config key 'models.qwen25_7b' is given twice" in output
    assert "Job stats" not in output


def test_snakemake_refuses_a_yaml_syntax_error_before_the_workflow(tmp_path):
    """Documented behaviour: snakemake reads --configfile files before the workflow runs,
    so its message has no file or line; python -m rlvr_boundary.workflow.config_checks
    names them (test above)."""
    path = tmp_path / "broken.yaml"
    path.write_text(_text(TEST).replace("  n: 16\n", "  n: [16\n", 1))
    result = run_snakemake(REPO, "-n", "--configfile", str(path), check=False, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "not valid JSON or YAML" in output
    assert "Job stats" not in output


def test_the_default_config_file_is_checked_before_snakemake_loads_it(tmp_path):
    """The Snakefile checks config.yaml itself before its `configfile:` line, so a syntax
    error there is named with its line."""
    workdir = copy_workflow(tmp_path / "wf")
    text = (workdir / "config.yaml").read_text()
    (workdir / "config.yaml").write_text(text.replace("\n  n: ", "\n  n: [", 1))
    result = run_snakemake(workdir, "-n", check=False, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(r"config\.yaml, line \d+, column \d+: not valid YAML", output), output
    assert "Job stats" not in output
