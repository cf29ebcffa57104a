"""Core types of the test loss registry (see ``tests/loss_info/__init__.py``).

The loss registry for tests (in the spirit of PyTorch's OpInfo).

One :class:`LossInfo` per public loss: its sample-input generator, its *independent*
reference (a peer library or a float64 formula written here from the paper/docs, never the
code under test), tolerances per dtype, and its error inputs. The generic tests in
``tests/test_losses.py`` cross every entry with every backend, dtype and code path.

A family adds its entries in ``tests/loss_info/<family>.py`` as a list ``LOSSES`` and is
listed in ``_FAMILIES`` below; nothing else in the test machinery changes.

What a loss cannot do is declared, never hidden in a test: capability flags
(``supports_jit``, ``supports_vmap``, ``supports_compile``, ``supports_gradgrad``; True,
False, or the backends that have it), whose False value the generic tests assert (the
unsupported call fails as documented, so a flag that is no longer needed shows), and
:class:`DecorateInfo` directives (skip or strict xfail one test, backend, dtype, with the
reason), as in PyTorch's OpInfo.

References take **float64 torch tensors** (integer arrays arrive as int64 tensors) and return
a torch tensor, so the reference gradient is torch autograd of the reference. A reference
backed by a non-torch peer (optax, MONAI...) converts inside and sets ``ref_grad=False`` if
it cannot be differentiated by torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

REDUCTIONS = ("mean", "sum", "none")

# (rtol, atol) per dtype. Inputs are rounded to the dtype before the reference sees them, so
# these bound the loss's own error: float64 to rounding, float32 a few ulp times the
# conditioning of a sum, float16/bfloat16 (computed in float32, cast back) the final cast.
DEFAULT_TOLS: dict[str, tuple[float, float]] = {
    "float64": (1e-9, 1e-12),
    "float32": (2e-5, 1e-6),
    "float16": (2e-3, 1e-4),
    "bfloat16": (1.6e-2, 1e-3),
}


@dataclass
class SampleInput:
    """Positional arrays (NumPy float64/int64 or Python scalars) and keyword options."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    desc: str = ""
    grad: bool = True  # include in gradient checks (False where the loss is not differentiable)

    def __repr__(self) -> str:
        shapes = [getattr(a, "shape", a) for a in self.args]
        return f"SampleInput({self.desc or shapes}, {self.kwargs_repr()})"

    def kwargs_repr(self) -> str:
        return ", ".join(
            f"{k}={'array' + str(v.shape) if isinstance(v, np.ndarray) else v!r}"
            for k, v in self.kwargs.items()
        )


@dataclass
class ErrorInput:
    """A sample that must raise ``error_type`` with a message matching ``match``."""

    sample: SampleInput
    error_type: type[Exception]
    match: str
    # A check on array *values* (labels in range, negative variance): raised on eager
    # arrays only; lazy Dask and traced arrays skip it by design (docs/design.md).
    data_dependent: bool = False


@dataclass(frozen=True)
class DecorateInfo:
    """A typed test directive for one loss (PyTorch OpInfo's ``DecorateInfo``): ``skip`` the
    tests named in ``tests`` (test function names; None: every test) on ``backends`` and
    ``dtypes`` (None: any), or expect them to fail (``xfail``, strict: a fix shows as a
    failure to remove the directive). ``reason`` says why, in a line."""

    kind: Literal["skip", "xfail"]
    reason: str
    tests: tuple[str, ...] | None = None
    backends: tuple[str, ...] | None = None
    dtypes: tuple[str, ...] | None = None

    def applies(self, test: str | set[str], backend: str | None = None,
                dtype: str | None = None) -> bool:
        """Whether it covers ``test`` (a name, or a test's name and tags) on this backend
        and dtype; an unrestricted field matches anything, an unknown backend/dtype none."""
        names = {test} if isinstance(test, str) else test
        return (
            (self.tests is None or bool(names & set(self.tests)))
            and (self.backends is None or backend in self.backends)
            and (self.dtypes is None or dtype in self.dtypes)
        )


# Capability flags of LossInfo: True (every backend), False (none), or the backends that have it.
Capability = bool | tuple[str, ...]
CAPABILITIES = ("jit", "vmap", "compile", "gradgrad")


