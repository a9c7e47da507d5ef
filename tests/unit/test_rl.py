"""Unit tests for RLVR with TRL's GRPOTrainer (rlvr_boundary.training.rl), on a tiny model."""

import numpy as np
import pytest
import torch

from rlvr_boundary.training import rl
from rlvr_boundary.models.modeling import load_checkpoint
from rlvr_boundary.world.task import parse_prompt

PROMPT = "4+3*2-5="  # 4+3=7, 7*2=4, 4-5=9
RIGHT = "+3=7*2=4-5=9|9"
RIGHT_ANSWER_WRONG_TRACE = "+3=7*2=5-5=9|9"   # a wrong step, right final answer
WRONG_ANSWER = "+3=7*2=4-5=9|8"
UNPARSABLE = "+3=7*2"

STEPS = 4
SETTINGS = {
    "steps": STEPS, "prompts_per_step": 4, "generations_per_prompt": 4, "temperature": 1.0,
    "top_p": 1.0, "max_new_tokens": 12, "learning_rate": 3e-3, "beta": 0.0, "loss_type": "grpo",
    "scale_rewards": "group", "reward_metric": "answer",
    # keys of the config's rl block that train_rl does not use must be accepted
    "regimes": {"narrow": {"prompts": 8}}, "checkpoint_fractions": [0.5],
}


# ---------------------------------------------------------------- reward function

@pytest.mark.parametrize("metric,completion,expected", [
    ("answer", RIGHT, 1.0),
    ("answer", RIGHT_ANSWER_WRONG_TRACE, 1.0),
    ("answer", WRONG_ANSWER, 0.0),
    ("answer", UNPARSABLE, 0.0),
    ("answer", "", 0.0),
    ("trace", RIGHT, 1.0),
    ("trace", RIGHT_ANSWER_WRONG_TRACE, 0.0),
    ("trace", WRONG_ANSWER, 0.0),
    ("trace", UNPARSABLE, 0.0),
    ("trace", "", 0.0),
])
def test_reward_function(metric, completion, expected):
    reward = rl.make_reward_function(metric)
    assert reward(prompts=[PROMPT], completions=[completion]) == [expected]


def test_reward_function_batch_and_default_metric():
    reward = rl.make_reward_function()  # answer
    completions = [RIGHT, RIGHT_ANSWER_WRONG_TRACE, WRONG_ANSWER, UNPARSABLE]
    assert reward([PROMPT] * 4, completions) == [1.0, 1.0, 0.0, 0.0]
    assert rl.make_reward_function("trace")([PROMPT] * 4, completions) == [1.0, 0.0, 0.0, 0.0]
    assert reward.__name__ == "answer_correct"


def test_reward_function_truncated_completion_gets_zero():
    reward = rl.make_reward_function("trace", eos_token_id=2)
    ids_stop, ids_cut = [5, 6, 2], [5, 6, 7]
    assert reward([PROMPT] * 2, [RIGHT, RIGHT], completion_ids=[ids_stop, ids_cut]) == [1.0, 0.0]


def test_reward_function_rejects_unknown_metric():
    with pytest.raises(ValueError):
        rl.make_reward_function("pass@k")


# ---------------------------------------------------------------- training

@pytest.fixture(scope="module")
def recorded_run(base_path, prompts, tmp_path_factory):
    """One run, recording what TRL tokenised and what it handed to the reward function."""
    from trl import GRPOTrainer

    record = {"prompt_ids": [], "calls": []}
    original_tokenize = GRPOTrainer._tokenize_prompts
    original_make = rl.make_reward_function

    def tokenize(self, prompts_):
        out = original_tokenize(self, prompts_)
        record["prompt_ids"].append((list(prompts_), [list(ids) for ids in out[0]]))
        return out

    def make(metric="answer", eos_token_id=None):
        inner = original_make(metric, eos_token_id)

        def reward(prompts, completions, completion_ids=None, **kwargs):
            rewards = inner(prompts, completions, completion_ids=completion_ids, **kwargs)
            record["calls"].append((list(prompts), list(completions),
                                    [list(ids) for ids in completion_ids], rewards))
            return rewards

        reward.__name__ = inner.__name__
        return reward

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GRPOTrainer, "_tokenize_prompts", tokenize)
        patch.setattr(rl, "make_reward_function", make)
        checkpoint_dir = tmp_path_factory.mktemp("rl") / "checkpoints"
        model, tokenizer, history = rl.train_rl(base_path, prompts, SETTINGS, seed=3, threads=1,
                                                checkpoint_dir=checkpoint_dir, checkpoint_steps=[1, 3])
    return model, tokenizer, history, checkpoint_dir, record


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_train_rl_history_and_model(recorded_run, base_path):
    model, tokenizer, history, _, record = recorded_run
    assert not model.training
    assert list(history.step) == list(range(1, STEPS + 1))
    for column in ["reward", "reward_std", "completion_length", "entropy", "learning_rate", "loss"]:
        assert column in history.columns, column
        assert history[column].notna().all(), column
    assert history.reward.between(0, 1).all()
    assert (history.completion_length <= SETTINGS["max_new_tokens"]).all()
    assert np.allclose(history.learning_rate, SETTINGS["learning_rate"])  # constant schedule
    # the logged reward is the mean of what the reward function returned, step by step
    assert len(record["calls"]) == STEPS
    for (_, _, _, rewards), logged in zip(record["calls"], history.reward):
        assert np.isclose(np.mean(rewards), logged)
    # some right answers were sampled, so GRPO did move the weights
    assert sum(sum(r) for *_, r in record["calls"]) > 0
    base, _ = load_checkpoint(base_path)
    assert any(not torch.equal(a, b) for a, b in zip(_state(base).values(), _state(model).values()))


