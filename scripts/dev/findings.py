"""Refresh docs/findings/ from a finished default run and regenerate the README's table.

    python scripts/dev/findings.py [RUN_DIR]      (make findings; RUN_DIR defaults to .)
"""

from __future__ import annotations

import sys
from pathlib import Path

from rlvr_boundary.report.findings import findings_table, read_snapshot, snapshot, with_findings

REPO = Path(__file__).resolve().parents[2]
FIGURE = "results/figures/passk_curves_deep.png"

run_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO
snapshot(run_dir, REPO / "docs/findings", FIGURE)
claims, run = read_snapshot(REPO / "docs/findings")
readme = REPO / "README.md"
readme.write_text(with_findings(readme.read_text(), findings_table(claims, run)))
print(f"docs/findings/ and README.md's findings table from {run_dir}")
