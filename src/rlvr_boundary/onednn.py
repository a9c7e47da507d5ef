"""fp32 linear layers on CPU through oneDNN instead of MKL.

torch's fp32 ``nn.Linear`` on CPU calls MKL's sgemm, which on AMD CPUs runs a code path
without AVX-512. oneDNN, shipped inside torch, does not: on our EPYC a (2048 x 96) @
(96 x 384) product took 1.39 ms in MKL and 0.60 ms in oneDNN; outputs agree to float
rounding (perf/onednn_linear.py prints the table). oneDNN has a fixed cost of ~10 us per
product and wants the weight reordered into its own layout first (~90 us). Inside
:func:`frozen_weights` - generation, where no weight can change - each weight is reordered
once; elsewhere (training) on every call, since a weight may be changed in place without
torch noticing (``param.data`` writes keep its version). So a product goes to oneDNN only
when it is big enough to win: rows x in x out multiply-adds over FROZEN_MIN_MACS (reordered
once) or TRAINING_MIN_MACS (reordered per call), crossovers measured on our EPYC. Where
torch has no oneDNN, or for other devices, dtypes or autocast, nn.Linear runs as is.
"""

from __future__ import annotations

import contextlib
import types

import torch
import torch.nn.functional as F

FROZEN_MIN_MACS = 1_000_000  # e.g. 96->96 from ~110 rows, 96->384 from ~30
TRAINING_MIN_MACS = 10_000_000  # e.g. 96->96 from ~1,000 rows
# Only models up to this size are switched (the tiny world's, test checkpoints): measured
# there; a real checkpoint's products are compute-bound and a packed copy doubles memory.
MAX_PARAMETERS = 100_000_000
_frozen: dict | None = None  # module -> packed weight while inside frozen_weights()


def available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def _usable(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (x.device.type == "cpu" and x.dtype == weight.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu") and available())


def _pack(weight: torch.Tensor) -> torch.Tensor:
    return torch.ops.mkldnn._reorder_linear_weight(weight.detach(), 1024)  # the size hint: any


def _product(flat: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(flat, packed, bias, "none", [], "")


@contextlib.contextmanager
def frozen_weights():
    """Within this block no weight changes: each linear's weight is reordered once."""
    global _frozen
    outer = _frozen
    _frozen = {} if outer is None else outer
    try:
        yield
    finally:
        _frozen = outer


def _packed_weight(module: torch.nn.Linear) -> torch.Tensor:
    if _frozen is None:
        return _pack(module.weight)
    packed = _frozen.get(module)
    if packed is None:
        packed = _frozen[module] = _pack(module.weight)
    return packed


class _LinearFunction(torch.autograd.Function):
    """x W^T + b with the forward and the input gradient in oneDNN; the weight gradient
    stays in torch's matmul (in oneDNN it would first reorder the activations: measured
    slower)."""

    @staticmethod
    def forward(ctx, x, weight, bias, packed):
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        flat = x.reshape(-1, x.shape[-1])
        return _product(flat, packed, bias.detach() if bias is not None else None).view(
            *x.shape[:-1], -1)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        flat = grad.reshape(-1, grad.shape[-1])
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = _product(flat, _pack(weight.t().contiguous()), None).view(x.shape)
        if ctx.needs_input_grad[1]:
            grad_w = flat.t() @ x.reshape(-1, x.shape[-1])
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = flat.sum(0)
        return grad_x, grad_w, grad_b, None


def linear(module: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``module(x)``, through oneDNN where that is faster (training or inference)."""
    weight, bias = module.weight, module.bias
    rows = x.numel() // max(1, x.shape[-1])
    least = TRAINING_MIN_MACS if _frozen is None else FROZEN_MIN_MACS
    if rows * weight.shape[0] * weight.shape[1] < least or not _usable(x, weight):
        return F.linear(x, weight, bias)
    packed = _packed_weight(module)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
        return _LinearFunction.apply(x, weight, bias, packed)
    return _product(x.reshape(-1, x.shape[-1]), packed, bias).view(*x.shape[:-1], -1)


class OneDNNLinear(torch.nn.Linear):
    """nn.Linear whose fp32 CPU products go through oneDNN (see :func:`linear`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(self, x)


def _generate_with_frozen_weights(self, *args, **kwargs):
    with frozen_weights():
        return type(self).generate(self, *args, **kwargs)


def use_onednn_linears(model: torch.nn.Module) -> torch.nn.Module:
    """Route every nn.Linear of ``model`` through :func:`linear` and run its ``generate``
    inside :func:`frozen_weights` (in place; parameters, state dict and saved checkpoints
    unchanged). A no-op without oneDNN or for models over MAX_PARAMETERS."""
    if not available() or sum(p.numel() for p in model.parameters()) > MAX_PARAMETERS:
        return model
    for module in model.modules():
        if type(module) is torch.nn.Linear:
            module.__class__ = OneDNNLinear
    if hasattr(type(model), "generate"):
        model.generate = types.MethodType(_generate_with_frozen_weights, model)
    return model
