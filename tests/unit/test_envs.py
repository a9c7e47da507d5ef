"""The conda environments: every envs/*.yaml parses, pins exactly what it installs, agrees
with the pip requirements the project is tested with, and is wired to its post-deploy
step; the lock tooling writes what Snakemake reads."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

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

