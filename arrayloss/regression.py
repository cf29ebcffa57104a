"""Regression losses: elementwise errors between a prediction and a target of the same shape.

Every function takes ``input`` (the prediction) and ``target`` of one shape, any number of
dimensions, and returns the mean (default), the sum, or the unreduced elementwise losses.
Where torch.nn.functional has the loss the name, arguments, defaults and results are
torch's; the others follow the same conventions.
"""

from __future__ import annotations

import math
from typing import Any

from ._lib import _create as create
from ._lib import (
    check_option,
    check_real_scalar,
    check_reduction,
    check_same_shape,
    finish,
    is_concrete,
    namespace_of,
    native_loss,
    promote_floating,
    reduce,
    register,
    weighted_reduce,
)
from ._lib._distance import safe_root
from ._lib._plans import delegate
from ._lib._primitives import (
    floor_straight_through,
    huber_elements,
    log_cosh,
    recomputed,
    squared_log1p_diff,
    stop_gradient,
)
from ._lib._validation import invalid_as_nan

__all__ = [
    "gaussian_nll_loss",
    "huber_loss",
    "l1_loss",
    "log_cosh_loss",
    "mape_loss",
    "mse_loss",
    "msle_loss",
    "poisson_nll_loss",
    "quantile_loss",
    "rmse_loss",
    "smooth_l1_loss",
]

_FAMILY = "regression"


def _prepare(
    loss: str, input: Any, target: Any, weight: Any, reduction: str, xp: Any
) -> tuple[Any, Any, Any, Any, Any]:
    """Shared prologue: namespace, checks, floating promotion. Returns xp, out dtype, arrays."""
    xp = namespace_of(loss, input=input, target=target, weight=weight, xp=xp)
    check_reduction(loss, reduction)
    check_same_shape(loss, "input", input, "target", target)
    if weight is not None:
        _check_broadcastable(loss, "weight", weight, input)
    out, _, (input, target, weight) = promote_floating(
        loss, xp, input=input, target=target, weight=weight
    )
    return xp, out, input, target, weight


def _check_broadcastable(loss: str, arg: str, w: Any, input: Any) -> None:
    ws, s = tuple(w.shape), tuple(input.shape)
    ok = len(ws) <= len(s) and all(a in (1, b) for a, b in zip(ws[::-1], s[::-1]))
    check_option(loss, arg, f"an array of shape {ws}", ok, f"broadcastable to the input shape {s}")


def _reduce(loss: Any, weight: Any, reduction: str, xp: Any) -> Any:
    """Unweighted reduction, or the weighted mean sum(w l) / sum(w)."""
    if weight is None:
        return reduce(loss, reduction, xp=xp)
    return weighted_reduce(loss, weight, reduction, xp=xp)


def _squared_error(x: Any, y: Any) -> Any:
    # ``(x - y) ** 2``, not ``d * d`` of a named ``d``: NumPy then squares its temporary in
    # place (temporary elision); one kernel too on torch and JAX (x * x for the power 2)
    return (x - y) ** 2


@register(
    _FAMILY,
    class_name="L1Loss",
    delegates=True,
    torch="torch.nn.functional.l1_loss",
    optax="optax.losses.absolute_error (unreduced)",
    keras="keras.losses.MeanAbsoluteError",
    sample="pair",
)
def l1_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    weight: Any = None,
    xp: Any = None,
) -> Any:
    r"""Mean absolute error.

    .. math:: \ell_i = w_i \, |x_i - y_i|, \qquad
              \text{mean} = \frac{\sum_i w_i |x_i - y_i|}{\sum_i w_i}

    Parameters
    ----------
    input : array, shape (*)
        Predictions, real floating.
    target : array, shape (*)
        Targets, same shape as ``input``.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the elementwise losses of shape (*).
    weight : array, optional
        Elementwise weights broadcastable to (*); ``mean`` divides by their sum (torch).
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    array
        A 0-d array, or shape (*) for ``reduction="none"``, in the input's dtype.

    Notes
    -----
    PyTorch equivalent: ``torch.nn.functional.l1_loss`` (same arguments and results).

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.l1_loss(np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 1.0])))
    1.6666666666666667
    """
    name = "l1_loss"
    xp, out, input, target, weight = _prepare(name, input, target, weight, reduction, xp)
    if weight is None and (native := native_loss(name, xp)) is not None:
        return delegate(native, (input, target), {"reduction": reduction}, out=out, xp=xp)
    loss = recomputed(lambda x, y: xp.abs(x - y), input, target, xp=xp)
    return finish(_reduce(loss, weight, reduction, xp), out, xp)


