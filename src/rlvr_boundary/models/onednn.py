"""fp32 linear layers on CPU through oneDNN instead of MKL, on CPUs where that is faster.

torch's fp32 ``nn.Linear`` on CPU calls MKL's sgemm, which on AMD CPUs runs a code path
without AVX-512. oneDNN, shipped inside torch, does not: on our EPYC a (2048 x 96) @
(96 x 384) product took 1.39 ms in MKL and 0.60 ms in oneDNN; outputs agree to float
rounding (perf/onednn_linear.py prints the table). On Intel CPUs MKL takes its AVX-512
path and oneDNN was slower (an Emerald Rapids Xeon: 1.01 vs 1.16 ms for that product,
pretraining 0.81x), so models go through oneDNN only on AMD CPUs (:func:`preferred`;
``RLVR_ONEDNN=1`` or ``0`` overrides). The choice depends on the machine only, so a
machine still gives the same bytes run after run. oneDNN costs ~10 us more per call, so a
product goes there only from MIN_MACS multiply-adds (rows x in x out) up (the weight
gradient from WEIGHT_GRAD_MIN_MACS), crossovers measured on our EPYC. Training uses it too:
the forward, the input gradient and the weight gradient are all such products. Where torch
has no oneDNN, or for other devices, dtypes or autocast, nn.Linear runs as is.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from . import cpu

MIN_MACS = 1_000_000  # e.g. 96->96 from ~110 rows, 96->384 from ~30 rows
# The weight gradient (rows x out)^T (rows x in) wins later (measured crossover 2-4M).
WEIGHT_GRAD_MIN_MACS = 4_000_000


@functools.cache
def available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


@functools.cache
def preferred() -> bool:
    """Whether models built or loaded here route their linears through oneDNN: where torch
    has it and :func:`.cpu.wants_onednn` (AMD CPUs, or ``RLVR_ONEDNN=1``)."""
    return cpu.wants_onednn() and available()


def describe_choice() -> str:
    """One line for logs and perf scripts: this CPU and whether models use oneDNN here."""
    return f"CPU {cpu.vendor() or 'unknown'}: linear layers through oneDNN {'yes' if preferred() else 'no'}"


def _product(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x (rows, in) @ weight (out, in)^T + bias in oneDNN."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


def _product_over_rows(x: torch.Tensor, weight: torch.Tensor,
                       bias: torch.Tensor | None) -> torch.Tensor:
    """:func:`_product` for x of any leading shape (..., in) -> (..., out)."""
    return _product(x.reshape(-1, x.shape[-1]), weight, bias).view(*x.shape[:-1], -1)


def weight_gradient(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """grad (rows, out)^T @ x (rows, in) in oneDNN, from the transposed views as they are
    (copying both first gave the same bits 1.1-1.9x slower). oneDNN still copies its first
    operand into a contiguous buffer, so that is the narrower one: for out > in the product
    is taken transposed, x^T grad: the same bits, 1.3-1.7x faster (perf/onednn_linear.py)."""
    if grad.shape[1] > x.shape[1]:
        return _product(x.t(), grad.t(), None).t().contiguous()
    return _product(grad.t(), x.t(), None)


def _wins(rows: int, inputs: int, outputs: int, least: int | None = None) -> bool:
    return rows * inputs * outputs >= (MIN_MACS if least is None else least)


def _usable(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (x.device.type == "cpu" and x.dtype == weight.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu") and available())


class _LinearFunction(torch.autograd.Function):
    """x W^T + b with the forward, the input gradient and the weight gradient in oneDNN."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return _product_over_rows(x, weight.detach(), None if bias is None else bias.detach())

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        flat = grad.reshape(-1, grad.shape[-1]).contiguous()
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = _product(flat, weight.t(), None).view(x.shape)
        if ctx.needs_input_grad[1]:
            inputs = x.reshape(-1, x.shape[-1])
            if _wins(*inputs.shape, flat.shape[1], WEIGHT_GRAD_MIN_MACS):
                grad_w = weight_gradient(flat, inputs)
            else:
                grad_w = flat.t() @ inputs
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = flat.sum(0)
        return grad_x, grad_w, grad_b


def linear(module: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``module(x)``, through oneDNN where that is faster (training or inference)."""
    weight, bias = module.weight, module.bias
    rows = x.numel() // max(1, x.shape[-1])
    if not (_wins(rows, *weight.shape) and _usable(x, weight)):
        return F.linear(x, weight, bias)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
        return _LinearFunction.apply(x, weight, bias)
    return _product_over_rows(x, weight, bias)


class OneDNNLinear(torch.nn.Linear):
    """nn.Linear whose fp32 CPU products go through oneDNN (see :func:`linear`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(self, x)


def use_onednn_linears(model: torch.nn.Module) -> torch.nn.Module:
    """Route every nn.Linear of ``model`` through :func:`linear` (in place; parameters,
    state dict and saved checkpoints unchanged) where :func:`preferred`; else a no-op."""
    if preferred():
        for module in model.modules():
            if type(module) is torch.nn.Linear:
                module.__class__ = OneDNNLinear
    return model