def test_train_rl_writes_checkpoints(recorded_run):
    model, _, _, checkpoint_dir, _ = recorded_run
    assert sorted(p.name for p in checkpoint_dir.iterdir()) == ["step-00001", "step-00003"]
    for name in ["step-00001", "step-00003"]:
        loaded, tokenizer = load_checkpoint(checkpoint_dir / name)
        assert not loaded.training and tokenizer.padding_side == "left"
        assert tokenizer.bos_token_id is not None and tokenizer.eos_token_id is not None
    early, _ = load_checkpoint(checkpoint_dir / "step-00001")
    assert any(not torch.equal(a, b) for a, b in zip(_state(early).values(), _state(model).values()))


def test_trl_prompt_tokenisation_is_bos_plus_characters(recorded_run):
    _, tokenizer, _, _, record = recorded_run
    vocab = tokenizer.get_vocab()
    assert record["prompt_ids"]
    for prompts_, ids in record["prompt_ids"]:
        for prompt, row in zip(prompts_, ids, strict=True):
            assert row == [tokenizer.bos_token_id, *(vocab[ch] for ch in prompt)]
    rl.check_prompt_tokenization(tokenizer, [PROMPT])


def test_check_prompt_tokenization_rejects_double_bos(base_path):
    from tokenizers import processors

    _, tokenizer = load_checkpoint(base_path)
    rl.check_prompt_tokenization(tokenizer, [PROMPT])
    bos = tokenizer.bos_token
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} {bos} $A", special_tokens=[(bos, tokenizer.bos_token_id)])
    assert tokenizer(text=[PROMPT])["input_ids"][0][:3] == [tokenizer.bos_token_id] * 2 + [
        tokenizer.get_vocab()["4"]]
    with pytest.raises(ValueError, match="bos"):
        rl.check_prompt_tokenization(tokenizer, [PROMPT])


def test_completions_stop_at_eos(recorded_run):
    _, tokenizer, _, _, record = recorded_run
    eos = tokenizer.eos_token_id
    limit = SETTINGS["max_new_tokens"]
    stopped = 0
    for prompts_, completions, completion_ids, _ in record["calls"]:
        assert len(completions) == SETTINGS["prompts_per_step"] * SETTINGS["generations_per_prompt"]
        for prompt, text, ids in zip(prompts_, completions, completion_ids, strict=True):
            parse_prompt(prompt)  # plain-text prompts reach the reward function
            # (no pad check: a weak base may sample the pad id; nothing is appended after
            # eos or past the limit, which the two branches check)
            if eos in ids:  # cut right after the first eos
                assert ids.index(eos) == len(ids) - 1
                stopped += 1
            else:
                assert len(ids) == limit
            # TRL decodes without special tokens (a weak base may sample bos mid-completion)
            assert text == tokenizer.decode(ids, skip_special_tokens=True) and "<" not in text
    assert stopped > 0


def test_train_rl_is_deterministic(recorded_run, base_path, prompts, tmp_path):
    model, _, history, _, _ = recorded_run
    again, _, history_again = rl.train_rl(base_path, prompts, SETTINGS, seed=3, threads=1,
                                          checkpoint_dir=tmp_path / "c", checkpoint_steps=[])
    first, second = _state(model), _state(again)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert history.reward.tolist() == history_again.reward.tolist()
    assert not (tmp_path / "c").exists()  # no checkpoints requested, nothing written


def test_train_rl_rejects_bad_arguments(base_path, prompts, tmp_path):
    with pytest.raises(ValueError, match="prompts_per_step"):
        rl.train_rl(base_path, prompts[:2], SETTINGS, 0, 1, tmp_path, [])
    with pytest.raises(ValueError, match="outside"):
        rl.train_rl(base_path, prompts, SETTINGS, 0, 1, tmp_path, [STEPS + 1])
    with pytest.raises(ValueError, match="lack"):
        rl.train_rl(base_path, prompts, {"steps": 2}, 0, 1, tmp_path, [])


def test_math_verify_reward_reads_each_prompts_reference_answer():
    from rlvr_boundary.training.rl import make_reward_function

    reward = make_reward_function("math_verify")
    completions = ["so \\boxed{\\frac{1}{2}}", "it is \\boxed{0.5}", "\\boxed{3}", "no answer"]
    golds = ["1/2", "\\frac12", "4", "2"]
    assert reward(["p"] * 4, completions, reference_answer=golds) == [1.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="unknown reward metric 'exact'"):
        make_reward_function("exact")
