# What every configuration's rules share: the package on the path, code inputs, seeds.
import os
import sys

# The workflow's own package (jobs import it from the environment: `pip install -e .`,
# or the `-e ../` line of envs/*.yaml; the Snakefile itself also works without that).
PACKAGE_DIR = Path(workflow.basedir) / "src" / "rlvr_boundary"
sys.path.insert(0, str(PACKAGE_DIR.parent))

from rlvr_boundary.codedeps import module_closure
from rlvr_boundary.seeds import derive_seed


def code(*modules):
    """The package modules a step runs, with everything they import from the package.
    Snakemake tracks a script's own file; listing the modules as inputs makes an edit
    of the logic rerun exactly the steps that use it."""
    return [os.path.relpath(PACKAGE_DIR / f"{m}.py")
            for m in module_closure(PACKAGE_DIR, modules)]


def seed_for(*names):
    return derive_seed(config["seed"], *names)


def benchmark_file(wildcards):
    """rules/benchmarks.smk: a local benchmark file is an input (an edit reruns the
    benchmark); a Hub dataset is checked against its pinned sha256 instead. BENCHMARK_SPECS
    is set by the file that includes benchmarks.smk."""
    spec = BENCHMARK_SPECS[wildcards.benchmark]
    return [spec["file"]] if "file" in spec else []