@register(
    _FAMILY,
    class_name="MSELoss",
    delegates=True,
    torch="torch.nn.functional.mse_loss",
    optax="optax.losses.squared_error (unreduced)",
    keras="keras.losses.MeanSquaredError",
    sample="pair",
)
def mse_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    weight: Any = None,
    xp: Any = None,
) -> Any:
    r"""Mean squared error.

    .. math:: \ell_i = w_i (x_i - y_i)^2, \qquad
              \text{mean} = \frac{\sum_i w_i (x_i - y_i)^2}{\sum_i w_i}

    Parameters
    ----------
    input : array, shape (*)
        Predictions, real floating.
    target : array, shape (*)
        Targets, same shape as ``input``.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the elementwise losses of shape (*).
    weight : array, optional
        Elementwise weights broadcastable to (*); ``mean`` divides by their sum (torch).
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    array
        A 0-d array, or shape (*) for ``reduction="none"``, in the input's dtype.

    Notes
    -----
    PyTorch equivalent: ``torch.nn.functional.mse_loss``. optax's ``l2_loss`` is half of
    the unreduced ``mse_loss``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.mse_loss(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
    2.0
    """
    name = "mse_loss"
    xp, out, input, target, weight = _prepare(name, input, target, weight, reduction, xp)
    if weight is None and (native := native_loss(name, xp)) is not None:
        return delegate(native, (input, target), {"reduction": reduction}, out=out, xp=xp)
    loss = recomputed(_squared_error, input, target, xp=xp)
    return finish(_reduce(loss, weight, reduction, xp), out, xp)


@register(_FAMILY, class_name="RMSELoss", keras="keras.metrics.RootMeanSquaredError", sample="pair")
def rmse_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    weight: Any = None,
    xp: Any = None,
) -> Any:
    r"""Root mean squared error.

    .. math:: \text{mean} = \sqrt{\frac{\sum_i w_i (x_i - y_i)^2}{\sum_i w_i}}, \qquad
              \text{sum} = \sqrt{\sum_i w_i (x_i - y_i)^2}, \qquad
              \text{none}: \sqrt{w_i}\,|x_i - y_i|

    Parameters
    ----------
    input, target : array, shape (*)
        Predictions and targets of one shape.
    reduction : {"mean", "sum", "none"}
        The square root is taken of the reduced squared error (``"sum"`` gives the L2 norm of
        the error).
    weight : array, optional
        Elementwise weights broadcastable to (*).
    xp : namespace, optional

    Notes
    -----
    The square root's derivative is infinite at 0; where the (reduced) squared error is
    exactly 0 the gradient is defined as 0 (a subgradient) instead of ``0 * inf = nan``.
    Keras equivalent: the metric ``keras.metrics.RootMeanSquaredError``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.rmse_loss(np.array([0.0, 0.0]), np.array([3.0, 4.0]) ** 0.5 * 2**0.5))
    2.6457513110645907
    """
    name = "rmse_loss"
    xp, out, input, target, weight = _prepare(name, input, target, weight, reduction, xp)
    sq = _reduce((input - target) ** 2, weight, reduction, xp)  # in place on NumPy (mse_loss)
    # sqrt'(0) = inf: the gradient at sq == 0 is 0 rather than 0 * inf = nan; a NaN squared
    # error still propagates (as torch.sqrt(mse_loss) does).
    return finish(safe_root(sq, xp=xp), out, xp)


