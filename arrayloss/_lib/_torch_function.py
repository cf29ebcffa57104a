"""The one ``torch.autograd.Function`` behind :func:`arrayloss._lib.custom_gradient` on torch.

A module of its own, imported only when a torch array meets ``custom_gradient``: torch is
imported at module level here, so the class is defined once, in plain Python, even when the
first call happens inside a ``torch.compile`` trace (Dynamo executes imports eagerly but
cannot trace a class definition). The generic forward/backward pair of a configuration is
looked up by its hashable key, a compile-time constant argument of ``apply``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["PAIRS", "CustomFunction"]

# key -> (forward, backward, n_diff, n_out), filled by custom_gradient.
PAIRS: dict[Any, tuple[Callable[..., Any], Callable[..., Any], int, int]] = {}


class CustomFunction(torch.autograd.Function):
    """``apply(key, *arrays)``: the generic forward of ``PAIRS[key]``, its backward as the
    gradient (``setup_context`` style, so ``torch.func`` transforms work as well)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(key: Any, *arrays: Any) -> Any:  # runs without recording a graph
        forward, _, _, _ = PAIRS[key]
        outs, extra = forward(*arrays)
        return (*outs, *extra)

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        key = inputs[0]
        n_out = PAIRS[key][3]
        ctx.key = key
        ctx.n_in = len(inputs) - 1
        ctx.save_for_backward(*inputs[1:], *output[n_out:])
        if len(output) > n_out:
            ctx.mark_non_differentiable(*output[n_out:])

    @staticmethod
    def backward(ctx: Any, *gs: Any) -> Any:
        _, backward, n_diff, n_out = PAIRS[ctx.key]
        saved = ctx.saved_tensors
        grads = backward(tuple(saved[: ctx.n_in]), tuple(saved[ctx.n_in :]), gs[:n_out])
        return (None, *grads, *([None] * (ctx.n_in - n_diff)))
