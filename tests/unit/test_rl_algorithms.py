"""The six RLVR algorithms: advantage estimators on hand-computed values, and a few
training steps per trainer on a tiny model, checking that the advantages the loss received
are what the estimator computes from the logged rewards."""

import math

import numpy as np
import pytest
import torch

from rlvr_boundary.training import rl
from rlvr_boundary.training import rl_algorithms as alg
from rlvr_boundary.training import rl_settings
from rlvr_boundary.models.modeling import load_checkpoint

T = torch.tensor


def close(a, b, atol=1e-6):
    return torch.allclose(torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32),
                          atol=atol)


# ---------------------------------------------------------------- estimators, by hand

def test_group_normalized_advantages_by_hand():
    rewards = T([1.0, 0, 0, 0, 1, 1, 1, 1])
    # group 1: mean .25, unbiased std sqrt((.75^2 + 3 * .25^2) / 3) = .5; group 2: all equal -> 0
    expected = [0.75 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001, 0, 0, 0, 0]
    assert close(alg.group_normalized_advantages(rewards, 4), expected)
    assert close(alg.group_normalized_advantages(rewards, 4, "none"), [0.75, -0.25, -0.25, -0.25, 0, 0, 0, 0])
    batch_std = float(np.std([1, 0, 0, 0, 1, 1, 1, 1], ddof=1))
    assert close(alg.group_normalized_advantages(rewards, 4, "batch"),
                 T([0.75, -0.25, -0.25, -0.25, 0, 0, 0, 0]) / (batch_std + 1e-4))
    with pytest.raises(ValueError):
        alg.group_normalized_advantages(rewards, 4, "prompt")


def test_leave_one_out_advantages_by_hand():
    # r = 1: others' mean (0 + 0 + 1) / 3 -> 2/3; r = 0: (1 + 0 + 1) / 3 -> -2/3
    assert close(alg.leave_one_out_advantages(T([1.0, 0, 0, 1]), 4), [2 / 3, -2 / 3, -2 / 3, 2 / 3])
    assert close(alg.leave_one_out_advantages(T([1.0, 1, 0.5, 0]), 2), [0, 0, 0.5, -0.5])
    with pytest.raises(ValueError):
        alg.leave_one_out_advantages(T([1.0]), 1)


def test_dynamic_sampling_filter_and_dapo_advantages():
    accuracy = T([1.0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0])
    keep = alg.dynamic_sampling_keep(accuracy, 4)
    assert keep.tolist() == [False] * 8 + [True] * 4
    # the penalty makes the all-right group's total rewards differ; the filter looks at accuracy
    penalty = T([0.0, -0.5, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0])
    rewards = accuracy + penalty
    advantages = alg.dapo_advantages(rewards, accuracy, 4)
    assert advantages[:8].abs().sum() == 0
    assert close(advantages[8:], alg.group_normalized_advantages(rewards, 4)[8:])
    assert not close(alg.dapo_advantages(rewards, accuracy, 4, dynamic_sampling=False)[:4], torch.zeros(4))


def test_overlong_penalty_by_hand_and_as_trl():
    from trl.rewards import get_soft_overlong_punishment

    lengths = [3, 6, 7, 9, 10, 11]
    # max 10, buffer 4: free up to 6 tokens, then (6 - L) / 4, -1 past 10
    expected = [0.0, 0.0, -0.25, -0.75, -1.0, -1.0]
    assert alg.overlong_penalty(lengths, 10, 4) == expected
    assert get_soft_overlong_punishment(10, 4)([[1] * n for n in lengths]) == expected


def test_remax_advantages_by_hand():
    rewards = T([1.0, 0, 1, 1, 0, 0])
    greedy = T([1.0, 0, 1])  # one greedy reward per prompt, groups of 2
    assert close(alg.remax_advantages(rewards, greedy, 2), [0, -1, 1, 1, -1, -1])


MASK = T([[1, 1, 0], [1, 0, 0], [1, 1, 1]])


