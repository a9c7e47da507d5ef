"""Shared fixtures: the test configuration's whole DAG runs once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from workflow_runner import run_test_study


@pytest.fixture(scope="session")
def test_study(tmp_path_factory) -> Path:
    """A finished run of the test configuration (the whole DAG), shared by all tests.
    RLVR_REUSE_STUDY=<folder of a finished run> skips the run (a debugging aid only)."""
    reuse = os.environ.get("RLVR_REUSE_STUDY")
    if reuse:
        return Path(reuse)
    return run_test_study(tmp_path_factory.mktemp("study"))


@pytest.fixture
def study_copy(test_study, tmp_path) -> Path:
    """A private copy of the finished study (mtimes and Snakemake metadata kept), for
    tests that edit config or code and ask what would rerun."""
    destination = tmp_path / "study"
    shutil.copytree(test_study, destination, symlinks=True)
    return destination
