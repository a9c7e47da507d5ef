"""`make lock`: conda-lock every envs/<env>.yaml into the files Snakemake reads.

For each env and platform this writes
- envs/<env>.<platform>.pin.txt: conda-lock's explicit file for the conda packages, which
  Snakemake uses instead of the env file when it exists (`conda create --file`);
- envs/<env>.<platform>.pip.txt: the pip packages conda-lock resolved, each with its
  sha256, installed by envs/<env>.post-deploy.sh (conda ignores pip entries in an
  explicit file).
Needs conda-lock (e.g. `pipx install conda-lock==4.0.3`, or CONDA_LOCK=/path/to/it) and
reachable conda channels: neither exists on the machines this project is built on, so no
lockfiles are committed (see docs/cluster.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ENVS = REPO / "envs"
DEFAULT_PLATFORMS = ["linux-64"]


def pip_requirements(lock: dict, platform: str) -> list[str]:
    """Hash-pinned requirement lines for the pip packages of one platform of a unified
    conda-lock lockfile (its `package` list: name, version, manager, platform, hash)."""
    lines = []
    for package in sorted(lock["package"], key=lambda p: p["name"].lower()):
        if package["manager"] != "pip" or package["platform"] != platform:
            continue
        sha256 = package.get("hash", {}).get("sha256")
        if not sha256:
            raise ValueError(f"{package['name']} {package['version']} has no sha256 in the lockfile")
        lines.append(f"{package['name']}=={package['version']} --hash=sha256:{sha256}")
    return lines


def lock_env(conda_lock: str, env_file: Path, platforms: list[str]) -> list[Path]:
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        unified = Path(tmp) / f"{env_file.stem}.conda-lock.yml"
        platform_args = [arg for p in platforms for arg in ("--platform", p)]
        subprocess.run([conda_lock, "lock", "--file", str(env_file), *platform_args,
                        "--lockfile", str(unified)], check=True)
        subprocess.run([conda_lock, "render", "--kind", "explicit", *platform_args,
                        "--filename-template", str(ENVS / f"{env_file.stem}.{{platform}}.pin.txt"),
                        str(unified)], check=True)
        lock = yaml.safe_load(unified.read_text())
        for platform in platforms:
            written.append(ENVS / f"{env_file.stem}.{platform}.pin.txt")
            pip_file = ENVS / f"{env_file.stem}.{platform}.pip.txt"
            pip_file.write_text("".join(f"{line}\n" for line in pip_requirements(lock, platform)))
            written.append(pip_file)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("platforms", nargs="*", default=DEFAULT_PLATFORMS,
                        help="conda platforms (default: linux-64)")
    parser.add_argument("--env", action="append", help="only these envs (file stems)")
    args = parser.parse_args(argv)
    conda_lock = os.environ.get("CONDA_LOCK") or shutil.which("conda-lock")
    if conda_lock is None:
        print("conda-lock not found: install it (pipx install conda-lock==4.0.3) or set "
              "CONDA_LOCK; it also needs the conda channels of envs/*.yaml to be reachable.",
              file=sys.stderr)
        return 2
    env_files = sorted(ENVS.glob("*.yaml"))
    if args.env:
        env_files = [f for f in env_files if f.stem in args.env]
    for env_file in env_files:
        for path in lock_env(conda_lock, env_file, args.platforms):
            print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
