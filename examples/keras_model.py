"""A Keras 3 model compiled with an arrayloss loss, on any Keras backend.

``KERAS_BACKEND=jax python examples/keras_model.py`` (or ``torch``). The loss is
``arrayloss.integrations.keras.KerasLoss``: Keras applies its own reduction and sample
weights; the model is saved and reloaded with the loss to show it serializes.
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import keras
import numpy as np
from _digits import load, report

from arrayloss.integrations.keras import KerasLoss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    x_train, y_train, x_test, y_test = load()
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=KerasLoss("cross_entropy", label_smoothing=0.05),
                  metrics=["sparse_categorical_accuracy"])
    history = model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
    accuracy = float(np.mean(np.argmax(restored.predict(x_test, verbose=0), 1) == y_test))
    losses = history.history["loss"]
    report(example=f"keras-{keras.backend.backend()}", initial_loss=losses[0],
           final_loss=losses[-1], test_accuracy=accuracy,
           restored_loss=type(restored.loss).__name__)


if __name__ == "__main__":
    main()
