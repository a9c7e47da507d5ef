"""Bad configs fail before any job starts, with a message naming the key."""

from __future__ import annotations

import pytest
import yaml

from workflow_runner import REPO, TEST_CONFIG, run_snakemake


def _config():
    return yaml.safe_load((REPO / TEST_CONFIG).read_text())


def _typo(config):
    config["sampling"]["temprature"] = config["sampling"].pop("temperatures")


def _wrong_type(config):
    config["sampling"]["n"] = "many"


def _negative_size(config):
    config["benchmarks"]["t_easy"]["problems"] = -5


def _k_above_n(config):
    config["analysis"]["ks"] = [1, 32]


def _small_context(config):
    config["world"]["max_positions"] = 20


def _missing_claim_temperature(config):
    config["analysis"]["claim_temperature"] = 0.7


@pytest.mark.parametrize("edit, key", [
    (_typo, "temprature"),
    (_wrong_type, "n"),
    (_negative_size, "problems"),
    (_k_above_n, "analysis.ks"),
    (_small_context, "max_new_tokens"),
    (_missing_claim_temperature, "analysis.claim_temperature"),
])
def test_bad_config_fails_before_any_job(tmp_path, edit, key):
    config = _config()
    edit(config)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_snakemake(REPO, "-n", "--configfile", str(path), check=False, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert key in output
    assert "Job stats" not in output


def test_shipped_configs_build_their_dags():
    for configfile in ("config.yaml", TEST_CONFIG):
        result = run_snakemake(REPO, "-n", "--configfile", configfile, timeout=120)
        assert "Job stats" in result.stdout + result.stderr


def test_test_config_shares_no_job_with_the_default():
    """A non-default config is self-contained: no default family, model or benchmark leaks in."""
    def outputs(configfile):
        result = run_snakemake(REPO, "-n", "--forceall", "--configfile", configfile, timeout=120)
        return {line.split(":", 1)[1].strip() for line in (result.stdout + result.stderr).splitlines()
                if line.strip().startswith("output:")}

    specific = ("results/models/", "results/samples/", "results/scored/", "results/training/",
                "results/data/benchmarks/", "results/figures/")
    # The teacher is a singleton of every config (like the task data): same path, own params;
    # so is its sampling job's file (one per temperature, whatever the benchmarks).
    singletons = {"results/models/teacher", "results/training/teacher.csv",
                  "results/samples/teacher/all/T1.0/shard0_block0.parquet"}
    default = {p for o in outputs("config.yaml") for p in o.split(", ") if p.startswith(specific)}
    test = {p for o in outputs(TEST_CONFIG) for p in o.split(", ") if p.startswith(specific)}
    assert default and test
    # Study-wide figures (coverage, regime gap, ...) are singletons too: one per study.
    singletons |= {p for p in default & test if p.startswith("results/figures/")
                   and not any(family in p for family in ("deep", "wide"))}
    assert not (default & test) - singletons, sorted((default & test) - singletons)[:5]


def test_bad_onednn_override_fails_before_any_job(monkeypatch):
    monkeypatch.setenv("RLVR_ONEDNN", "yes")
    result = run_snakemake(REPO, "-n", "--configfile", TEST_CONFIG, check=False, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "RLVR_ONEDNN must be 0 or 1" in output and "Job stats" not in output
