"""Same config, seed, machine and threads: byte-identical tables from a fresh directory."""

from __future__ import annotations

from workflow_runner import run_test_study


def test_fresh_run_gives_identical_tables(test_study, tmp_path):
    again = run_test_study(tmp_path / "again")
    for table in ("results/tables/counts.parquet", "results/tables/passk.csv",
                  "results/tables/models.csv",
                  "results/report/claims.json"):
        assert (again / table).read_bytes() == (test_study / table).read_bytes(), table
