"""Private machinery of arrayloss: no framework import and no loss name.

Layers, bottom up (a module imports only those before it; tests/test_architecture.py
checks the graph): ``_compat`` (the one import point of array-api-compat), ``_plans``
(delegation to a whole-loss kernel, per-signature plans), ``_registry`` (loss metadata
that drives ``arrayloss.nn``, the main job and the docs), ``_options`` (``check_values``),
``_dispatch`` (loads ``arrayloss/_backends/<library>.py`` by name and picks native
kernels), ``_create`` (arrays made on an input's device), ``_primitives`` (numerically
critical kernels, generic with native twins), ``_validation`` (argument checks naming the
loss; value checks under the ``check_values`` policy), ``_namespace`` (which library and
device a call's arrays belong to), ``_dtypes`` (floating promotion, low precision),
``_reduction`` (the only mean/sum/none), ``_custom_grad``, ``_scan``, ``_chunk`` and
``_distance`` (custom gradients, control flow, chunk loops, distances, via the backends).
"""

from ._chunk import chunked_scan
from ._custom_grad import custom_gradient
from ._dtypes import compute_dtype, finish, promote_floating
from ._namespace import namespace_of
from ._primitives import force_generic, native_loss
from ._reduction import reduce, weighted_reduce
from ._registry import REGISTRY, register
from ._validation import (
    check_floating,
    check_index_target,
    check_labels_in_range,
    check_option,
    check_real_scalar,
    check_reduction,
    check_same_shape,
    is_concrete,
)

__all__ = [
    "REGISTRY",
    "check_floating",
    "check_index_target",
    "check_labels_in_range",
    "check_option",
    "check_real_scalar",
    "check_reduction",
    "check_same_shape",
    "chunked_scan",
    "compute_dtype",
    "custom_gradient",
    "finish",
    "force_generic",
    "is_concrete",
    "namespace_of",
    "native_loss",
    "promote_floating",
    "reduce",
    "register",
    "weighted_reduce",
]
