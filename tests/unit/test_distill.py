"""Distillation: only verified traces are kept; SFT trains on the sampler's token layout and
is reproducible."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
import torch

from rlvr_boundary.training import distill
from rlvr_boundary.sampling import generate as sampling
from rlvr_boundary.models.modeling import build_model, save_checkpoint
from rlvr_boundary.world.task import parse_prompt

ARCH = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 2}
SETTINGS = {"steps": 4, "batch_size": 4, "learning_rate": 1e-2}


# One torch thread for every test here (tests/unit/conftest.py says why).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def base_path(tmp_path_factory, one_thread):
    torch.manual_seed(0)
    model, tokenizer = build_model(ARCH, 48)
    path = tmp_path_factory.mktemp("models") / "base"
    save_checkpoint(model, tokenizer, path)
    return path


def _traces(prompts: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"prompt": prompts,
                         "completion": [parse_prompt(p).completion() for p in prompts]})


PROMPTS = ["4+3*2-5=", "7-1=", "2*9+9=", "0+0*7-2+1="]


def test_distillation_set_keeps_only_correct_traces(monkeypatch, caplog):
    prompts = pd.DataFrame({"problem_id": ["a", "b", "c"], "prompt": PROMPTS[:3], "depth": [3, 1, 2]})
    right = [parse_prompt(p).completion() for p in PROMPTS[:3]]
    first = parse_prompt(PROMPTS[0])
    wrong = first.completion([(v + 1) % 10 for v in first.values()])
    fake = pd.DataFrame({
        "prompt_index": [0, 0, 1, 1, 2, 2],
        "sample_id": [0, 1, 0, 1, 0, 1],
        "completion": [right[0], wrong, right[1], right[1], "+9=", right[2]],
        "finish_reason": ["stop", "stop", "stop", "length", "stop", "stop"],
        "completion_tokens": [0] * 6,
    })
    seen = {}

    def fake_sampler(teacher, tokenizer, prompt_list, n, temperature, top_p, max_new_tokens, seed):
        seen.update(prompts=prompt_list, n=n, temperature=temperature, seed=seed)
        return fake

    monkeypatch.setattr(distill, "sample_completions", fake_sampler)
    with caplog.at_level(logging.INFO, logger="rlvr_boundary.training.distill"):
        kept = distill.build_distillation_set(None, None, prompts, samples_per_prompt=2,
                                              temperature=0.8, max_new_tokens=20, seed=9)
    assert seen == {"prompts": PROMPTS[:3], "n": 2, "temperature": 0.8, "seed": 9}
    # wrong answer, truncated ("length") and unparsable samples are dropped
    assert kept.to_dict("list") == {"problem_id": ["a", "b", "c"], "prompt": PROMPTS[:3],
                                    "completion": right}
    assert "kept 3 of 6" in caplog.text


def test_distillation_set_from_a_real_sampler_is_all_correct(base_path):
    """End to end with real sampling: a random teacher yields nothing; one trained on a
    single problem yields that problem's correct traces and nothing for another problem."""
    from rlvr_boundary.models.modeling import load_checkpoint
    from rlvr_boundary.world.task import grade_trace

    teacher, tokenizer = load_checkpoint(base_path)
    prompts = pd.DataFrame({"problem_id": ["known", "unknown"], "prompt": ["3+0=", "7*7-2="]})
    with pytest.raises(ValueError, match="none of its"):
        distill.build_distillation_set(teacher, tokenizer, prompts, samples_per_prompt=8,
                                       temperature=1.0, max_new_tokens=8, seed=0)
    trained, tokenizer, _ = distill.sft(base_path, _traces(["3+0="] * 16),
                                        {"steps": 80, "batch_size": 8, "learning_rate": 1e-2},
                                        seed=0, threads=1)
    kept = distill.build_distillation_set(trained, tokenizer, prompts, samples_per_prompt=32,
                                          temperature=1.0, max_new_tokens=8, seed=0)
    assert 0 < len(kept) <= 32 and set(kept.problem_id) == {"known"}
    assert all(grade_trace(parse_prompt(p), c, "stop") == "correct"
               for p, c in zip(kept.prompt, kept.completion))


def test_sft_token_layout_matches_the_sampler(base_path, tmp_path):
    """TRL tokenises prompt + completion as bos + chars + eos (one bos, one eos), with the
    loss on completion + eos only; the prompt part is exactly what the sampler feeds."""
    from rlvr_boundary.models.modeling import load_checkpoint

    model, tokenizer = load_checkpoint(base_path)
    data = _traces(PROMPTS)
    trainer = distill.make_trainer(model, tokenizer, data, SETTINGS, seed=0, output_dir=str(tmp_path))
    vocab = tokenizer.get_vocab()
    prompt_ids = sampling._encode_prompts(tokenizer, data.prompt.tolist())
    for i, example in enumerate(trainer.train_dataset):
        assert example["prompt"] == data.prompt[i]  # not shuffled at preparation
        completion_ids = [vocab[ch] for ch in data.completion[i]] + [tokenizer.eos_token_id]
        assert example["input_ids"] == prompt_ids[i] + completion_ids
        assert prompt_ids[i][0] == tokenizer.bos_token_id and prompt_ids[i].count(tokenizer.bos_token_id) == 1
        assert example["input_ids"].count(tokenizer.eos_token_id) == 1
        assert example["labels"] == [-100] * len(prompt_ids[i]) + completion_ids
    # The collator pads on the right and never puts loss on padding.
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(data))])
    lengths = [len(e["input_ids"]) for e in trainer.train_dataset]
    for row, length in enumerate(lengths):
        assert batch["attention_mask"][row].tolist() == [1] * length + [0] * (max(lengths) - length)
        assert (batch["labels"][row, length:] == -100).all()


def _state(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_sft_is_deterministic_and_learns(base_path):
    data = _traces(PROMPTS * 2)
    first, _, history = distill.sft(base_path, data, SETTINGS, seed=3, threads=1)
    second, _, again = distill.sft(base_path, data, SETTINGS, seed=3, threads=1)
    other, _, _ = distill.sft(base_path, data, SETTINGS, seed=4, threads=1)
    a, b, c = _state(first), _state(second), _state(other)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)  # the seed orders the batches
    assert history.step.tolist() == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(history, again)
    assert history.loss.iloc[-1] < history.loss.iloc[0]
    assert not first.training


def test_sft_rejects_examples_longer_than_the_context(base_path):
    long = pd.DataFrame({"prompt": ["1" + "+1" * 20 + "="], "completion": ["+1=2" * 10 + "|1"]})
    with pytest.raises(ValueError, match="context length"):
        distill.sft(base_path, long, SETTINGS, seed=0, threads=1)
