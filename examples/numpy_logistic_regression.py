"""Multinomial logistic regression in plain NumPy, with a hand-written gradient.

arrayloss computes the loss on NumPy arrays (no framework needed); the gradient of
mean cross entropy with respect to the logits, ``(softmax(z) - onehot(y)) / N``, is written
by hand, as NumPy has no autodiff. ``python examples/numpy_logistic_regression.py``
"""

from __future__ import annotations

import argparse

import numpy as np
from _digits import load, report

import arrayloss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.5)
    args = parser.parse_args()
    x_train, y_train, x_test, y_test = load()
    n, d = x_train.shape
    w = np.zeros((d, 10), np.float32)
    b = np.zeros(10, np.float32)
    onehot = np.eye(10, dtype=np.float32)[y_train]
    losses = []
    for _ in range(args.epochs):
        logits = x_train @ w + b
        losses.append(float(arrayloss.cross_entropy(logits, y_train)))
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / n
        w -= args.lr * (x_train.T @ g)
        b -= args.lr * g.sum(0)
    accuracy = float(np.mean(np.argmax(x_test @ w + b, 1) == y_test))
    report(example="numpy", initial_loss=losses[0], final_loss=losses[-1],
           test_accuracy=accuracy)


if __name__ == "__main__":
    main()
