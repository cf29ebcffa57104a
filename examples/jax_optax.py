"""A JAX MLP trained with optax, the arrayloss loss inside ``jax.jit`` and ``jax.grad``.

``python examples/jax_optax.py``
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _digits import load, report

import arrayloss


def init(key: jax.Array) -> dict[str, jax.Array]:
    k1, k2 = jax.random.split(key)
    return {"w1": jax.random.normal(k1, (64, 128)) * 0.1, "b1": jnp.zeros(128),
            "w2": jax.random.normal(k2, (128, 10)) * 0.1, "b2": jnp.zeros(10)}


def forward(params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    h = jax.nn.relu(x @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def loss_fn(params: dict[str, jax.Array], x: jax.Array, y: jax.Array) -> jax.Array:
    # JAX's default integer dtype (int32) works as class indices, unlike torch's int64 rule.
    return arrayloss.cross_entropy(forward(params, x), y, label_smoothing=0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    x_train, y_train, x_test, y_test = (jnp.asarray(a) for a in load())
    y_train, y_test = y_train.astype(jnp.int32), y_test.astype(jnp.int32)
    params = init(jax.random.key(0))
    opt = optax.adam(1e-2)
    state = opt.init(params)

    @jax.jit
    def step(params, state, x, y):  # type: ignore[no-untyped-def]
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state)
        return optax.apply_updates(params, updates), state, loss

    evaluate = jax.jit(loss_fn)
    rng = np.random.default_rng(0)
    first = last = float(evaluate(params, x_train, y_train))  # before any step
    for _ in range(args.epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order) - 127, 128):
            idx = order[start:start + 128]
            params, state, _ = step(params, state, x_train[idx], y_train[idx])
        last = float(evaluate(params, x_train, y_train))
    accuracy = float(jnp.mean(jnp.argmax(forward(params, x_test), 1) == y_test))
    report(example="jax", initial_loss=first, final_loss=last, test_accuracy=accuracy)


if __name__ == "__main__":
    main()
