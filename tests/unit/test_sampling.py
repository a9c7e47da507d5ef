"""The batched sampler: schema, seeding, exactness against transformers, distributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig

from rlvr_boundary.sampling import generate as sampling
from rlvr_boundary.sampling.tiny_world import sample_benchmarks
from rlvr_boundary.models.modeling import build_model
from tiny_models import ARCH, tiny_world_model
from rlvr_boundary.sampling.checkpoints import shard_problems
from rlvr_boundary.sampling.generate import greedy_completions, sample_completions

PROMPTS = ["4+3*2-5=", "7-1=", "2*9+9+1*3-4=", "0+0="]  # different lengths: left padding matters


# One torch thread for every test here (tests/unit/conftest.py says why).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model_and_tokenizer(one_thread):
    return tiny_world_model()


@pytest.fixture(params=["shared_prefix", "generic"])
def decoder_kind(request, monkeypatch):
    """Run a test through both decoders (the Llama fast path and the generic fallback)."""
    if request.param == "generic":
        monkeypatch.setattr(sampling._SharedPrefixDecoder, "supports", staticmethod(lambda model: False))
    return request.param


def test_context_length_error_names_both_numbers(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    longest = len(PROMPTS[2]) + 1  # characters + bos
    with pytest.raises(ValueError, match=rf"\({longest} tokens.*\({48 - longest + 1}\).*\(48\)"):
        sample_completions(model, tokenizer, PROMPTS, n=2, temperature=1.0, top_p=1.0,
                           max_new_tokens=48 - longest + 1, seed=0)
    # Exactly filling the context is allowed.
    sample_completions(model, tokenizer, PROMPTS, n=1, temperature=1.0, top_p=1.0,
                       max_new_tokens=48 - longest, seed=0)


def test_schema_and_counts(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    frame = sample_completions(model, tokenizer, PROMPTS, n=5, temperature=1.0, top_p=1.0,
                               max_new_tokens=6, seed=1, batch_size=7)
    assert list(frame.columns) == sampling.SAMPLE_COLUMNS
    assert len(frame) == len(PROMPTS) * 5
    assert frame.prompt_index.tolist() == [p for p in range(len(PROMPTS)) for _ in range(5)]
    assert frame.sample_id.tolist() == list(range(5)) * len(PROMPTS)
    assert frame.prompt_index.dtype == np.int64 and frame.completion_tokens.dtype == np.int64
    assert set(frame.finish_reason) <= {"stop", "length"}
    # "length" exactly when the budget ran out; decoded text has at most one char per token.
    assert ((frame.finish_reason == "length") == (frame.completion_tokens == 6)).all()
    assert (frame.completion.str.len() <= frame.completion_tokens).all()


def test_empty_prompt_list(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    frame = sample_completions(model, tokenizer, [], n=3, temperature=1.0, top_p=1.0,
                               max_new_tokens=4, seed=0)
    assert list(frame.columns) == sampling.SAMPLE_COLUMNS and frame.empty


def test_finish_reason_length_with_tiny_budget(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    frame = sample_completions(model, tokenizer, PROMPTS, n=40, temperature=1.0, top_p=1.0,
                               max_new_tokens=2, seed=3)
    assert (frame.finish_reason == "length").any() and (frame.finish_reason == "stop").any()
    assert (frame.loc[frame.finish_reason == "length", "completion_tokens"] == 2).all()
    assert (frame.loc[frame.finish_reason == "stop", "completion_tokens"] < 2).all()


def test_same_seed_same_frame_other_seed_differs(model_and_tokenizer, decoder_kind):
    model, tokenizer = model_and_tokenizer
    def run(seed, batch_size=64):
        return sample_completions(model, tokenizer, PROMPTS, n=16, temperature=1.0, top_p=0.95,
                                  max_new_tokens=10, seed=seed, batch_size=batch_size)
    first = run(5)
    pd.testing.assert_frame_equal(first, run(5))
    assert not first.completion.equals(run(6).completion)
    # Each row's random numbers do not depend on the chunking: batch_size is a speed knob.
    pd.testing.assert_frame_equal(first, run(5, batch_size=7))


def test_samples_of_a_prompt_differ(model_and_tokenizer):
    """Rows of one prompt get their own random numbers (no shared stream per prompt)."""
    model, tokenizer = model_and_tokenizer
    frame = sample_completions(model, tokenizer, ["4+3="], n=64, temperature=1.0, top_p=1.0,
                               max_new_tokens=8, seed=0)
    assert frame.completion.nunique() > 32


@pytest.mark.parametrize("n_layers,kv_heads", [(2, 2), (1, 1)])
def test_greedy_equals_transformers_generate(decoder_kind, n_layers, kv_heads):
    """Left padding, positions and the KV cache are right: same tokens as model.generate
    on a batch of prompts of different lengths (also with grouped-query attention)."""
    if kv_heads == 2:
        model, tokenizer = tiny_world_model(seed=1)
    else:
        model, tokenizer = _gqa_model()
    enc = tokenizer(PROMPTS, return_tensors="pt", padding=True)
    with torch.inference_mode():
        out = model.generate(**enc, do_sample=False, max_new_tokens=12,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    expected = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    frame = greedy_completions(model, tokenizer, PROMPTS, max_new_tokens=12)
    assert frame.completion.tolist() == expected
    # Many rows per prompt (the shared-prefix layout) give the same greedy answer on every row.
    many = sample_completions(model, tokenizer, PROMPTS, n=12, temperature=0.0, top_p=1.0,
                              max_new_tokens=12, seed=0)
    assert many.completion.tolist() == [c for c in expected for _ in range(12)]


def _gqa_model():
    """Llama with 4 query heads sharing 2 key/value heads (not what build_model makes)."""
    _, tokenizer = build_model(ARCH, 48)
    torch.manual_seed(2)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                         head_dim=16, max_position_embeddings=48, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    return AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval(), tokenizer


@pytest.mark.parametrize("shared", [True, False])
def test_decoder_logits_match_full_forward(model_and_tokenizer, decoder_kind, shared, monkeypatch):
    """Step logits equal the model's plain forward on the unpadded sequence, across a
    compaction (rows dropped mid-generation) and a growth of the KV buffers."""
    model, tokenizer = model_and_tokenizer
    if not shared:
        monkeypatch.setattr(sampling._SharedPrefixDecoder, "MAX_SHARED_PROMPTS", 0)
    monkeypatch.setattr(sampling, "BLOCK_SLOTS", 2)
    encoded = [tokenizer(p)["input_ids"] for p in PROMPTS[:3]]
    chunk = sampling._Chunk(torch.arange(3).repeat_interleave(8), torch.arange(8).repeat(3))
    generator = torch.Generator().manual_seed(0)
    fed = torch.randint(4, len(tokenizer), (24, 5), generator=generator)
    rows = torch.arange(24)
    with torch.inference_mode():
        decoder = sampling._make_decoder(model, encoded, chunk, tokenizer.pad_token_id, 6)
        _assert_close(decoder.logits, model, encoded, chunk, rows, fed[:, :0])
        for step in range(5):
            if step == 2:  # drop every third row, as when they finish
                keep = torch.tensor([i for i in range(len(rows)) if i % 3])
                decoder.select(keep)
                rows = rows[keep]
            logits = decoder.step(fed[rows, step])
            _assert_close(logits, model, encoded, chunk, rows, fed[:, :step + 1])


def _assert_close(logits, model, encoded, chunk, rows, fed):
    for batch_row, row in enumerate(rows.tolist()):
        ids = torch.tensor([encoded[int(chunk.prompt_index[row])] + fed[row].tolist()])
        expected = model(input_ids=ids).logits[0, -1]
        torch.testing.assert_close(logits[batch_row], expected, atol=1e-4, rtol=1e-4)


def _first_token_probs(model, tokenizer, prompt: str, temperature: float) -> torch.Tensor:
    with torch.inference_mode():
        logits = model(**tokenizer([prompt], return_tensors="pt")).logits[0, -1]
    return torch.softmax(logits / temperature, -1)


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_first_token_frequencies_match_softmax(model_and_tokenizer, decoder_kind, temperature):
    model, tokenizer = model_and_tokenizer
    n = 20_000
    frame = sample_completions(model, tokenizer, ["3*4="], n=n, temperature=temperature, top_p=1.0,
                               max_new_tokens=1, seed=11)
    probs = _first_token_probs(model, tokenizer, "3*4=", temperature)
    vocab = tokenizer.get_vocab()
    observed, expected = [], []
    for char in sampling_alphabet(tokenizer):
        observed.append((frame.completion == char).mean())
        expected.append(float(probs[vocab[char]]))
    observed.append(((frame.finish_reason == "stop") & (frame.completion_tokens == 0)).mean())
    expected.append(float(probs[tokenizer.eos_token_id]))
    # Other special tokens decode to nothing and do not stop.
    observed.append(((frame.finish_reason == "length") & (frame.completion == "")).mean())
    expected.append(float(sum(probs[tokenizer.convert_tokens_to_ids(t)] for t in ("<pad>", "<s>", "<unk>"))))
    observed, expected = np.array(observed), np.array(expected)
    assert abs(observed.sum() - 1) < 1e-9
    tolerance = 4 * np.sqrt(expected * (1 - expected) / n) + 1e-3
    assert (np.abs(observed - expected) < tolerance).all(), (observed, expected)


def sampling_alphabet(tokenizer) -> list[str]:
    special = set(tokenizer.all_special_tokens)
    return [t for t in tokenizer.get_vocab() if t not in special]


def test_consecutive_samples_are_independent(model_and_tokenizer):
    """Neighbouring samples of a prompt agree on the first token about as often as two
    independent draws would (sum of p^2), not more."""
    model, tokenizer = model_and_tokenizer
    n = 20_000
    frame = sample_completions(model, tokenizer, ["3*4="], n=n, temperature=1.0, top_p=1.0,
                               max_new_tokens=1, seed=4)
    first = (frame.completion + "|" + frame.finish_reason).to_numpy()
    agree = (first[1:] == first[:-1]).mean()
    probs = _first_token_probs(model, tokenizer, "3*4=", 1.0)
    special = sum(float(probs[tokenizer.convert_tokens_to_ids(t)]) for t in ("<pad>", "<s>", "<unk>"))
    others = [float(probs[i]) for t, i in tokenizer.get_vocab().items() if t not in ("<pad>", "<s>", "<unk>")]
    expected = special ** 2 + sum(p ** 2 for p in others)
    assert abs(agree - expected) < 4 * np.sqrt(expected * (1 - expected) / n) + 1e-3


def test_tiny_top_p_is_greedy(model_and_tokenizer, decoder_kind):
    model, tokenizer = model_and_tokenizer
    greedy = greedy_completions(model, tokenizer, PROMPTS, max_new_tokens=8)
    nucleus = sample_completions(model, tokenizer, PROMPTS, n=20, temperature=1.0, top_p=1e-6,
                                 max_new_tokens=8, seed=0)
    assert nucleus.completion.tolist() == [c for c in greedy.completion for _ in range(20)]


def test_nucleus_keeps_smallest_set_reaching_top_p():
    probs = torch.tensor([[0.5, 0.25, 0.15, 0.1]])
    assert sampling._nucleus(probs, 0.6).tolist() == [[0.5, 0.25, 0.0, 0.0]]
    assert sampling._nucleus(probs, 0.75).tolist() == [[0.5, 0.25, 0.0, 0.0]]
    assert torch.equal(sampling._nucleus(probs, 0.8), torch.tensor([[0.5, 0.25, 0.15, 0.0]]))
    assert torch.equal(sampling._nucleus(probs, 1.0), probs)
    # The most likely token always stays, however small top_p is.
    assert sampling._nucleus(probs, 1e-9).tolist() == [[0.5, 0.0, 0.0, 0.0]]


def test_choose_tokens_inverse_cdf():
    logits = torch.log(torch.tensor([[0.2, 0.5, 0.3]])).repeat(4, 1)
    uniforms = torch.tensor([0.0, 0.19, 0.21, 0.99])
    assert sampling.choose_tokens(logits, uniforms, 1.0, 1.0).tolist() == [0, 0, 1, 2]
    assert sampling.choose_tokens(logits, uniforms, 0.0, 1.0).tolist() == [1, 1, 1, 1]


def test_training_mode_restored(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    model.train()
    try:
        greedy_completions(model, tokenizer, PROMPTS[:1], max_new_tokens=2)
        assert model.training
    finally:
        model.eval()


# --- token ids for RL rollouts ---------------------------------------------------------------

def test_complete_token_ids_draws_what_sample_completions_draws(model_and_tokenizer, decoder_kind):
    """An RL batch (each prompt repeated once per generation) gets the completions
    sample_completions draws with the same seed: token ids through eos when stopped."""
    model, tokenizer = model_and_tokenizer
    n, budget = 6, 5
    frame = sample_completions(model, tokenizer, PROMPTS, n=n, temperature=1.0, top_p=0.9,
                               max_new_tokens=budget, seed=4)
    encoded = tokenizer(PROMPTS)["input_ids"]
    ids = sampling.complete_token_ids(model, [e for e in encoded for _ in range(n)], 1.0, 0.9, budget,
                                      tokenizer.eos_token_id, tokenizer.pad_token_id,
                                      torch.Generator().manual_seed(4))
    assert len(ids) == len(frame)
    eos = tokenizer.eos_token_id
    for row, sample in zip(ids, frame.itertuples(), strict=True):
        stopped = sample.finish_reason == "stop"
        assert (eos in row) == stopped and eos not in row[:-1]
        assert len(row) == sample.completion_tokens + stopped
        assert tokenizer.decode(row, skip_special_tokens=True) == sample.completion
    assert {"stop", "length"} == set(frame.finish_reason)


def test_complete_token_ids_greedy_non_repeated_prompts_and_checks(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    encoded = tokenizer(PROMPTS)["input_ids"]
    greedy = greedy_completions(model, tokenizer, PROMPTS, max_new_tokens=6)
    ids = sampling.complete_token_ids(model, encoded, 0.0, 1.0, 6, tokenizer.eos_token_id,
                                      tokenizer.pad_token_id)
    assert [tokenizer.decode(row, skip_special_tokens=True) for row in ids] == greedy.completion.tolist()
    assert sampling.complete_token_ids(model, [], 1.0, 1.0, 6, tokenizer.eos_token_id, 0) == []
    with pytest.raises(ValueError, match="context length"):
        sampling.complete_token_ids(model, encoded, 1.0, 1.0, 48, tokenizer.eos_token_id, 0)


def test_a_sampling_job_draws_each_benchmark_as_its_own_job_would(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    benchmarks = {name: pd.DataFrame({"problem_id": [f"{name}-{i}" for i in range(len(PROMPTS))],
                                      "prompt": PROMPTS}) for name in ("a", "b")}
    seeds = {"a": 3, "b": 4}
    settings = dict(n=3, temperature=1.0, top_p=1.0, max_new_tokens=6, batch_size=5)
    job = sample_benchmarks(model, tokenizer, benchmarks, seeds, shard=1, shards=2, **settings)
    for name in benchmarks:
        alone = sample_completions(model, tokenizer, PROMPTS[2:], seed=seeds[name], **settings)
        alone.insert(0, "problem_id", [f"{name}-{2 + i}" for i in alone.pop("prompt_index")])
        mine = job[job.benchmark == name].drop(columns="benchmark").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone)
    # Different seeds: the two benchmarks' samples of the same prompts differ.
    assert job[job.benchmark == "a"].completion.tolist() != job[job.benchmark == "b"].completion.tolist()


def test_shards_split_a_benchmark_into_contiguous_ranges():
    benchmark = pd.DataFrame({"problem_id": [f"p{i}" for i in range(7)]})
    parts = [shard_problems(benchmark, 3, s).problem_id.tolist() for s in range(3)]
    assert parts == [["p0", "p1", "p2"], ["p3", "p4"], ["p5", "p6"]]
    with pytest.raises(ValueError, match="shard 3 is not one of 0..2"):
        shard_problems(benchmark, 3, 3)
