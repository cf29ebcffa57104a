"""Private machinery of arrayloss: never imported by users.

Layers, bottom up: ``_compat`` (the one import point of array-api-compat), ``_namespace``
(which library/device a call's arrays belong to), ``_validation`` (argument checks with
errors naming the loss), ``_dtypes`` (floating promotion, low-precision policy),
``_primitives`` (numerically critical kernels plus the table of native overrides),
``_reduction`` (mean/sum/none and weighted means), ``_registry`` (loss metadata that
drives ``arrayloss.nn``, the main job and the docs).
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