@register(
    _FAMILY,
    delegates=True,
    torch="torch.nn.functional.huber_loss",
    optax="optax.losses.huber_loss (unreduced)",
    keras="keras.losses.Huber",
    sample="pair",
)
def huber_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Any = None,
    xp: Any = None,
) -> Any:
    r"""Huber loss: quadratic near zero, linear beyond ``delta``.

    .. math:: \ell_i = \begin{cases} \tfrac12 d_i^2 & |d_i| < \delta \\
              \delta (|d_i| - \tfrac12 \delta) & \text{otherwise} \end{cases},
              \quad d_i = x_i - y_i

    Parameters
    ----------
    input, target : array, shape (*)
        Predictions and targets of one shape.
    reduction : {"mean", "sum", "none"}
    delta : float
        Positive threshold between the quadratic and the linear part.
    weight : array, optional
        Elementwise weights broadcastable to (*). As in torch 2.13, the weighted ``mean``
        divides by the number of elements, not by the summed weights.
    xp : namespace, optional

    Notes
    -----
    PyTorch equivalent: ``torch.nn.functional.huber_loss``. ``huber_loss(delta=d) ==
    d * smooth_l1_loss(beta=d)``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.huber_loss(np.array([0.5, 3.0]), np.zeros(2)))
    1.3125
    """
    name = "huber_loss"
    delta = check_real_scalar(name, "delta", delta)
    check_option(name, "delta", delta, delta > 0, "positive")
    xp, out, input, target, weight = _prepare(name, input, target, weight, reduction, xp)
    if weight is None and (native := native_loss(name, xp)) is not None:
        opts = {"reduction": reduction, "delta": delta}
        return delegate(native, (input, target), opts, out=out, xp=xp)
    loss = huber_elements(input, target, delta=delta, xp=xp)
    if weight is not None:
        loss = loss * weight  # torch: the weighted mean is mean(w * l)
    return finish(reduce(loss, reduction, xp=xp), out, xp)


@register(
    _FAMILY,
    class_name="SmoothL1Loss",
    delegates=True,
    torch="torch.nn.functional.smooth_l1_loss",
    sample="pair",
)
def smooth_l1_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    beta: float = 1.0,
    xp: Any = None,
) -> Any:
    r"""Smooth L1 loss (Fast R-CNN): quadratic below ``beta``, L1 above.

    .. math:: \ell_i = \begin{cases} \tfrac{1}{2\beta} d_i^2 & |d_i| < \beta \\
              |d_i| - \tfrac12 \beta & \text{otherwise} \end{cases}

    Parameters
    ----------
    input, target : array, shape (*)
    reduction : {"mean", "sum", "none"}
    beta : float
        Non-negative threshold. ``beta=0`` is exactly ``l1_loss``, as in torch (no division
        by zero).
    xp : namespace, optional

    Notes
    -----
    PyTorch equivalent: ``torch.nn.functional.smooth_l1_loss``.

    References
    ----------
    R. Girshick, "Fast R-CNN", ICCV 2015.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.smooth_l1_loss(np.array([0.5, 3.0]), np.zeros(2)))
    1.3125
    """
    name = "smooth_l1_loss"
    beta = check_real_scalar(name, "beta", beta)
    check_option(name, "beta", beta, beta >= 0, "non-negative")
    xp, out, input, target, _ = _prepare(name, input, target, None, reduction, xp)
    if (native := native_loss(name, xp)) is not None:
        opts = {"reduction": reduction, "beta": beta}
        return delegate(native, (input, target), opts, out=out, xp=xp)
    ad = xp.abs(input - target)
    if beta == 0.0:
        loss = ad  # torch: beta == 0 is l1_loss (the quadratic branch is empty)
    else:
        loss = xp.where(ad < beta, (0.5 / beta) * ad * ad, ad - 0.5 * beta)
    return finish(reduce(loss, reduction, xp=xp), out, xp)


