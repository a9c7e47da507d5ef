# What every configuration's rules share: the package on the path, code inputs, seeds.
import os
import sys

# The workflow's own package (jobs import it from the environment: `pip install -e .`,
# or the `-e ../` line of envs/*.yaml; the Snakefile itself also works without that).
PACKAGE_DIR = Path(workflow.basedir) / "src" / "rlvr_boundary"
sys.path.insert(0, str(PACKAGE_DIR.parent))

from rlvr_boundary.workflow.codedeps import import_closure, normalised_digest
from rlvr_boundary.stats.seeds import derive_seed


def add_code_inputs():
    """Every rule with a script gets the package files its script imports, transitively
    (rlvr_boundary.workflow.codedeps), as input `code`, and their normalised digests as
    param `code`. Snakemake tracks the script file alone; with these an edit of the logic
    reruns exactly the steps that run it, while an edit of comments or docstrings reruns
    nothing (the files are `ancient`: their digests, not their times, decide). Derived from
    the imports themselves, never listed by hand. The Snakefile calls this once every rule
    is defined."""
    for step in workflow.rules:
        if step.script is None:
            continue
        script = Path(step.basedir.get_path_or_uri(secret_free=True)) / step.script
        files = import_closure(PACKAGE_DIR.parent, script)
        if step.input_modifier is None:  # a rule with no other input
            step.input_modifier = workflow.modifier.path_modifier
        step.set_input(code=[ancient(os.path.relpath(path)) for path in files])
        # Keyed by the path inside the package: the same wherever the workflow runs from.
        step.set_params(code={path.relative_to(PACKAGE_DIR.parent).as_posix():
                              normalised_digest(path) for path in files})


def seed_for(*names):
    return derive_seed(config["seed"], *names)


def benchmark_file(wildcards):
    """rules/benchmarks.smk: a local benchmark file is an input (an edit reruns the
    benchmark); a Hub dataset is checked against its pinned sha256 instead. BENCHMARK_SPECS
    is set by the file that includes benchmarks.smk."""
    spec = BENCHMARK_SPECS[wildcards.benchmark]
    return [spec["file"]] if "file" in spec else []


# --- figure paths, for every scale ---------------------------------------------------


def passk_figures(folder):
    return expand(
        "{folder}/passk_curves_{family}.{ext}",
        folder=folder,
        family=FAMILIES,
        ext=config["plots"]["formats"],
    )


def figures(folder, *names):
    return expand("{folder}/{name}.{ext}", folder=folder, name=names, ext=config["plots"]["formats"])


def reported(paths, caption, category, subcategory=None):
    """Mark the browsable figures (png, svg) for `snakemake --report`; pdfs stay files."""
    return [report(p, caption=f"../report/captions/{caption}.rst", category=category,
                   subcategory=subcategory)
            if p.endswith((".png", ".svg")) else p for p in paths]
