# What every configuration's rules share: the package on the path, code inputs, seeds.
import os
import sys

# The workflow's own package (jobs import it from the environment: `pip install -e .`,
# or the `-e ../` line of envs/*.yaml; the Snakefile itself also works without that).
PACKAGE_DIR = Path(workflow.basedir) / "src" / "rlvr_boundary"
sys.path.insert(0, str(PACKAGE_DIR.parent))

from rlvr_boundary.workflow.codedeps import import_closure, normalised_digest
from rlvr_boundary.workflow.process_guard import guard_snakemake
from rlvr_boundary.workflow.writable import check_run_writable
from rlvr_boundary.stats.seeds import derive_seed

# Jobs learn which process their Snakemake is (they end once it is killed), and a killed
# run's locks go when no other instance works in this directory, so the next run needs no
# `--unlock` (Snakemake takes its locks after this parse; "Stopping and resuming" in
# docs/workflow.md).
guard_snakemake(main_process=workflow.is_main_process)


# Once the DAG is built, before the first job (never in a dry run): every folder the jobs
# write into takes writes, else the run stops naming the folder (workflow/writable.py).
onstart:
    check_run_writable(workflow)


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
        step.set_params(
            code={
                path.relative_to(PACKAGE_DIR.parent).as_posix(): normalised_digest(path)
                for path in files
            }
        )


# Outputs a plan adds to every sampling job besides its samples (rules/sample.smk): none in
# the tiny world; a checkpoint study's jobs record their machine (rules/checkpoint_plan.smk).
SAMPLE_JOB_RECORDS = {}


def seed_for(*names):
    return derive_seed(config["seed"], *names)


def result_threads(kind):
    """The CPU threads a job computes with, config key threads.<kind>, as a param: CPU bytes
    are defined per thread count, so a change reruns the job, and the job keeps the count
    when --cores is lower (slower, not different). None on a GPU, where the count changes
    no result and the job takes the threads Snakemake gives it."""
    return None if config.get("device") == "cuda" else config["threads"][kind]


def sample_seed(model, benchmark, temperature, shard, job_block):
    """A sampling job's seed: its shard's, plus its block's index past block 0."""
    return seed_for("sample", model, benchmark, temperature, shard, *job_block.seed_names())


def benchmark_file(wildcards):
    """rules/benchmarks.smk: a local benchmark file is an input (an edit reruns the
    benchmark); a Hub dataset is checked against its pinned sha256 instead. BENCHMARK_SPECS
    is set by the file that includes benchmarks.smk."""
    spec = BENCHMARK_SPECS[wildcards.benchmark]
    return [workflow_file(spec["file"])] if "file" in spec else []


def workflow_file(path):
    """A file a config names relative to where it is run, else relative to the workflow's
    own folder (the catalog's benchmark files), so `--directory` elsewhere finds them."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    return os.path.join(workflow.basedir, path)


# --- outputs every scale names alike (each scale's plan sets STUDIES, FAMILIES, ...) ---


def passk_figures(folder):
    return expand(
        "{folder}/passk_curves_{family}.{ext}",
        folder=folder,
        family=FAMILIES,
        ext=config["plots"]["formats"],
    )


def figures(folder, *names):
    return expand(
        "{folder}/{name}.{ext}", folder=folder, name=names, ext=config["plots"]["formats"]
    )


def reported(paths, caption, category, subcategory=None):
    """Mark the browsable figures (png, svg) for `snakemake --report`; pdfs stay files."""
    # One line: snakefmt takes `report(` at the start of a line for the `report:` directive.
    captioned = dict(
        caption=f"../report/captions/{caption}.rst", category=category, subcategory=subcategory
    )
    return [report(p, **captioned) if p.endswith((".png", ".svg")) else p for p in paths]


def algorithm_outputs():
    """The algorithm (C6) and training-length studies' tables and figures."""
    outputs = []
    if "algorithms" in STUDIES:
        outputs += [
            "results/tables/sampling_efficiency_gap.csv",
            "results/tables/algorithm_pairs.csv",
        ]
        outputs += figures(
            "results/figures", "passk_curves_algorithms", "training_curves_algorithms"
        )
    if "training_length" in STUDIES:
        outputs += ["results/tables/training_length.csv"]
        outputs += figures("results/figures", "training_length")
    return outputs


def algorithm_histories():
    return [f"results/training/{m}.csv" for m in algorithm_study()["models"].values()]


def scoring_outputs():
    """The perplexity and temperature studies' tables and figures."""
    outputs = []
    if "perplexity" in STUDIES:
        outputs += ["results/tables/perplexity_shift.csv"]
        outputs += figures("results/figures", *[f"perplexity_{f}" for f in PERPLEXITY_FAMILIES])
    if "temperatures" in STUDIES:
        outputs += ["results/tables/temperature_study.csv"]
        outputs += figures(
            "results/figures", *[f"passk_temperatures_{f}" for f in TEMPERATURE_FAMILIES]
        )
    return outputs


def study_tables(wildcards):
    """The tables the claims report reads, by name: each configured study's, the boundary
    tables this scale makes (the per-problem sets are not read) and its own extras."""
    tables = {}
    if "algorithms" in STUDIES:
        tables["algorithm_gap"] = "results/tables/sampling_efficiency_gap.csv"
        tables["algorithm_pairs"] = "results/tables/algorithm_pairs.csv"
    if "training_length" in STUDIES:
        tables["training_length"] = "results/tables/training_length.csv"
    tables |= {name: path for name, path in BOUNDARY_TABLES.items() if name != "coverage_problems"}
    if "perplexity" in STUDIES:
        tables["perplexity_shift"] = "results/tables/perplexity_shift.csv"
    if "temperatures" in STUDIES:
        tables["temperature_study"] = "results/tables/temperature_study.csv"
    return tables | REPORT_EXTRA_TABLES
