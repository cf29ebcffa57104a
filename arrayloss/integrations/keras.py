"""arrayloss losses as Keras 3 ``Loss`` objects, on any Keras backend.

:class:`KerasLoss` adapts an arrayloss loss to Keras's conventions, so it can be passed to
``model.compile(loss=...)`` and saved with the model:

* argument order: Keras calls ``loss(y_true, y_pred)``; arrayloss takes ``(input, target)``;
* per-sample values: the loss is computed with ``reduction="none"`` and averaged over every
  axis but the first, so Keras applies ``sample_weight`` and its own ``reduction``
  (``"sum_over_batch_size"`` by default, ``"sum"``, ``None``...) exactly as for its own
  losses;
* integer labels: Keras casts ``y_true`` to the loss dtype (float); when ``y_true`` has fewer
  dimensions than ``y_pred`` (class indices), it is cast back to ``int32``;
* serialization: ``get_config`` stores the arrayloss function name and its options, and the
  class is registered with Keras, so ``keras.saving.load_model`` rebuilds it.

Example::

    model.compile(optimizer="adam",
                  loss=KerasLoss("cross_entropy", label_smoothing=0.1))

Importing this module imports Keras (its backend from ``KERAS_BACKEND``).
"""

from __future__ import annotations

from typing import Any

import keras

from .._lib._registry import REGISTRY

__all__ = ["KerasLoss"]


@keras.saving.register_keras_serializable(package="arrayloss")
class KerasLoss(keras.losses.Loss):  # type: ignore[misc]
    """A Keras ``Loss`` computing the arrayloss function ``loss`` (a name or the function).

    Parameters
    ----------
    loss : str or callable
        A registered arrayloss loss: its function name (``"cross_entropy"``), its class name
        (``"CrossEntropyLoss"``) or the function itself.
    reduction, name, dtype
        As for every Keras loss.
    **options
        Keyword options of the arrayloss function (``label_smoothing=0.1``...). Arrays are
        not serializable: keep array options (``weight``) for code that does not save.
    """

    def __init__(self, loss: Any, *, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None, **options: Any) -> None:
        spec = next((s for s in REGISTRY.values()
                     if loss in (s.name, s.class_name) or loss is s.func), None)
        if spec is None:
            raise ValueError(f"KerasLoss: unknown arrayloss loss {loss!r}")
        unknown = sorted(set(options) - set(spec.options))
        if unknown:
            raise TypeError(f"KerasLoss: unknown option(s) {', '.join(unknown)} for "
                            f"{spec.name}; valid: {', '.join(spec.options)}")
        super().__init__(name=name or spec.name, reduction=reduction, dtype=dtype)
        self.spec = spec
        self.options = options

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ops = keras.ops
        if len(y_true.shape) < len(y_pred.shape) and "float" in str(y_true.dtype):
            y_true = ops.cast(y_true, "int32")  # class indices, cast to float by Keras
        kwargs = dict(self.options)
        if "reduction" in self.spec.options:
            kwargs["reduction"] = "none"
        values = self.spec.func(y_pred, y_true, **kwargs)
        if len(values.shape) > 1:
            values = ops.mean(values, axis=tuple(range(1, len(values.shape))))
        return values

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "loss": self.spec.name, **self.options}
