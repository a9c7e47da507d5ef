"""Linear layers through oneDNN: same values and gradients as nn.Linear, weights reordered
again whenever they may have changed, and a plain model everywhere else."""

from __future__ import annotations

import copy

import pytest
import torch

from rlvr_boundary import onednn
from rlvr_boundary.modeling import build_model

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.skipif(not onednn.available(), reason="torch built without oneDNN")]


def _pair(bias: bool, seed: int = 0):
    """An nn.Linear and a OneDNNLinear with the same parameters."""
    torch.manual_seed(seed)
    plain = torch.nn.Linear(24, 40, bias=bias)
    fast = copy.deepcopy(plain)
    fast.__class__ = onednn.OneDNNLinear
    return plain, fast


@pytest.mark.parametrize("rows", [1, 8, 33, 2048])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("least", [0, None])
def test_values_and_gradients_match_nn_linear(rows, bias, least, monkeypatch):
    """Through oneDNN (thresholds 0) and through whichever path the size picks."""
    if least == 0:
        monkeypatch.setattr(onednn, "TRAINING_MIN_MACS", 0)
    plain, fast = _pair(bias)
    x = torch.randn(3, rows, 24)
    x_plain, x_fast = x.clone().requires_grad_(), x.clone().requires_grad_()
    grad_out = torch.randn(3, rows, 40)
    out_plain, out_fast = plain(x_plain), fast(x_fast)
    torch.testing.assert_close(out_fast, out_plain, rtol=1e-5, atol=1e-6)
    out_plain.backward(grad_out)
    out_fast.backward(grad_out)
    torch.testing.assert_close(x_fast.grad, x_plain.grad, rtol=1e-5, atol=1e-6)
    for p_fast, p_plain in zip(fast.parameters(), plain.parameters()):
        torch.testing.assert_close(p_fast.grad, p_plain.grad, rtol=1e-5, atol=1e-5)


def test_weight_changed_through_data_is_seen_outside_frozen_blocks(monkeypatch):
    """Training may write weights through ``.data`` (no version bump): outside
    frozen_weights() each call uses the weight as it is now."""
    plain, fast = _pair(bias=True)
    x = torch.randn(16, 24)
    monkeypatch.setattr(onednn, "TRAINING_MIN_MACS", 0)  # oneDNN even for this small product
    fast(x)
    fast.weight.data.mul_(2)
    plain.weight.data.mul_(2)
    torch.testing.assert_close(fast(x), plain(x), rtol=1e-5, atol=1e-6)


def test_frozen_block_reorders_each_weight_once(monkeypatch):
    _, fast = _pair(bias=False)
    packs = []
    real_pack = onednn._pack
    monkeypatch.setattr(onednn, "_pack", lambda w: packs.append(1) or real_pack(w))
    monkeypatch.setattr(onednn, "FROZEN_MIN_MACS", 0)
    monkeypatch.setattr(onednn, "TRAINING_MIN_MACS", 0)
    x = torch.randn(16, 24)
    with torch.no_grad(), onednn.frozen_weights():
        first = fast(x)
        for _ in range(4):
            torch.testing.assert_close(fast(x), first, rtol=0, atol=0)
    assert len(packs) == 1
    fast(x)  # outside the block: reordered again
    assert len(packs) == 2


def test_model_switch_keeps_state_dict_generate_and_deepcopy():
    model, tokenizer = build_model({"hidden_size": 32, "intermediate_size": 64,
                                    "num_hidden_layers": 1, "num_attention_heads": 2}, 32)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(type(m) is onednn.OneDNNLinear for m in linears)
    assert type(model).__name__ == "LlamaForCausalLM"  # the sampler's fast path and config
    plain = copy.deepcopy(model)
    for module in plain.modules():
        if type(module) is onednn.OneDNNLinear:
            module.__class__ = torch.nn.Linear
    del plain.generate
    assert plain.state_dict().keys() == model.state_dict().keys()
    ids = tokenizer(["4+3="], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model(**ids).logits, plain(**ids).logits, rtol=1e-5, atol=1e-5)
        kwargs = dict(do_sample=False, max_new_tokens=6, pad_token_id=tokenizer.pad_token_id)
        assert torch.equal(model.generate(**ids, **kwargs), plain.generate(**ids, **kwargs))
    twin = copy.deepcopy(model)  # the generate wrapper follows the copy, not the original
    assert twin.generate.__self__ is twin


def test_large_models_are_left_alone(monkeypatch):
    monkeypatch.setattr(onednn, "MAX_PARAMETERS", 10)
    model, _ = build_model({"hidden_size": 32, "intermediate_size": 64,
                            "num_hidden_layers": 1, "num_attention_heads": 2}, 32)
    assert all(type(m) is torch.nn.Linear for m in model.modules()
               if isinstance(m, torch.nn.Linear))
