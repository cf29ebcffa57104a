"""The one reduction function of every loss: ``reduction="mean" | "sum" | "none"``."""

from __future__ import annotations

from typing import Any

from ._primitives import sum_ratio

__all__ = ["length_reduce", "reduce", "weighted_reduce"]


def reduce(loss: Any, reduction: str, /, *, xp: Any) -> Any:
    """Reduce elementwise losses. ``reduction`` must already be validated."""
    if reduction == "mean":
        return xp.mean(loss)
    if reduction == "sum":
        return xp.sum(loss)
    return loss


def weighted_reduce(loss: Any, weight: Any, reduction: str, /, *, xp: Any) -> Any:
    """Reduce ``weight * loss`` with ``mean`` = sum(w * l) / sum(w).

    The weighted mean of torch's mse/l1 ``weight=`` and of cross_entropy/nll class weights
    (where ``weight`` holds the per-target class weight and 0 for ignored targets). With
    every weight 0 the mean is 0/0 = nan, as in torch.
    """
    wl = loss * weight
    if reduction == "mean":
        return sum_ratio(wl, xp.broadcast_to(weight, wl.shape), xp=xp)
    if reduction == "sum":
        return xp.sum(wl)
    return wl


def length_reduce(loss: Any, lengths: Any, reduction: str, /, *, xp: Any) -> Any:
    """Reduce per-sequence losses with ``mean`` = the mean of each loss over its length
    (at least 1): torch's ``ctc_loss`` mean. ``sum`` and ``none`` ignore the lengths."""
    if reduction == "mean":
        return xp.mean(loss / xp.astype(xp.clip(lengths, 1, None), loss.dtype))
    return reduce(loss, reduction, xp=xp)
