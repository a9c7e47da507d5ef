"""workflow_io.start_job, the first call of every rule script: log lines and the error that
stops a job go to the rule's log, and the imported modules' objects leave the collector."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _job(tmp_path, body: str) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        import gc
        from rlvr_boundary.workflow.job_io import start_job
        log = start_job({str(tmp_path / "job.log")!r})
    """) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_log_lines_go_to_the_rule_log_and_imports_are_frozen(tmp_path):
    done = _job(tmp_path, """
        log.info("sampled 10/10")
        print(gc.get_freeze_count())
    """)
    assert done.returncode == 0, done.stderr
    # pandas alone brings far more than this many objects; nothing was frozen before.
    assert int(done.stdout) > 10_000
    assert "rlvr_boundary INFO sampled 10/10" in (tmp_path / "job.log").read_text()


def test_the_error_that_stops_a_job_ends_its_log(tmp_path):
    done = _job(tmp_path, 'raise FileNotFoundError("results/models/deep-base: no config.json")')
    assert done.returncode != 0
    log = (tmp_path / "job.log").read_text()
    assert "ERROR failed: results/models/deep-base: no config.json" in log
    assert "Traceback" in log
