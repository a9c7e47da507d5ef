"""sampling.batch_size changes speed, not samples, on a CPU in float32: the sampler's rows
per chunk give byte-identical samples. That is why the tiny world's sampling jobs do not
have it as a param (rules/common.smk, sampling_job): changing it reruns nothing
(tests/workflow/test_rerun.py).

What the sampler guarantees is the random numbers: one uniform per (row, step) from one
stream, whatever the chunking. The logits can differ in the last bits between chunkings
(other left-padding widths, the decoder's shared or per-row path; up to ~7e-6 on the test
study's models), so a token would change if its uniform fell within that rounding of a CDF
boundary: measured 1e-10 (2048 vs 64 rows) to 1e-7 (vs 7 rows) per token, and none does
here or in any sampling job of the test study at 7, 100, 512 or 4096 rows.

Scoring is stricter: a score is a float, and right-padded batches changed log-probs in the
last bit (e.g. 76 of 1,946 tokens by 4.8e-7 at 5 rows vs 256), enough to change the
perplexity table's digits. So scoring batches hold one length each, nothing padded, and
the bits no longer depend on studies.perplexity.batch_size on a CPU in float32: it is no
param there (analyses.perplexity.batch_size_param; tests/unit/test_perplexity.py checks the
bytes, tests/unit/test_sampling_params.py the rules' params).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from rlvr_boundary.models.modeling import load_checkpoint
from rlvr_boundary.sampling.generate import sample_completions
from rlvr_boundary.sampling.tiny_world import sample_benchmarks
from rlvr_boundary.world.data import draw_problems

# One torch thread (tests/unit/conftest.py says why; results are defined per thread count).
pytestmark = pytest.mark.usefixtures("one_thread")

# One chunk; chunks that cut a prompt's samples in two (unequal segments); fewer rows than
# the shared-prefix decoder needs (each row gets its own prompt copy); one row per chunk.
BATCHES = (4096, 100, 7, 1)


@pytest.fixture(scope="module")
def trained(base_path):
    """The session's briefly pretrained model: samples stop at many steps, some are right."""
    return load_checkpoint(base_path, "cpu")


def _problems(seed: int, depths: list[int], count: int, name: str) -> pd.DataFrame:
    """Prompts of several lengths, so chunks are left-padded to different widths."""
    drawn = draw_problems(np.random.default_rng(seed), depths, count, set(), name)
    return pd.DataFrame({"problem_id": [f"{name}-{i:02d}" for i in range(len(drawn))],
                         "prompt": [p.prompt for p in drawn]})


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)  # as rlvr_boundary.workflow.job_io.write_parquet
    return buffer.getvalue()


def _assert_identical(frames: dict[int, pd.DataFrame]) -> None:
    first = frames[BATCHES[0]]
    for batch, frame in frames.items():
        pd.testing.assert_frame_equal(frame, first, check_exact=True, obj=f"batch_size={batch}")
        assert _parquet_bytes(frame) == _parquet_bytes(first), batch


def test_sampler_batch_size_changes_no_sample(trained):
    model, tokenizer = trained
    prompts = _problems(3, [1, 2], 12, "bench").prompt.tolist()
    frames = {batch: sample_completions(model, tokenizer, prompts, n=16, temperature=1.0,
                                        top_p=0.95, max_new_tokens=20, seed=11, batch_size=batch)
              for batch in BATCHES}
    assert set(frames[BATCHES[0]].finish_reason) == {"stop", "length"}
    _assert_identical(frames)


def test_tiny_world_job_batch_size_changes_no_sample(trained):
    """What a tiny-world sampling job runs (sampling.job): every benchmark of a model, each
    with its own seed, one shard of several."""
    model, tokenizer = trained
    benchmarks = {"easy": _problems(4, [1], 9, "easy"), "hard": _problems(5, [2], 9, "hard")}
    frames = {batch: sample_benchmarks(model, tokenizer, benchmarks, {"easy": 21, "hard": 22},
                                       shard=1, shards=2, n=8, temperature=0.7, top_p=1.0,
                                       max_new_tokens=16, batch_size=batch)
              for batch in BATCHES}
    assert set(frames[BATCHES[0]].benchmark) == {"easy", "hard"}
    _assert_identical(frames)
