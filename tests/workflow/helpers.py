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


_JOB_HEADER = re.compile(r"^(?:local)?rule (\w+):$")


def dry_run_jobs(workdir, *args: str, configfile: str = TEST_CONFIG) -> list[dict]:
    """Each job of a dry run as {rule, input, output (lists of paths), reason}."""
    result = run_snakemake(workdir, "-n", "--configfile", configfile, *args)
    jobs = []
    for line in (result.stdout + result.stderr).splitlines():
        header = _JOB_HEADER.match(line)
        if header:
            jobs.append({"rule": header.group(1), "input": [], "output": [], "reason": ""})
        elif jobs and line.startswith(("    input: ", "    output: ")):
            key, _, paths = line.strip().partition(": ")
            jobs[-1][key] = paths.split(", ")
        elif jobs and line.startswith("    reason: "):
            jobs[-1]["reason"] = line[len("    reason: "):]
    return jobs


def downstream_jobs(jobs: list[dict], roots: list[dict]) -> set[str]:
    """Outputs (first path) of ``roots`` and of every job that reads what they write."""
    reached, todo = set(), list(roots)
    written = set()
    while todo:
        job = todo.pop()
        if job["output"][0] in reached:
            continue
        reached.add(job["output"][0])
        written.update(job["output"])
        todo += [other for other in jobs if written & set(other["input"])]
    return reached
