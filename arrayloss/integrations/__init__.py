"""Adapters for frameworks that expect a loss object of their own.

* :mod:`arrayloss.integrations.torch`: every loss as a ``torch.nn.Module``
  (``arrayloss.integrations.torch.CrossEntropyLoss(label_smoothing=0.1)``), with array
  options (``weight``, ``pos_weight``...) held as buffers so ``.to(device)`` moves them.
* :mod:`arrayloss.integrations.keras`: :class:`~arrayloss.integrations.keras.KerasLoss`, a
  serializable ``keras.losses.Loss`` honouring Keras's ``reduction`` and ``sample_weight``.

Each is imported on demand, so arrayloss never depends on torch or Keras.
"""

__all__ = ["keras", "torch"]