@register(
    _FAMILY,
    optax="optax.losses.log_cosh (unreduced)",
    keras="keras.losses.LogCosh",
    sample="pair",
)
def log_cosh_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    weight: Any = None,
    xp: Any = None,
) -> Any:
    r"""Log-cosh loss: smooth, about :math:`d^2/2` near 0 and :math:`|d| - \log 2` far away.

    .. math:: \ell_i = \log\cosh(x_i - y_i)

    Parameters
    ----------
    input, target : array, shape (*)
    reduction : {"mean", "sum", "none"}
    weight : array, optional
        Elementwise weights broadcastable to (*); ``mean`` divides by their sum.
    xp : namespace, optional

    Notes
    -----
    With :math:`a = |d|` clipped at :math:`c = \min(a, 40)`, computed as
    :math:`\operatorname{log1p}\big(m^2 / (2e)\big) + (a - c)` where :math:`e = e^{-c}`
    and :math:`m = -\operatorname{expm1}(-c) = 1 - e` (exact near 0, where
    :math:`\cosh d - 1 = m^2 / (2e)` keeps the digits that :math:`a + \operatorname{softplus}
    (-2a) - \log 2` cancels away; beyond 40, :math:`\log\cosh` grows like :math:`a` to
    within :math:`e^{-80}`, and nothing overflows or underflows, in the value or the
    gradient :math:`\tanh(d)`). Within 6 ulp of :math:`\log\cosh` in float32 and float64.
    One expression without a branch (``where``): XLA on CPU fuses it into the reduction
    (a select would stop that fusion); eager torch runs it in place, block by block in
    cache, with the gradient :math:`\tanh(d)` written out (the ``log_cosh`` primitive). On
    eager torch, ``torch.func`` and JAX the derivative is :math:`\tanh(d)` by hand, not
    autodiff through :math:`|d|`, so the second derivative is :math:`\operatorname{sech}^2 d`
    everywhere, 1 at :math:`d = 0` (through :math:`|d|` it would be 0 there). Keras
    equivalent: ``keras.losses.LogCosh`` (a mean over the last axis, equal for
    ``reduction="mean"``); optax: ``optax.losses.log_cosh``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(round(float(arrayloss.log_cosh_loss(np.array([1e4]), np.array([0.0]))), 4))
    9999.3069
    """
    name = "log_cosh_loss"
    xp, out, input, target, weight = _prepare(name, input, target, weight, reduction, xp)
    loss = log_cosh(input - target, xp=xp)
    return finish(_reduce(loss, weight, reduction, xp), out, xp)


@register(
    _FAMILY,
    class_name="PoissonNLLLoss",
    torch="torch.nn.functional.poisson_nll_loss",
    keras="keras.losses.Poisson (log_input=False)",
    sample="poisson",
)
def poisson_nll_loss(
    input: Any,
    target: Any,
    /,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Negative log-likelihood of a Poisson target.

    .. math:: \ell_i = \begin{cases} e^{x_i} - y_i x_i & \texttt{log\_input} \\
              x_i - y_i \log(x_i + \epsilon) & \text{otherwise} \end{cases}
              \; [+\, y_i \log y_i - y_i + \tfrac12 \log(2\pi y_i) \text{ for } y_i > 1
              \text{ if } \texttt{full}]

    Parameters
    ----------
    input : array, shape (*)
        The log-rate (``log_input=True``) or the rate.
    target : array, shape (*)
        Counts.
    log_input : bool
    full : bool
        Add the Stirling approximation of :math:`\log(y!)` (for targets above 1, as torch).
    eps : float
        Added to the rate before the log when ``log_input=False``.
    reduction : {"mean", "sum", "none"}
    xp : namespace, optional

    Notes
    -----
    PyTorch equivalent: ``torch.nn.functional.poisson_nll_loss``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.poisson_nll_loss(np.array([0.0]), np.array([2.0])))
    1.0
    """
    name = "poisson_nll_loss"
    eps = check_real_scalar(name, "eps", eps)
    check_option(name, "eps", eps, eps > 0, "positive")
    xp, out, input, target, _ = _prepare(name, input, target, None, reduction, xp)
    if log_input:
        loss = xp.exp(input) - target * input
    else:
        loss = input - target * xp.log(input + eps)
    if full:
        # Stirling's log(y!) ~ y log y - y + log(2 pi y) / 2, used (as torch) where y > 1.
        big = target > 1
        safe = xp.where(big, target, xp.ones_like(target))
        stirling = safe * xp.log(safe) - safe + 0.5 * xp.log(2 * math.pi * safe)
        loss = loss + xp.where(big, stirling, xp.zeros_like(stirling))
    return finish(reduce(loss, reduction, xp=xp), out, xp)


@register(
    _FAMILY,
    class_name="GaussianNLLLoss",
    torch="torch.nn.functional.gaussian_nll_loss",
    sample="gaussian",
    scalar_args=("var",),
)
def gaussian_nll_loss(
    input: Any,
    target: Any,
    var: Any,
    /,
    *,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Negative log-likelihood of a Gaussian target with predicted mean and variance.

    .. math:: \ell_i = \tfrac12 \left(\log \max(v_i, \epsilon)
              + \frac{(x_i - y_i)^2}{\max(v_i, \epsilon)}\right)
              \; [+\, \tfrac12 \log 2\pi \text{ if } \texttt{full}]

    Parameters
    ----------
    input : array, shape (N, *) or (*)
        Predicted means.
    target : array, same shape as ``input``
    var : array or float
        Predicted variances, non-negative. Shapes as torch: the input's shape
        (heteroscedastic), the input's shape without its last dimension, or the input's shape
        with exactly one dimension of size 1 (homoscedastic), or a Python float.
    full : bool
        Add the constant :math:`\tfrac12\log 2\pi`.
    eps : float
        Variances are clamped to at least ``eps``; as in torch the clamp is invisible to the
        gradient (which flows to ``var`` as if unclamped).
    reduction : {"mean", "sum", "none"}
    xp : namespace, optional

    Notes
    -----
    PyTorch equivalent: ``torch.nn.functional.gaussian_nll_loss``. Negative variances raise
    ``ValueError`` where the values are checked; where they are not (traced, lazy or
    accelerator arrays, ``check_values="never"``), a negative variance gives NaN.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.gaussian_nll_loss(np.array([1.0]), np.array([3.0]), np.array([2.0])))
    1.3465735902799727
    """
    name = "gaussian_nll_loss"
    eps = check_real_scalar(name, "eps", eps)
    check_option(name, "eps", eps, eps > 0, "positive")
    xp = namespace_of(name, input=input, target=target, var=var, xp=xp)
    check_reduction(name, reduction)
    check_same_shape(name, "input", input, "target", target)
    if isinstance(var, bool) or (not hasattr(var, "shape") and not isinstance(var, (int, float))):
        raise TypeError(f"{name}: `var` must be an array or a Python float, got {type(var)}")
    if isinstance(var, (int, float)):
        check_option(name, "var", var, var >= 0, "non-negative")
    out, _, (input, target, var_arr) = promote_floating(
        name, xp, input=input, target=target, var=var if hasattr(var, "shape") else None
    )
    var_ok = None
    if var_arr is None:
        var_arr = create.full(input.shape, float(var), input, xp=xp)
    else:
        var_arr = _gaussian_var_shape(name, var_arr, input, xp)
        if not is_concrete(var_arr, xp):  # unchecked: a negative variance gives NaN
            var_ok = var_arr >= 0
        # min < 0, not any(var < 0): one reduction and no mask array; a NaN passes
        elif math.prod(var_arr.shape) and float(xp.min(stop_gradient(var_arr, xp=xp))) < 0:
            raise ValueError(f"{name}: `var` must be non-negative, found a negative entry")
    # Clamp for stability, straight-through for the gradient (torch clamps under no_grad).
    var_arr = floor_straight_through(var_arr, floor=eps, xp=xp)
    loss = 0.5 * (xp.log(var_arr) + (input - target) ** 2 / var_arr)  # in place on NumPy
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    if var_ok is not None:
        loss = invalid_as_nan(loss, var_ok, xp)
    return finish(reduce(loss, reduction, xp=xp), out, xp)