@dataclass
class LossInfo:
    name: str
    func: Callable[..., Any]
    samples: Callable[[np.random.Generator], Sequence[SampleInput]]
    ref: Callable[..., Any]
    provenance: str
    grad_args: tuple[int, ...] = (0,)
    errors: Callable[[np.random.Generator], Sequence[ErrorInput]] = lambda rng: ()
    tols: dict[str, tuple[float, float]] = field(default_factory=dict)
    grad_tols: dict[str, tuple[float, float]] = field(default_factory=dict)
    ref_grad: bool = True
    # Whether the loss takes reduction=: then samples without one run for each reduction.
    reductions: tuple[str, ...] = REDUCTIONS
    # Positional arguments that must be floating (the rest may be index arrays).
    float_args: tuple[int, ...] = (0,)
    # Typed skips and expected failures (see DecorateInfo), in place of string-keyed skips.
    decorators: tuple[DecorateInfo, ...] = ()
    # Capabilities (see Capability). False makes the generic test assert the documented
    # failure instead of the result: jax.jit, vmap (jax.vmap, torch.func.vmap),
    # torch.compile(fullgraph=True), and second derivatives.
    supports_jit: Capability = True
    supports_vmap: Capability = True
    supports_compile: Capability = True
    supports_gradgrad: Capability = True
    # -- Optional, for the reliability suites (tests/test_properties.py, test_accuracy.py,
    # test_error_catalogue.py, test_tracing.py); the defaults need no code from a family.
    # Samples at the edges of the domain where the math is still finite (logits ±1e4,
    # probabilities exactly 0/1, identical embeddings, empty masks, variances below eps,
    # beta=0, tiny delta). Their values must be finite, and their gradients too unless the
    # sample says ``grad=False`` (a kink or a pole), on every backend, and as accurate in
    # float32 as torch's own float32.
    extreme_samples: Callable[[np.random.Generator], Sequence[SampleInput]] = lambda rng: ()
    # Positional float arguments the property tests may multiply by any positive factor
    # (1e-4..1e4) and stay in the loss's domain; None: ``float_args``. Out-of-domain
    # perturbations are harmless anyway: an example whose float64 reference is not finite
    # (or raises) is not asserted on.
    scale_args: tuple[int, ...] | None = None
    # The batch axis of each positional array (None: not batched), for the "mean is
    # invariant under a permutation of the batch" property. None: axis 0 of every array whose
    # first dimension equals the input's (the property is asserted only where the
    # reference itself is invariant under that permutation).
    batch_axes: tuple[int | None, ...] | None = None
    # Options that must be rejected, {option: (bad values...)}: each must raise ValueError
    # or TypeError naming the option, on top of the catalogue's generic option checks.
    invalid_options: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def supports(self, capability: str, backend: str) -> bool:
        """Whether the loss has ``capability`` (one of CAPABILITIES) on ``backend``."""
        value: Capability = getattr(self, f"supports_{capability}")
        return value if isinstance(value, bool) else backend in value

    def directive(self, test: str | set[str], backend: str | None = None,
                  dtype: str | None = None) -> DecorateInfo | None:
        """The first of ``decorators`` that applies to this test, backend and dtype."""
        return next((d for d in self.decorators if d.applies(test, backend, dtype)), None)

    def tol(self, dtype: str) -> tuple[float, float]:
        return self.tols.get(dtype, DEFAULT_TOLS[dtype])

    def grad_tol(self, dtype: str) -> tuple[float, float]:
        if dtype in self.grad_tols:
            return self.grad_tols[dtype]
        rtol, atol = self.tol(dtype)
        return rtol * 5, atol * 5

    def expanded_samples(self, rng: np.random.Generator) -> list[SampleInput]:
        """Samples crossed with the reductions (those that set none explicitly)."""
        out = []
        for s in self.samples(rng):
            if "reduction" in s.kwargs or not self.reductions:
                out.append(s)
            else:
                for r in self.reductions:
                    out.append(SampleInput(s.args, {**s.kwargs, "reduction": r}, s.desc, s.grad))
        return out

    def representative_samples(
        self, rng: np.random.Generator, keep: Callable[[SampleInput], bool] | None = None
    ) -> list[SampleInput]:
        """The expanded samples (those ``keep`` accepts) that, in order, first show a
        reduction, an option, an option's flag or mode (a bool, str or None value), or a
        shape signature (the arguments' ranks): every code path the samples reach, at least
        once. The costly sweeps run these by default; ``--exhaustive`` runs every sample."""
        seen: set[tuple[Any, ...]] = set()
        out = []
        for s in self.expanded_samples(rng):
            if keep is not None and not keep(s):
                continue
            features = sample_features(s)
            if not features <= seen:
                seen |= features
                out.append(s)
        return out


def sample_features(sample: SampleInput) -> set[tuple[Any, ...]]:
    """What distinguishes a sample's code path: its reduction, its option names, the value
    of each flag or mode option, and the rank (or Python type) of each positional argument."""
    ranks = tuple(a.ndim if isinstance(a, np.ndarray) else type(a).__name__ for a in sample.args)
    features: set[tuple[Any, ...]] = {("reduction", sample.kwargs.get("reduction")),
                                      ("ranks", ranks)}
    for k, v in sample.kwargs.items():
        features.add(("option", k))
        if v is None or isinstance(v, (bool, str)):
            features.add(("value", k, v))
    return features


# ------------------------------------------------------------------------------------------
# Helpers for reference formulas (torch, float64): independent of the code under test.
# ------------------------------------------------------------------------------------------


def ref_reduce(loss: Any, reduction: str, weight: Any = None, *, mean_by: str = "weight") -> Any:
    """Reference reduction: ``mean`` is sum(w l)/sum(w) (``mean_by="weight"``) or mean(w l)."""
    if weight is not None:
        loss = loss * weight
        if reduction == "mean" and mean_by == "weight":
            return loss.sum() / weight.expand_as(loss).sum()
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def randn(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return rng.standard_normal(shape) * scale


def uniform(
    rng: np.random.Generator, *shape: int, low: float = 0.0, high: float = 1.0
) -> np.ndarray:
    return rng.uniform(low, high, shape)
