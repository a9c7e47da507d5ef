"""Linear layers through oneDNN: same values and gradients as nn.Linear, and a model that
is otherwise the plain transformers one."""

from __future__ import annotations

import copy

import pytest
import torch

from rlvr_boundary.models import cpu
from rlvr_boundary.models import onednn
from rlvr_boundary.models.modeling import build_model

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
    """Through oneDNN (threshold 0) and through whichever path the size picks."""
    if least == 0:
        monkeypatch.setattr(onednn, "MIN_MACS", 0)
        monkeypatch.setattr(onednn, "WEIGHT_GRAD_MIN_MACS", 0)
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
        # Sums over all rows: rounding grows with them, so the tolerance is the gradient's scale.
        scale = float(p_plain.grad.abs().max())
        torch.testing.assert_close(p_fast.grad, p_plain.grad, rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("inputs, outputs", [(24, 40), (40, 24), (32, 32)])
def test_weight_gradient_same_bits_whichever_operand_goes_first(inputs, outputs):
    """The narrower operand goes first for speed; the trained models must not change."""
    grad, x = torch.randn(300, outputs), torch.randn(300, inputs)
    ours = onednn.weight_gradient(grad, x)
    assert ours.shape == (outputs, inputs) and ours.is_contiguous()
    assert torch.equal(ours, onednn._product(grad.t().contiguous(), x.t().contiguous(), None))
    torch.testing.assert_close(ours, grad.t() @ x, rtol=1e-5, atol=1e-4)


def test_weight_changed_in_place_is_used(monkeypatch):
    """Nothing is cached: a weight written through ``.data`` (no version bump) counts."""
    monkeypatch.setattr(onednn, "MIN_MACS", 0)
    plain, fast = _pair(bias=True)
    x = torch.randn(16, 24)
    fast(x)
    fast.weight.data.mul_(2)
    plain.weight.data.mul_(2)
    torch.testing.assert_close(fast(x), plain(x), rtol=1e-5, atol=1e-6)


def test_model_switch_keeps_state_dict_and_outputs(monkeypatch):
    monkeypatch.setattr(onednn, "preferred", lambda: True)
    model, tokenizer = build_model({"hidden_size": 32, "intermediate_size": 64,
                                    "num_hidden_layers": 1, "num_attention_heads": 2}, 32)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(type(m) is onednn.OneDNNLinear for m in linears)
    assert type(model).__name__ == "LlamaForCausalLM"  # the sampler's fast path and config
    plain = copy.deepcopy(model)
    for module in plain.modules():
        if type(module) is onednn.OneDNNLinear:
            module.__class__ = torch.nn.Linear
    assert plain.state_dict().keys() == model.state_dict().keys()
    ids = tokenizer(["4+3="], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model(**ids).logits, plain(**ids).logits, rtol=1e-5, atol=1e-5)
        kwargs = dict(do_sample=False, max_new_tokens=6, pad_token_id=tokenizer.pad_token_id)
        assert torch.equal(model.generate(**ids, **kwargs), plain.generate(**ids, **kwargs))


def test_models_keep_torch_linears_where_onednn_is_not_preferred(monkeypatch):
    monkeypatch.setattr(onednn, "preferred", lambda: False)
    model, _ = build_model({"hidden_size": 32, "intermediate_size": 64,
                            "num_hidden_layers": 1, "num_attention_heads": 2}, 32)
    assert {type(m) for m in model.modules() if isinstance(m, torch.nn.Linear)} == {torch.nn.Linear}


@pytest.mark.parametrize("vendor, override, expected", [
    ("AuthenticAMD", "", True), ("GenuineIntel", "", False), ("", "", False),
    ("GenuineIntel", "1", True), ("AuthenticAMD", "0", False)])
def test_onednn_on_amd_cpus_unless_overridden(vendor, override, expected, monkeypatch):
    monkeypatch.setattr(cpu, "vendor", lambda: vendor)
    monkeypatch.setenv("RLVR_ONEDNN", override)
    assert cpu.wants_onednn() is expected
    onednn.preferred.cache_clear()
    try:
        assert onednn.preferred() is expected
        assert onednn.describe_choice() == (f"CPU {vendor or 'unknown'}: linear layers through "
                                            f"oneDNN {'yes' if expected else 'no'}")
    finally:
        onednn.preferred.cache_clear()


def test_bad_override_is_an_error(monkeypatch):
    monkeypatch.setenv("RLVR_ONEDNN", "yes")
    with pytest.raises(ValueError, match="RLVR_ONEDNN must be 0 or 1"):
        cpu.wants_onednn()


def test_vendor_is_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n")
    assert cpu.vendor(info) == "AuthenticAMD"
    assert cpu.vendor(tmp_path / "missing") == ""