def _gaussian_var_shape(name: str, var: Any, input: Any, xp: Any) -> Any:
    vs, s = tuple(var.shape), tuple(input.shape)
    if vs == s:
        return var
    if vs == s[:-1]:
        return xp.expand_dims(var, axis=-1)  # one variance per sample
    if len(vs) == len(s) and sum(b for a, b in zip(s, vs) if a != b) == 1:
        return var  # exactly one broadcast dimension of size 1
    raise ValueError(
        f"{name}: `var` has shape {vs}, expected the input shape {s}, {s[:-1]}, or {s} with "
        "one dimension of size 1"
    )


@register(
    _FAMILY,
    class_name="MSLELoss",
    keras="keras.losses.MeanSquaredLogarithmicError",
    sample="positive_pair",
)
def msle_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    weight: Any = None,
    eps: float = 1e-7,
    xp: Any = None,
) -> Any:
    r"""Mean squared logarithmic error (Keras semantics).

    .. math:: \ell_i = \left(\log(1 + \max(x_i, \epsilon)) -
              \log(1 + \max(y_i, \epsilon))\right)^2

    Parameters
    ----------
    input, target : array, shape (*)
        Non-negative predictions and targets (values below ``eps`` are clamped to ``eps``, as
        Keras does, so a negative prediction is treated as 0 with zero gradient).
    reduction : {"mean", "sum", "none"}
    weight : array, optional
        Elementwise weights broadcastable to (*); ``mean`` divides by their sum.
    eps : float
        Clamp value, Keras's ``epsilon()`` (1e-7) by default.
    xp : namespace, optional

    Notes
    -----
    Keras equivalent: ``keras.losses.MeanSquaredLogarithmicError``. Under ``jax.jit`` and
    on large eager CPU torch arrays the elements are computed as
    :math:`\operatorname{log1p}(|a - b| / (1 + \min(a, b)))^2` of the clamped pair: one
    log1p, and no cancellation when the two are close (torch runs it block by block in
    cache, with the derivative written in the forward pass). The gradient below ``eps`` is
    0, and at ``eps`` it is the full derivative (a clamp's).

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(round(float(arrayloss.msle_loss(np.array([np.e - 1]), np.array([0.0]))), 6))
    1.0
    """
    name = "msle_loss"
    eps = check_real_scalar(name, "eps", eps)
    check_option(name, "eps", eps, eps >= 0, "non-negative")
    xp, out, input, target, weight = _prepare(name, input, target, weight, reduction, xp)
    sq = squared_log1p_diff(input, target, floor=eps, xp=xp)
    return finish(_reduce(sq, weight, reduction, xp), out, xp)


