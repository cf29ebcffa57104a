"""A PyTorch MLP trained with an arrayloss loss and torch autograd.

``arrayloss.cross_entropy`` takes the torch tensors as they are and returns a torch tensor
that ``backward()`` differentiates; ``arrayloss.integrations.torch.CrossEntropyLoss`` is the
same loss as a ``torch.nn.Module``. ``python examples/torch_mlp.py``
"""

from __future__ import annotations

import argparse

import torch
from _digits import load, report

import arrayloss
from arrayloss.integrations.torch import CrossEntropyLoss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--compile", action="store_true", help="torch.compile the loss")
    args = parser.parse_args()
    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = map(torch.from_numpy, load())
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    criterion = CrossEntropyLoss(label_smoothing=0.05)
    if args.compile:
        criterion = torch.compile(criterion, fullgraph=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    with torch.no_grad():  # the loss before any step
        first = last = float(arrayloss.cross_entropy(model(x_train), y_train))
    for _ in range(args.epochs):
        for idx in torch.randperm(len(x_train)).split(128):
            loss = criterion(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            last = float(arrayloss.cross_entropy(model(x_train), y_train))
    with torch.no_grad():
        accuracy = float((model(x_test).argmax(1) == y_test).float().mean())
    report(example="torch", initial_loss=first, final_loss=last, test_accuracy=accuracy)


if __name__ == "__main__":
    main()
