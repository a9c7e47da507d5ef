# Does RLVR expand the reasoning boundary beyond the base model? (Yue et al. 2025)
# From raw checkpoints to verdicts: models -> samples -> graded samples -> counts
# -> pass@k -> analyses -> figures and the claims report. Run: snakemake --cores all
from snakemake.utils import min_version

min_version("9.0")


report: "report/workflow.rst"


# The default study, unless the user names a config of their own: merging both would
# let default jobs leak into a self-contained configuration (tests, paper scale).
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "rules/core.smk"


# Where the models come from. `scale: paper` (configs/paper.yaml, or one's own models):
# checkpoints from the Hub, local folders or trained from them. Otherwise the tiny world
# trains its own. Either way the stage ends in results/tables/counts.parquet and
# results/tables/models.csv, and every later rule is the same.
PAPER_SCALE = config.get("scale") == "paper"
if PAPER_SCALE:

    include: "rules/checkpoints.smk"

else:

    include: "rules/common.smk"
    include: "rules/data.smk"
    include: "rules/train.smk"
    include: "rules/sample.smk"
    include: "rules/estimate.smk"


# From counts and the registry to the report, at every scale.
include: "rules/passk.smk"
include: "rules/algorithms.smk"
include: "rules/boundary.smk"
include: "rules/report.smk"


if PAPER_SCALE:

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
