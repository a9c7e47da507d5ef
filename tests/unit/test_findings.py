"""The README's findings table is the committed snapshot's (docs/findings/), not typed."""

from __future__ import annotations

import pytest

from rlvr_boundary.report.findings import END, START, findings_table, read_snapshot, with_findings
from workflow_runner import REPO


def test_the_readme_table_is_generated_from_the_snapshot():
    claims, run = read_snapshot(REPO / "docs/findings")
    readme = (REPO / "README.md").read_text()
    assert readme == with_findings(readme, findings_table(claims, run)), (
        "README.md's findings table differs from docs/findings/: run `make findings`")
    assert {row["id"] for row in claims if row["scope"] == "overall"} == {f"C{i}" for i in range(1, 9)}
    assert (REPO / "docs/findings/passk_curves_deep.png").stat().st_size > 0


def test_findings_table_rows_and_markers():
    claims = [{"id": "C1", "scope": "overall", "statement": "RL beats base.", "value": 0.125,
               "ci_low": -0.01, "ci_high": 0.2, "verdict": "inconclusive",
               "evidence": "8 scopes: 0 holds, 0 does not hold, 8 inconclusive; pooled ..."},
              {"id": "C1", "scope": "family=f", "statement": "x", "value": 1.0, "verdict": "holds"}]
    run = {"date": "2026-12-06", "machine": "cpu, 2 cores", "commit": "a" * 40, "dirty": False}
    table = findings_table(claims, run)
    assert table.splitlines()[-1] == ("| C1: RL beats base. | inconclusive | +0.125 [-0.010, +0.200] "
                                      "| 8 scopes: 0 holds, 0 does not hold, 8 inconclusive |")
    text = f"intro\n{START}\nold\n{END}\nrest"
    assert with_findings(text, table) == f"intro\n{START}\n{table}\n{END}\nrest"
    with pytest.raises(ValueError, match="findings"):
        with_findings("no markers", table)