def test_token_level_rewards_and_returns():
    rewards = T([1.0, 0.0, 2.0])
    token = alg.token_level_rewards(rewards, MASK)
    assert close(token, [[0, 1, 0], [0, 0, 0], [0, 0, 2]])
    kl = T([[0.1, 0.2, 9.0], [0.3, 9.0, 9.0], [0.0, -0.1, 0.1]])  # 9 = padding, must not count
    token = alg.token_level_rewards(rewards, MASK, kl, beta=0.5)
    assert close(token, [[-0.05, 0.9, 0], [-0.15, 0, 0], [0, 0.05, 1.95]])
    assert close(alg.discounted_returns(token, MASK), [[0.85, 0.9, 0], [-0.15, 0, 0], [2.0, 2.0, 1.95]])
    assert close(alg.discounted_returns(alg.token_level_rewards(rewards, MASK), MASK, gamma=0.5),
                 [[0.5, 1, 0], [0, 0, 0], [0.5, 1, 2]])


def test_reinforce_pp_whitens_over_the_whole_batch():
    # returns on valid tokens: [1, 1], [0], [0, 0, 0]: mean 1/3, unbiased var (2 (2/3)^2 + 4 (1/3)^2) / 5
    std = math.sqrt((2 * (2 / 3) ** 2 + 4 * (1 / 3) ** 2) / 5)
    hi, lo = (2 / 3) / std, -(1 / 3) / std
    advantages = alg.reinforce_pp_advantages(T([1.0, 0.0, 0.0]), MASK)
    assert close(advantages, [[hi, hi, 0], [lo, 0, 0], [lo, lo, lo]], atol=1e-5)
    # a per-group baseline would differ: the batch mean is the baseline
    masked = advantages[MASK.bool()]
    assert abs(masked.mean()) < 1e-6 and abs(masked.std() - 1) < 1e-4
    # with KL in the reward the per-token returns differ inside a sequence
    kl = T([[0.5, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    with_kl = alg.reinforce_pp_advantages(T([1.0, 0.0, 0.0]), MASK, kl, beta=1.0)
    returns = T([0.5, 1.0, 0.0, 0.0, 0.0, 0.0])
    expected = (returns - returns.mean()) / returns.std()
    assert close(with_kl[MASK.bool()], expected, atol=1e-5)


def test_gae_by_hand():
    values = T([[0.5, 0.6, 0.8], [0.3, 0.2, 7.0]])  # row 2 has 2 tokens; 7.0 is padding
    mask = T([[1, 1, 1], [1, 1, 0]])
    token = alg.token_level_rewards(T([1.0, 0.0]), mask)
    # row 1, gamma = lambda = 1: A_t = R - V_t; row 2: deltas 0.2 - 0.3, 0 - 0.2
    adv, ret = alg.gae_advantages(token, values, mask, 1.0, 1.0)
    assert close(adv, [[0.5, 0.4, 0.2], [-0.3, -0.2, 0]]) and close(ret, [[1, 1, 1], [0, 0, 0]])
    # lambda 0.5: deltas (0.1, 0.2, 0.2) -> A2 = .2, A1 = .2 + .5 * .2 = .3, A0 = .1 + .5 * .3 = .25
    adv, ret = alg.gae_advantages(token, values, mask, 1.0, 0.5)
    assert close(adv[0], [0.25, 0.3, 0.2]) and close(ret[0], [0.75, 0.9, 1.0])
    # gamma 0.9, lambda 1: deltas (0.04, 0.12, 0.2) -> (0.31, 0.3, 0.2)
    adv, _ = alg.gae_advantages(token, values, mask, 0.9, 1.0)
    assert close(adv[0], [0.31, 0.3, 0.2])
    # ppo_advantages whitens GAE advantages over the batch's valid tokens, returns unwhitened
    white, ret = alg.ppo_advantages(T([1.0, 0.0]), values, mask, 1.0, 1.0)
    raw = T([0.5, 0.4, 0.2, -0.3, -0.2])
    assert close(white[mask.bool()], (raw - raw.mean()) / raw.std(), atol=1e-5)
    assert white[1, 2] == 0 and close(ret, [[1, 1, 1], [0, 0, 0]])
    unwhite, _ = alg.ppo_advantages(T([1.0, 0.0]), values, mask, 1.0, 1.0, whiten=False)
    assert close(unwhite, [[0.5, 0.4, 0.2], [-0.3, -0.2, 0]])


def test_clipped_value_loss_by_hand():
    old = T([[0.0, 0.0]])
    new = T([[1.0, 0.1]])
    returns = T([[1.0, 1.0]])
    mask = T([[1, 1]])
    # token 1: unclipped (1-1)^2 = 0, clipped V = 0.5 -> 0.25: max 0.25; token 2: both 0.81
    loss, clip_fraction = alg.clipped_value_loss(new, old, returns, mask, 0.5)
    assert close(loss, 0.5 * (0.25 + 0.81) / 2) and close(clip_fraction, 0.5)
    loss, _ = alg.clipped_value_loss(new, old, returns, T([[1, 0]]), 0.5)
    assert close(loss, 0.5 * 0.25)


# ---------------------------------------------------------------- settings

def test_trainer_options_and_validation():
    assert set(rl_settings.TRAINER_OPTIONS) == {"grpo", "dapo", "rloo", "reinforce_pp", "remax", "ppo"}
    for trainer, options in rl_settings.TRAINER_OPTIONS.items():  # the schema needs a description per key
        assert set(rl_settings.OPTION_DESCRIPTIONS.get(trainer, {})) == set(options), trainer
    base = {"steps": 1, "prompts_per_step": 1, "generations_per_prompt": 2, "temperature": 1.0,
            "top_p": 1.0, "max_new_tokens": 8, "learning_rate": 1e-3}
    assert rl_settings.validate_settings(base)["trainer"] == "grpo"
    cfg = rl_settings.validate_settings({**base, "trainer": "ppo", "gae_lambda": 0.9, "regimes": {}})
    assert cfg["gae_lambda"] == 0.9 and cfg["value_clip"] == rl_settings.TRAINER_OPTIONS["ppo"]["value_clip"]
    assert "regimes" not in cfg
    with pytest.raises(ValueError, match="'sac'"):
        rl_settings.validate_settings({**base, "trainer": "sac"})
    with pytest.raises(ValueError, match="gae_lambda.*ppo option"):
        rl_settings.validate_settings({**base, "trainer": "grpo", "gae_lambda": 0.9})
    with pytest.raises(ValueError, match="epsilon_hihg"):
        rl_settings.validate_settings({**base, "trainer": "dapo", "epsilon_hihg": 0.3})


# ---------------------------------------------------------------- training

SETTINGS = {
    "steps": 3, "prompts_per_step": 4, "generations_per_prompt": 4, "temperature": 1.0, "top_p": 1.0,
    "max_new_tokens": 12, "learning_rate": 3e-3, "beta": 0.0, "loss_type": "grpo",
    "scale_rewards": "group", "reward_metric": "answer",
}
ALGORITHMS = {
    "grpo": {"trainer": "grpo"},
    "dapo": {"trainer": "dapo", "loss_type": "dapo", "overlong_buffer_fraction": 0.25},
    "rloo": {"trainer": "rloo"},
    "reinforce_pp": {"trainer": "reinforce_pp"},
    "reinforce_pp_kl": {"trainer": "reinforce_pp", "beta": 0.05},
    "remax": {"trainer": "remax"},
    "ppo": {"trainer": "ppo", "gae_lambda": 0.95},
}


def _run(base_path, prompts, tmp_path, algorithm, seed=3):
    """train_rl with one algorithm entry, capturing the trainer it builds."""
    captured = {}
    original = rl.make_trainer

    def make(*args, **kwargs):
        captured["trainer"] = original(*args, **kwargs)
        return captured["trainer"]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rl, "make_trainer", make)
        model, tokenizer, history = rl.train_rl(base_path, prompts, {**SETTINGS, **ALGORITHMS[algorithm]},
                                                seed=seed, threads=1, checkpoint_dir=tmp_path / "c",
                                                checkpoint_steps=[])
    return model, tokenizer, history, captured["trainer"]


@pytest.fixture(scope="module")
def runs(base_path, prompts, tmp_path_factory):
    return {name: _run(base_path, prompts, tmp_path_factory.mktemp(name), name) for name in ALGORITHMS}


def _expected(name, record, trainer):
    """What the estimator computes from the logged rewards (and the other logged inputs)."""
    rewards, group, mask = record["rewards"], SETTINGS["generations_per_prompt"], record["completion_mask"]
    if name == "grpo":
        return alg.group_normalized_advantages(rewards, group, "group")
    if name == "dapo":
        return alg.dapo_advantages(rewards, record["rewards_per_func"][:, 0], group, "group")
    if name == "rloo":
        return alg.leave_one_out_advantages(rewards, group)
    if name.startswith("reinforce_pp"):
        return alg.reinforce_pp_advantages(rewards, mask, record["kl"], trainer.beta)
    if name == "remax":
        return alg.remax_advantages(rewards, record["greedy_rewards"], group)
    if name == "ppo":
        return alg.ppo_advantages(rewards, record["values"], mask, trainer.gamma, trainer.gae_lambda)[0]
    raise KeyError(name)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_trainer_uses_its_estimator(runs, name):
    _, _, history, trainer = runs[name]
    steps = SETTINGS["steps"]
    assert list(history.step) == list(range(1, steps + 1))
    for column in ["reward", "completion_length", "entropy", "advantage_mean", "advantage_std"]:
        assert history[column].notna().all(), column
    log = trainer.advantage_log
    assert [r["step"] for r in log] == list(range(1, steps + 1))
    batch = SETTINGS["prompts_per_step"] * SETTINGS["generations_per_prompt"]
    for record, row in zip(log, history.itertuples(), strict=True):
        advantages = record["advantages"]
        assert advantages.shape[0] == batch
        assert close(advantages, _expected(name, record, trainer), atol=1e-5), (name, record["step"])
        # the loss saw exactly these advantages (TRL shuffles rows before the loss)
        (seen,) = record["loss_advantages"]
        assert torch.equal(torch.sort(seen.flatten()).values, torch.sort(advantages.flatten()).values)
        # the history's reward and advantage statistics are those of the record
        assert math.isclose(row.reward, record["rewards"].mean().item(), abs_tol=1e-6)
        weights = record["completion_mask"].float() if advantages.dim() == 2 else torch.ones_like(advantages)
        mean = (advantages * weights).sum() / weights.sum()
        assert math.isclose(row.advantage_mean, mean.item(), abs_tol=1e-5)
    # some steps carried a learning signal
    assert any(r["advantages"].abs().sum() > 0 for r in log), name


def test_per_token_and_sequence_advantages(runs):
    for name in ["grpo", "dapo", "rloo", "remax"]:
        assert all(r["advantages"].dim() == 1 for r in runs[name][3].advantage_log), name
    for name in ["reinforce_pp", "ppo"]:
        assert all(r["advantages"].dim() == 2 for r in runs[name][3].advantage_log), name
    # with KL in the reward, advantages vary along a completion; without, they do not
    def varies(record):
        adv, mask = record["advantages"], record["completion_mask"].bool()
        return any(adv[i][mask[i]].unique().numel() > 1 for i in range(adv.size(0)))

    assert not any(varies(r) for r in runs["reinforce_pp"][3].advantage_log)
    # (at step 1 the policy is the reference: KL 0)
    kl_log = list(runs["reinforce_pp_kl"][3].advantage_log)
    assert kl_log[0]["kl"].abs().sum() == 0
    assert all(varies(r) and r["kl"].abs().sum() > 0 for r in kl_log[1:])
    assert "kl" in runs["reinforce_pp_kl"][2].columns


def test_dapo_overlong_penalty_and_filter(runs):
    _, _, history, trainer = runs["dapo"]
    assert trainer.loss_type == "dapo" and trainer.epsilon_high == 0.28
    max_len = SETTINGS["max_new_tokens"]
    for record in trainer.advantage_log:
        lengths = record["completion_mask"].sum(dim=1).tolist()
        penalty = record["rewards_per_func"][:, 1]
        assert close(penalty, alg.overlong_penalty(lengths, max_len, 3))
        assert close(record["rewards"], record["rewards_per_func"][:, 0] + penalty)
        assert torch.equal(record["keep"], alg.dynamic_sampling_keep(record["rewards_per_func"][:, 0], 4))
    assert "dynamic_sampling/kept_fraction" in history.columns


def test_remax_baseline_is_the_greedy_completions_reward(runs, base_path):
    """At step 1 the policy is the base: its greedy answers, graded, are the baseline."""
    _, tokenizer, _, trainer = runs["remax"]
    record = trainer.advantage_log[0]
    prompts = record["prompts"][::SETTINGS["generations_per_prompt"]]
    base, _ = load_checkpoint(base_path)
    encoded = tokenizer(prompts, return_tensors="pt", padding=True)
    with torch.no_grad():
        out = base.generate(**encoded, do_sample=False, max_new_tokens=SETTINGS["max_new_tokens"],
                            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    completion_ids = []
    for row in out[:, encoded["input_ids"].size(1):].tolist():
        cut = row.index(tokenizer.eos_token_id) + 1 if tokenizer.eos_token_id in row else len(row)
        completion_ids.append(row[:cut])
    texts = tokenizer.batch_decode(completion_ids, skip_special_tokens=True)
    reward = rl.make_reward_function("answer", tokenizer.eos_token_id)
    assert record["greedy_rewards"].tolist() == reward(prompts, texts, completion_ids=completion_ids)


def test_ppo_critic_learns(runs):
    _, _, history, trainer = runs["ppo"]
    log = trainer.advantage_log
    # the value head starts at zero, so step 1's values are 0; the critic then moves
    assert log[0]["values"].abs().sum() == 0
    assert log[-1]["values"].abs().sum() > 0
    for record in log:
        _, returns = alg.ppo_advantages(record["rewards"], record["values"], record["completion_mask"],
                                        trainer.gamma, trainer.gae_lambda)
        assert close(returns, record["returns"])
    assert history["value/loss"].notna().all()
    assert trainer.value_optimizer.state  # the critic's own optimizer stepped


def test_same_seed_same_weights(runs, base_path, prompts, tmp_path):
    model, _, history, _ = runs["ppo"]
    again, _, history_again, _ = _run(base_path, prompts, tmp_path, "ppo")
    first, second = model.state_dict(), again.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert history.reward.tolist() == history_again.reward.tolist()


def test_rollouts_go_through_the_sampler_where_it_applies(base_path, prompts, tmp_path, monkeypatch):
    """CPU, one process, plain temperature sampling: every trainer's rollouts come from
    sampling.complete_token_ids (ReMax's greedy baseline too); with the switch off TRL's
    generate does the work."""
    calls = []
    original = alg.complete_token_ids

    def counting(model, prompt_ids, temperature, *args, **kwargs):
        calls.append((len(prompt_ids), temperature))
        return original(model, prompt_ids, temperature, *args, **kwargs)

    monkeypatch.setattr(alg, "complete_token_ids", counting)
    monkeypatch.setitem(SETTINGS, "steps", 1)
    batch = SETTINGS["prompts_per_step"] * SETTINGS["generations_per_prompt"]
    for name in ["grpo", "rloo", "ppo"]:
        calls.clear()
        _run(base_path, prompts, tmp_path / name, name)
        assert calls == [(batch, 1.0)], name
    calls.clear()
    _run(base_path, prompts, tmp_path / "remax", "remax")
    assert calls == [(batch, 1.0), (SETTINGS["prompts_per_step"], 0.0)]
    calls.clear()
    monkeypatch.setattr(alg.SamplerRolloutMixin, "use_sampler_rollouts", False)
    _, _, history, _ = _run(base_path, prompts, tmp_path / "off", "grpo")
    assert calls == [] and len(history) == 1


@pytest.mark.parametrize("setting,value", [("top_k", 5), ("min_p", 0.1), ("repetition_penalty", 1.2),
                                           ("do_sample", False)])
def test_sampler_rollouts_only_for_what_the_sampler_implements(runs, setting, value):
    trainer = runs["grpo"][3]
    assert trainer._sampler_rolls_out(None, {})
    before = getattr(trainer.generation_config, setting)
    setattr(trainer.generation_config, setting, value)
    try:
        assert not trainer._sampler_rolls_out(None, {})
    finally:
        setattr(trainer.generation_config, setting, before)
    assert not trainer._sampler_rolls_out([["an image"]], {})
