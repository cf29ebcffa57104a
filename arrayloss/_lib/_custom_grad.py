"""A function with a hand-written gradient, attached the way each backend wants it.

``custom_gradient(forward, backward, ...)`` takes two generic (array-API) functions:

* ``forward(*arrays) -> (outs, extra)``: a tuple of outputs and a tuple of extra arrays the
  backward pass needs besides the inputs (keep it small: the point is usually *not* to
  store big intermediates);
* ``backward(arrays, extra, gs) -> tuple``: the cotangents of the first ``n_diff`` arrays
  given the tuple ``gs`` of cotangents of the ``n_out`` arrays of ``outs``.

It returns ``apply(diff, nondiff) -> outs``. The backend module builds it
(``custom_gradient(spec, key)`` in ``arrayloss/_backends/<library>.py``): on torch the pair
runs through one module-level ``torch.autograd.Function`` (with ``setup_context``, so
``torch.func.grad`` and ``vmap`` work too, and defined outside any trace, so
``torch.compile(fullgraph=True)`` traces it); on JAX a ``jax.custom_vjp`` (``nondiff``
arrays get zero cotangents); on libraries without autodiff it is the plain forward. The
formula stays written once.

An optional ``primal(*arrays) -> outs`` is the value-only version used when no gradient is
being taken (JAX's ``custom_vjp`` primal; on torch when grad mode is off or no
differentiable input requires grad; on libraries without autodiff). It lets ``forward``
do work only a backward pass needs, e.g. compute the gradients while the chunk's
intermediates are at hand instead of recomputing them (``extra`` then holds them). With
``handoff=True`` torch hands ``extra`` over to the first backward pass, which owns it (it
may scale it in place: no second copy of the gradients alive); a later backward pass
through a retained graph gets ``extra=None`` and must recompute it.

Second derivatives: on JAX autodiff differentiates ``backward`` itself (the residuals are
functions of the inputs); on torch the pair is first order only (``extra`` would be
constants to autograd), so under ``create_graph`` the gradients are recorded as functions
of the inputs whose derivative raises a ``RuntimeError`` naming the loss (``key[0]``).

Built functions are cached per ``key`` (the static configuration of the call), so eager
calls do not rebuild them and ``jax.jit`` sees one function per configuration. The cache
keeps the ``_MAX_BUILT`` newest configurations: an option annealed over training (a new
``label_smoothing`` every step) must not grow it without bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ._compat import backend_name
from ._dispatch import backend_hook, prime_natives

__all__ = ["GradientSpec", "custom_gradient"]

_Forward = Callable[..., tuple[tuple[Any, ...], tuple[Any, ...]]]
_Backward = Callable[[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]], tuple[Any, ...]]
_Primal = Callable[..., tuple[Any, ...]]

_MAX_BUILT = 256
_CACHE: dict[tuple[str, Any], Callable[..., Any]] = {}  # insertion order: oldest first


class GradientSpec(NamedTuple):
    """One configuration's generic functions and counts (see the module docstring)."""

    forward: _Forward
    backward: _Backward
    primal: _Primal | None
    n_diff: int
    n_out: int
    handoff: bool
    name: str  # the loss, for errors (key[0] when it is a string)

    def value(self, *arrays: Any) -> tuple[Any, ...]:
        """The outputs of a call that takes no gradient: ``primal``, else ``forward``'s."""
        return self.primal(*arrays) if self.primal is not None else self.forward(*arrays)[0]


def _build_plain(spec: GradientSpec, key: Any) -> Callable[..., Any]:
    def apply(diff: tuple[Any, ...], nondiff: tuple[Any, ...]) -> Any:
        return spec.value(*diff, *nondiff)

    return apply


def custom_gradient(
    forward: _Forward,
    backward: _Backward,
    /,
    *,
    xp: Any,
    n_diff: int,
    n_out: int,
    key: Any,
    primal: _Primal | None = None,
    handoff: bool = False,
) -> Callable[..., Any]:
    """``apply(diff, nondiff) -> outs`` with ``backward`` as the gradient of ``forward``.

    ``key`` must identify ``forward``/``backward`` (their closure's static options): the built
    function is cached under ``(backend, key)``.
    """
    name = backend_name(xp)
    ck = (name, key)
    fn = _CACHE.get(ck)
    if fn is None:
        prime_natives(xp)
        label = key[0] if isinstance(key, tuple) and key and isinstance(key[0], str) else "loss"
        spec = GradientSpec(forward, backward, primal, n_diff, n_out, handoff, label)
        build = backend_hook(xp, "custom_gradient") or _build_plain
        fn = _CACHE[ck] = build(spec, ck)
        while len(_CACHE) > _MAX_BUILT:
            old = next(iter(_CACHE))
            del _CACHE[old]
            forget = backend_hook(xp, "forget_gradient") if old[0] == name else None
            if forget is not None:
                forget(old)
    return fn
