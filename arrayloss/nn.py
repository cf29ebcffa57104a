"""Class wrappers: ``MSELoss(reduction="sum")(input, target)``.

One class per registered loss, generated from the function by :func:`_make_class`, never
written by hand: the constructor takes the function's keyword options (validated by name),
the call takes the arrays (and may override options). Class names are torch.nn's where
torch has the loss (``CrossEntropyLoss``, ``MSELoss``...), ``<Name>Loss`` otherwise.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from . import _families  # noqa: F401  (imports every family, filling the registry)
from ._lib._compat import array_namespace
from ._lib._namespace import namespace_of
from ._lib._registry import REGISTRY, LossSpec
from .sequence import _asm_layout, adaptive_log_softmax_log_prob, adaptive_log_softmax_loss

__all__ = ["Loss"]


class Loss:
    """Base class of the generated wrappers: options at construction, arrays at call time."""

    function: ClassVar[Callable[..., Any]]
    option_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **options: Any) -> None:
        self._check(options)
        self.options = options

    def _check(self, options: dict[str, Any]) -> None:
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown option(s) {', '.join(unknown)}; "
                f"valid options are {', '.join(self.option_names)}"
            )

    def __call__(self, *arrays: Any, **options: Any) -> Any:
        if options:
            self._check(options)
            options = {**self.options, **options}
        else:
            options = self.options
        return type(self).function(*arrays, **options)

    forward = __call__

    def get_config(self) -> dict[str, Any]:
        """The constructor options (Keras-style), enough to rebuild the object."""
        return dict(self.options)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.options == other.options  # type: ignore[attr-defined, no-any-return]

    __hash__ = None  # type: ignore[assignment]


def _make_class(spec: LossSpec) -> type[Loss]:
    params = [
        p
        for p in inspect.signature(spec.func).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    doc = (
        f"Class form of :func:`arrayloss.{spec.name}`.\n\n"
        f"``{spec.class_name}(**options)(*arrays)`` equals "
        f"``arrayloss.{spec.name}(*arrays, **options)``; options: "
        f"{', '.join(p.name for p in params)}.\n"
    )
    cls = type(
        spec.class_name,
        (Loss,),
        {
            "function": staticmethod(spec.func),
            "option_names": tuple(p.name for p in params),
            "__doc__": doc,
            "__module__": __name__,
            "__qualname__": spec.class_name,
        },
    )
    cls.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return cls


for _spec in REGISTRY.values():
    globals()[_spec.class_name] = _make_class(_spec)
    __all__.append(_spec.class_name)

del _spec


class AdaptiveLogSoftmaxWithLoss:
    """torch's ``nn.AdaptiveLogSoftmaxWithLoss`` holding its weights as arrays of any library.

    Not generated from the registry (the one class here that is not: it owns weights, which
    the caller creates and trains with their framework). ``module(input, target)`` returns
    :func:`arrayloss.adaptive_log_softmax_loss`'s ``(output, loss)``; :meth:`log_prob` and
    :meth:`predict` are torch's methods of the same names.

    Examples
    --------
    >>> import numpy as np
    >>> from arrayloss.nn import AdaptiveLogSoftmaxWithLoss
    >>> rng = np.random.default_rng(0)
    >>> m = AdaptiveLogSoftmaxWithLoss(
    ...     rng.normal(size=(3, 8)), [(rng.normal(size=(2, 8)), rng.normal(size=(3, 2)))]
    ... )
    >>> x = rng.normal(size=(4, 8))
    >>> m.log_prob(x).shape, bool(np.allclose(np.exp(m.log_prob(x)).sum(1), 1.0))
    ((4, 5), True)
    >>> bool((m.predict(x) == m.log_prob(x).argmax(1)).all())
    True
    """

    def __init__(
        self,
        head_weight: Any,
        tail_weights: Any,
        *,
        head_bias: Any = None,
        cutoffs: Any = None,
    ) -> None:
        xp = namespace_of("AdaptiveLogSoftmaxWithLoss", head_weight=head_weight)
        edges, in_features = _asm_layout(head_weight, tail_weights, cutoffs, xp)
        self.head_weight, self.head_bias = head_weight, head_bias
        self.tail_weights = [tuple(pair) for pair in tail_weights]
        self.cutoffs, self.n_classes, self.in_features = edges[:-1], edges[-1], in_features

    def _kw(self) -> dict[str, Any]:
        return {"head_bias": self.head_bias, "cutoffs": self.cutoffs}

    def __call__(self, input: Any, target: Any) -> Any:
        return adaptive_log_softmax_loss(
            input, target, self.head_weight, self.tail_weights, **self._kw()
        )

    forward = __call__

    def log_prob(self, input: Any) -> Any:
        """Log-probabilities of all ``n_classes`` classes, shape (N, n_classes)."""
        return adaptive_log_softmax_log_prob(
            input, self.head_weight, self.tail_weights, **self._kw()
        )

    def predict(self, input: Any) -> Any:
        """The most likely class of each row, shape (N,) (torch's ``predict``)."""
        lp = self.log_prob(input)
        return array_namespace(lp).argmax(lp, axis=-1)

    def __repr__(self) -> str:
        return (
            f"AdaptiveLogSoftmaxWithLoss(in_features={self.in_features}, "
            f"n_classes={self.n_classes}, cutoffs={self.cutoffs})"
        )


__all__.append("AdaptiveLogSoftmaxWithLoss")