@register(
    _FAMILY,
    class_name="MAPELoss",
    keras="keras.losses.MeanAbsolutePercentageError",
    sample="positive_pair",
)
def mape_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    weight: Any = None,
    eps: float = 1e-7,
    xp: Any = None,
) -> Any:
    r"""Mean absolute percentage error (Keras semantics, in percent).

    .. math:: \ell_i = 100 \, \frac{|y_i - x_i|}{\max(|y_i|, \epsilon)}

    Parameters
    ----------
    input, target : array, shape (*)
    reduction : {"mean", "sum", "none"}
    weight : array, optional
        Elementwise weights broadcastable to (*); ``mean`` divides by their sum.
    eps : float
        Floor of the denominator, so a zero target gives a large finite loss, not inf.
    xp : namespace, optional

    Notes
    -----
    Keras equivalent: ``keras.losses.MeanAbsolutePercentageError``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.mape_loss(np.array([110.0, 45.0]), np.array([100.0, 50.0])))
    10.0
    """
    name = "mape_loss"
    eps = check_real_scalar(name, "eps", eps)
    check_option(name, "eps", eps, eps > 0, "positive")
    xp, out, input, target, weight = _prepare(name, input, target, weight, reduction, xp)
    floor = create.constant(eps, input, xp=xp)

    def relative_error(x: Any, y: Any) -> Any:
        return xp.abs(y - x) / xp.maximum(xp.abs(y), floor)

    loss = recomputed(relative_error, input, target, xp=xp)
    # the factor 100 after the (linear) reduction: one elementwise pass less each way
    return finish(100.0 * _reduce(loss, weight, reduction, xp), out, xp)


@register(_FAMILY, class_name="QuantileLoss", sample="pair")
def quantile_loss(
    input: Any,
    target: Any,
    /,
    *,
    quantile: float = 0.5,
    reduction: str = "mean",
    weight: Any = None,
    xp: Any = None,
) -> Any:
    r"""Quantile (pinball) loss for predicting the ``quantile``-th quantile of the target.

    .. math:: \ell_i = \max\big(q (y_i - x_i),\; (q - 1)(y_i - x_i)\big)

    Parameters
    ----------
    input : array, shape (*)
        Predicted quantiles.
    target : array, shape (*)
    quantile : float
        :math:`q \in (0, 1)`; 0.5 gives half the absolute error.
    reduction : {"mean", "sum", "none"}
    weight : array, optional
        Elementwise weights broadcastable to (*); ``mean`` divides by their sum.
    xp : namespace, optional

    Notes
    -----
    TensorFlow Addons equivalent: ``tfa.losses.PinballLoss(tau=quantile)``.

    References
    ----------
    R. Koenker and G. Bassett, "Regression Quantiles", Econometrica 1978.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.quantile_loss(np.array([0.0, 0.0]), np.array([1.0, -1.0]), quantile=0.9))
    0.5
    """
    name = "quantile_loss"
    q = check_real_scalar(name, "quantile", quantile)
    check_option(name, "quantile", quantile, 0 < q < 1, "in the open interval (0, 1)")
    xp, out, input, target, weight = _prepare(name, input, target, weight, reduction, xp)
    d = target - input
    loss = xp.maximum(q * d, (q - 1.0) * d)
    return finish(_reduce(loss, weight, reduction, xp), out, xp)
