# Does RLVR expand the reasoning boundary beyond the base model? (Yue et al. 2025)
# From raw checkpoints to verdicts: models -> samples -> graded samples -> counts
# -> pass@k -> analyses -> figures and the claims report. Run: snakemake --cores all
from snakemake.utils import min_version

from rlvr_boundary.workflow.config_checks import check_config_files

min_version("9.0")


report: "report/workflow.rst"


# The default study, unless the user names a config of their own: merging both would
# let default jobs leak into a self-contained configuration (tests, paper scale).
# A key given twice in a config file, with its file and line (YAML keeps the last silently),
# and for config.yaml, checked before its `configfile:` line loads it, a syntax error with its
# line too (Snakemake's message names neither; it reads a --configfile before this runs:
# python -m rlvr_boundary.workflow.config_checks FILE names the line).
check_config_files(workflow.overwrite_configfiles or ["config.yaml"])
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "rules/core.smk"


# Where the models and benchmarks come from. `scale: paper` (configs/paper.yaml, or one's
# own models): checkpoints from the Hub, local folders or trained from them, on real
# benchmarks. Otherwise the tiny world generates its benchmarks and trains its own models.
PAPER_SCALE = config.get("scale") == "paper"
if PAPER_SCALE:

    include: "rules/checkpoints.smk"

else:

    include: "rules/common.smk"
    include: "rules/data.smk"
    include: "rules/train.smk"


# Every model alike from here on: sampled, graded, counted into results/tables/counts.parquet
# and registered in results/tables/models.csv; then pass@k, the analyses and the report.
include: "rules/sample.smk"
include: "rules/passk.smk"
include: "rules/algorithms.smk"
include: "rules/boundary.smk"
include: "rules/report.smk"


if PAPER_SCALE:

    include: "rules/checkpoint_provenance.smk"

    rule all:
        """Every output of a study of checkpoints: claims, tables, figures, C5's files to
        annotate."""
        input:
            CHECKPOINT_TARGETS,
        default_target: True

else:

    include: "rules/provenance.smk"
    include: "rules/real.smk"
    include: "rules/quick.smk"
    include: "rules/localrules.smk"

    rule all:
        input:
            "results/report/claims.md",
            "results/report/claims.json",
            "results/tables/passk.csv",
            passk_figures("results/figures"),
            algorithm_outputs(),
            BOUNDARY_TABLES.values(),
            boundary_figures(),
            scoring_outputs(),
            REAL_TARGETS,
            "results/provenance.json",
        default_target: True

    rule boundary:
        """Claims C3-C5 and C8 with their tables and figures, the regimes sweep and RL seeds."""
        input:
            "results/report/claims.md",
            BOUNDARY_TABLES.values(),
            boundary_figures(),
            scoring_outputs(),

    rule algorithms:
        """Claim C6 alone: the six algorithms, their dSE and the training-length study."""
        input:
            algorithm_outputs(),

    rule quick:
        """The core claims only (C1, C2): bases and RL models, no teacher or distillation."""
        input:
            "results/quick/report/claims.md",
            passk_figures("results/quick/figures"),


# Last, once every rule exists: each rule's script and the package files it imports are
# its code inputs (rules/core.smk).
add_code_inputs()
