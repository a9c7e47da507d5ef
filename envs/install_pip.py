"""Finish a Snakemake conda env: its pip part and the workflow's own package.

Run by envs/<env>.post-deploy.sh inside the new env, from Snakemake's working directory
(the repository root); standard library only, as nothing else is installed yet.

- Snakemake builds an env from `envs/<env>.<platform>.pin.txt` when that file exists
  (`make lock`). Such an explicit file holds only conda packages (conda ignores pip
  entries in it), so the pip part is installed here: from the hash-locked
  `envs/<env>.<platform>.pip.txt` written next to it, else from the pins of the env
  file's `pip:` section (a no-op when conda already installed them from the env file).
- The package is installed editable, so jobs run the checked-out code. It cannot be a
  `-e ../` line in the env file: Snakemake copies env files into .snakemake/conda/, where
  that relative path points elsewhere.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

ENVS = Path("envs")


def conda_platform() -> str:
    """This machine's conda platform name (linux-64, osx-arm64, ...)."""
    machine = platform.machine().lower()
    if sys.platform.startswith("linux"):
        return {"x86_64": "linux-64", "amd64": "linux-64"}.get(machine, f"linux-{machine}")
    if sys.platform == "darwin":
        return "osx-arm64" if machine == "arm64" else "osx-64"
    return "win-64"


def pip_section(text: str) -> list[str]:
    """The entries of the `- pip:` list of a conda env file (the plain block-style YAML our
    env files use; tests/unit/test_envs.py checks this against a YAML parser)."""
    entries: list[str] = []
    pip_indent = None
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        item = line.strip()
        if pip_indent is None:
            if item == "- pip:":
                pip_indent = indent
            continue
        if indent <= pip_indent:
            break
        if item.startswith("- "):
            entries.append(item[2:].strip().strip("'\""))
    return entries


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)


def main(env: str) -> None:
    if not Path("pyproject.toml").exists():
        raise SystemExit(f"{Path.cwd()} is not the repository root: run Snakemake from there")
    locked = ENVS / f"{env}.{conda_platform()}.pip.txt"
    if locked.exists():
        pip("--no-deps", "--require-hashes", "-r", str(locked))
    else:
        pip(*pip_section((ENVS / f"{env}.yaml").read_text()))
    pip("--no-deps", "-e", ".")


if __name__ == "__main__":
    main(sys.argv[1])
