"""Each rule's code inputs are exactly the package files its script imports, and an edit of
one module reruns exactly the rules whose scripts import it (nothing listed by hand)."""

from __future__ import annotations

import modulefinder
import os
import re
import time
from functools import lru_cache
from pathlib import Path

import pytest

from helpers import downstream_jobs, dry_run_jobs
from workflow_runner import REPO, TEST_CONFIG, copy_workflow

RULE_FILES = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]


def rule_scripts() -> dict[str, str]:
    """rule name -> its script (scripts/<name>.py), read from the rule files; a
    `use rule A as B` takes A's script unless it names its own."""
    scripts, parents, current = {}, {}, None
    for path in RULE_FILES:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if match := re.match(r"^\s*use rule (\w+) as (\w+) with:", line):
                current = match.group(2)
                parents[current] = match.group(1)
            elif match := re.match(r"^\s*rule (\w+):", line):
                current = match.group(1)
            elif line.strip() == "script:" and current:
                scripts[current] = lines[number + 1].strip().strip('"').removeprefix("../")
    for child, parent in parents.items():
        scripts.setdefault(child, scripts.get(parent))
    return {rule: script for rule, script in scripts.items() if script}


@lru_cache(maxsize=None)
def imported_package_files(script: str) -> frozenset[str]:
    """The package files a script imports, found by the standard library's bytecode-level
    ModuleFinder (an oracle independent of rlvr_boundary.workflow.codedeps)."""
    finder = modulefinder.ModuleFinder(path=[str(REPO / "src")])
    finder.run_script(str(REPO / script))
    return frozenset(
        "src/" + Path(module.__file__).relative_to(REPO / "src").as_posix()
        for name, module in finder.modules.items() if name.split(".")[0] == "rlvr_boundary")


def _code_inputs(job) -> set[str]:
    return {path for path in job["input"] if path.startswith("src/")}


@pytest.mark.parametrize("configfile", [TEST_CONFIG, "configs/paper.yaml"])
def test_every_rule_has_its_scripts_import_closure_as_code_inputs(tmp_path, configfile):
    workdir = copy_workflow(tmp_path / "wf")
    scripts = rule_scripts()
    jobs = dry_run_jobs(workdir, "--forceall", configfile=configfile)
    checked = set()
    for job in jobs:
        if job["rule"] not in scripts:
            continue
        expected = imported_package_files(scripts[job["rule"]])
        assert expected, f"{job['rule']}: its script imports nothing of the package?"
        assert _code_inputs(job) == expected, job["rule"]
        checked.add(job["rule"])
    assert len(checked) >= (25 if configfile == TEST_CONFIG else 9), sorted(checked)


def _edit(path):
    with open(path, "a") as handle:
        handle.write("\n_EDITED_BY_A_TEST = True\n")


def _edit_prose(path):
    """Comments, docstrings and layout only, with a later mtime: nothing that runs."""
    text = path.read_text()
    text = text.replace('"""', '"""Edited by a test. ', 1)  # the module's docstring
    text = text.replace("\ndef ", "\n# a comment added by a test\n\ndef ", 1)
    path.write_text(text + "\n\n# the end\n")
    later = time.time() + 5
    os.utime(path, (later, later))


# workflow_io: imported by every rule script itself. passk: imported mostly through other
# modules (claims, coverage, passk_table ...), two or three levels down.
@pytest.mark.parametrize("module", ["src/rlvr_boundary/workflow/job_io.py", "src/rlvr_boundary/stats/passk.py"])
def test_editing_a_module_reruns_exactly_the_rules_whose_scripts_import_it(study_copy, module):
    scripts = rule_scripts()
    every_job = [job for job in dry_run_jobs(study_copy, "--forceall") if job["output"]]
    importers = [job for job in every_job if job["rule"] in scripts
                 and module in imported_package_files(scripts[job["rule"]])]
    assert importers, module
    _edit(study_copy / module)
    planned = {job["output"][0] for job in dry_run_jobs(study_copy) if job["output"]}
    # The importers rerun, and what reads their outputs; nothing else.
    assert planned == downstream_jobs(every_job, importers)
    assert {job["output"][0] for job in importers} <= planned


@pytest.mark.parametrize("module", ["src/rlvr_boundary/workflow/job_io.py",
                                    "src/rlvr_boundary/stats/passk.py"])
def test_editing_comments_and_docstrings_reruns_nothing(study_copy, module):
    before = (study_copy / module).read_text()
    _edit_prose(study_copy / module)
    assert (study_copy / module).read_text() != before
    assert dry_run_jobs(study_copy) == []
