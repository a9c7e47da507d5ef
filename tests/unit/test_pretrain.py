"""Pretraining's batch in parts of similar length: the same loss and gradient as the whole
batch padded to its longest row."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlvr_boundary.training import pretrain
from rlvr_boundary.models.modeling import build_model
from rlvr_boundary.world.task import World, random_problem

ARCH = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}


def _texts(count: int = 24) -> list[str]:
    rng = np.random.default_rng(0)
    world = World.generate(rng, 0.3, (0.9, 0.995), 0.1)
    problems = [random_problem(rng, int(depth)) for depth in rng.integers(1, 6, size=count)]
    return [p.prompt + world.noisy_completion(p, rng) for p in problems]


def _loss_and_grads(model, tokenizer, texts, groups, monkeypatch):
    monkeypatch.setattr(pretrain, "LENGTH_GROUPS", groups)
    model.zero_grad(set_to_none=True)
    loss = pretrain.batch_loss_backward(model, tokenizer, texts, "cpu")
    return loss, [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("groups", [2, 3, 5])
def test_parts_of_similar_length_give_the_whole_batch_loss_and_gradient(groups, monkeypatch):
    torch.manual_seed(0)
    model, tokenizer = build_model(ARCH, 64)
    texts = _texts()
    whole_loss, whole_grads = _loss_and_grads(model, tokenizer, texts, 1, monkeypatch)
    # the whole batch, as a plain padded forward with the model's own mean loss
    input_ids, labels = pretrain.encode_batch(texts, tokenizer)
    model.zero_grad(set_to_none=True)
    plain = model(input_ids=input_ids, attention_mask=(labels != -100).long(), labels=labels).loss
    assert whole_loss == pytest.approx(plain.item(), rel=1e-6)
    loss, grads = _loss_and_grads(model, tokenizer, texts, groups, monkeypatch)
    assert loss == pytest.approx(whole_loss, rel=1e-5)
    for grad, whole in zip(grads, whole_grads):
        torch.testing.assert_close(grad, whole, rtol=1e-4, atol=1e-6)


def test_length_groups_cover_the_batch_once_shortest_first():
    texts = ["aaaa", "a", "aaa", "aa", "aaaaa"]
    groups = pretrain.length_groups(texts, 2)
    assert sorted(i for g in groups for i in g) == list(range(5))
    assert [[len(texts[i]) for i in g] for g in groups] == [[1, 2, 3], [4, 5]]
    assert pretrain.length_groups(texts, 9) == [[1], [3], [2], [0], [4]]


def test_rare_depths_replace_about_their_share_of_a_batch_and_only_from_their_pool():
    rng = np.random.default_rng(0)
    shallow = [random_problem(rng, 2) for _ in range(50)]
    deep = [random_problem(rng, 5) for _ in range(20)]
    batch = pretrain.draw_batch(np.random.default_rng(1), shallow, 20_000, deep, 0.05)
    share = np.mean([p.depth == 5 for p in batch])
    assert 0.045 < share < 0.055
    assert {id(p) for p in batch} <= {id(p) for p in shallow + deep}


def test_without_rare_depths_a_batch_is_the_same_draw_as_before():
    rng = np.random.default_rng(0)
    problems = [random_problem(rng, 3) for _ in range(30)]
    batch = pretrain.draw_batch(np.random.default_rng(7), problems, 64, [], 0.0)
    expected = [problems[i] for i in np.random.default_rng(7).integers(30, size=64)]
    assert batch == expected
