"""Reading what Snakemake plans to do."""

from __future__ import annotations

import re

from workflow_runner import TEST_CONFIG, run_snakemake

_STATS_ROW = re.compile(r"^([a-z_]+)\s+(\d+)$")


def planned_jobs(workdir, *args: str) -> dict[str, int]:
    """{rule: job count} of a dry run (empty when nothing is to be done)."""
    result = run_snakemake(workdir, "-n", "--configfile", TEST_CONFIG, *args)
    text = result.stdout + result.stderr
    if "Job stats:" not in text:
        assert "Nothing to be done" in text, text[-3000:]
        return {}
    table = text.split("Job stats:", 1)[1]
    jobs = {}
    for line in table.splitlines()[3:]:
        match = _STATS_ROW.match(line.strip())
        if match is None:
            break
        jobs[match.group(1)] = int(match.group(2))
    jobs.pop("total", None)
    return jobs
