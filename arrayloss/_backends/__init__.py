"""One module per array library: the only place arrayloss imports torch, JAX, CuPy or NumPy
kernels directly. ``arrayloss._lib._dispatch`` imports a module the first time an array of
its library meets a loss, and asks it, by name, for what it has. Every part is optional: a
library without it gets the generic array-API behaviour.

The surface (what ``_dispatch`` looks up):

``primitives(generic) -> dict``
    Native versions of the generic primitives of ``_lib/_primitives.py``, by name, with the
    same semantics. ``generic`` is the table of generic kernels, handed down so that a
    native kernel can fall back on one for the cases it declines (backends never import
    ``_lib``: the import graph has no cycle).
``losses() -> dict``
    Whole-loss kernels by loss name, called ``kernel(*arrays, **options)`` only when every
    option maps exactly; one with an ``eager_only`` attribute is skipped while that test
    is false (compiled or transformed code).
``CHECKS_LABELS``, ``checks_labels(target)``
    The whole-loss kernels that raise on out-of-range class labels by themselves, and
    whether they do so synchronously for this target (CPU), so the loss need not read them.
``all_concrete(arrays)``, ``is_tracer(x)``
    Whether values exist now (not traced, not compiling, not lazy).
``on_host(arrays)``
    Whether reading them costs no device synchronisation (absent: always; see the
    ``check_values`` option, ``arrayloss/_lib/_options.py``).
``creation_device(like)``
    The ``device=`` for arrays made to combine with ``like`` (absent: ``like.device``).
``may_be_differentiated(a)``
    False when no gradient with respect to ``a`` can be asked for.
``custom_gradient(spec, key)``
    A function with a hand-written gradient (``torch.autograd.Function``,
    ``jax.custom_vjp``) from a ``GradientSpec`` of generic functions;
    ``forget_gradient(key)`` drops one the cache of built functions evicted.
``cond(pred, true_fn, false_fn, *operands)``, ``chunked_scan(body, carry, xs, chunk, pad)``
    Traced control flow (``lax.cond``, ``lax.scan``).
``ctc_loglik(steps, lp, lab, il, tl, skip)``
    CTC's log-likelihood with the library's own gradient rule.
``PLANNED_TYPE``, ``eager()``
    The array type whose eager calls may keep per-signature plans, and the test of "eager".
"""

MODULES = {
    "numpy": "arrayloss._backends.numpy",
    "torch": "arrayloss._backends.torch",
    "jax": "arrayloss._backends.jax",
    "cupy": "arrayloss._backends.cupy",
    "dask": "arrayloss._backends.dask",
}
