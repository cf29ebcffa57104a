"""The check-and-compare engine of the main job (``python -m arrayloss``) and ``benchmarks/``.

* **Timing**: :func:`time_interleaved` times several callables in one process, interleaved
  (A B C, B C A, ...) so that frequency scaling and a noisy neighbour hit every candidate
  alike, after a warm-up, with the inner loop count calibrated to a minimum duration; it
  reports the **median** seconds per call. :func:`bandwidth_yardstick` times a plain sum
  over the same bytes: what the memory system allows.
* **Sample inputs** per loss: each loss declares its input *kind* at registration
  (``@register(..., sample="logits_index")``), a key of :data:`KINDS` (logits + class
  indices, probabilities + binary targets...). This is the one source of plain inputs: the
  main job, the benchmarks and the tests draw from it (:func:`make_sample`).
* **Peers from the registry**: the ``torch=``/``optax=`` fields of ``@register`` name the
  peer function; where the peer takes the same arrays (optax: unreduced, so its mean), it is
  resolved to a callable here.
* **Conversion** of the NumPy samples to each backend's arrays (:func:`convert`).

Frameworks are imported lazily, inside the functions that need them: NumPy alone is enough
for everything but the peers, and ``import arrayloss`` does not import this module.
"""

from __future__ import annotations

import importlib
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._lib._registry import REGISTRY, LossSpec

__all__ = [
    "KINDS",
    "Sample",
    "bandwidth_yardstick",
    "convert",
    "ctc_inputs",
    "linear_ce_inputs",
    "make_sample",
    "peer_from_registry",
    "registered",
    "sample_kind",
    "sync_for",
    "time_interleaved",
]


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


def sync_for(backend: str) -> Callable[[Any], Any]:
    """A function that waits until a result is computed (async backends), else identity."""
    if backend.startswith("jax"):
        import jax

        return jax.block_until_ready
    if backend == "torch_cuda":
        import torch

        def torch_sync(out: Any) -> Any:
            torch.cuda.synchronize()
            return out

        return torch_sync
    if backend == "cupy":
        import cupy

        def cupy_sync(out: Any) -> Any:
            cupy.cuda.get_current_stream().synchronize()
            return out

        return cupy_sync
    if backend == "dask":
        return lambda out: out.compute() if hasattr(out, "compute") else out
    return lambda out: out


def _loop(fn: Callable[[], Any], sync: Callable[[Any], Any], number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        out = fn()
    sync(out)
    return time.perf_counter() - t0


def time_interleaved(
    fns: dict[str, Callable[[], Any]],
    *,
    sync: Callable[[Any], Any] = lambda out: out,
    repeat: int = 7,
    min_time: float = 0.01,
    warmup: int = 2,
    max_number: int = 100_000,
) -> dict[str, float]:
    """Median seconds per call of each callable, timed interleaved in rounds.

    Each callable is warmed up (``warmup`` calls: compilation, caches), then its loop count
    is calibrated so one timed sample lasts at least ``min_time`` seconds. Each of the
    ``repeat`` rounds times every callable once, in a rotated order.
    """
    names = list(fns)
    number: dict[str, int] = {}
    for name in names:
        fn = fns[name]
        for _ in range(warmup):
            sync(fn())
        n = 1
        while True:
            t = _loop(fn, sync, n)
            if t >= min_time or n >= max_number:
                break
            n = min(max_number, max(n * 2, int(n * min_time / max(t, 1e-9) * 1.2)))
        number[name] = n
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeat):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            samples[name].append(_loop(fns[name], sync, number[name]) / number[name])
    return {name: statistics.median(ts) for name, ts in samples.items()}


def bandwidth_yardstick(
    arrays: Sequence[Any],
    xp: Any,
    *,
    sync: Callable[[Any], Any] = lambda out: out,
    repeat: int = 5,
    min_time: float = 0.01,
) -> tuple[float, float]:
    """Seconds for one read of ``arrays`` (a plain sum of each), and the bytes read."""
    floats = [a for a in arrays if hasattr(a, "dtype") and xp.isdtype(a.dtype, "real floating")]
    nbytes = float(sum(math.prod(a.shape) * _itemsize(a) for a in floats))

    def read() -> Any:
        return [xp.sum(a) for a in floats]

    t = time_interleaved(
        {"read": read}, sync=lambda out: [sync(o) for o in out], repeat=repeat, min_time=min_time
    )["read"]
    return t, nbytes


def _itemsize(a: Any) -> int:
    item = getattr(a, "itemsize", None)
    if item is None:  # torch
        item = a.element_size() if hasattr(a, "element_size") else a.dtype.itemsize
    return int(item)


# ---------------------------------------------------------------------------------------------
# Sample inputs: NumPy float64 / int64 arrays of a size class, by kind
# ---------------------------------------------------------------------------------------------


@dataclass
class Sample:
    """Positional arrays (NumPy float64/int64) and keyword options of one loss call."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    kind: str = ""

    @property
    def elements(self) -> int:
        return int(self.args[0].size)


_Made = tuple[tuple[Any, ...], dict[str, Any]]


def _log_softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    out: np.ndarray = x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
    return out


def _signs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.choice(np.array([-1.0, 1.0]), size=shape)


def _multilabel_index(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    # torch's multilabel_margin_loss targets: class indices, then -1 ends the list.
    t = np.full((n, c), -1, dtype=np.int64)
    for i in range(n):
        k = int(rng.integers(1, min(c, 4) + 1))
        t[i, :k] = rng.choice(c, size=k, replace=False)
    return t


def _seg_sample(rng: np.random.Generator, n: int, c: int) -> _Made:
    """Segmentation logits (B, K, H, W) and labels (B, H, W) of about n * c elements."""
    k = min(c, 4)
    b = max(1, min(n, 8))
    side = max(4, int(math.sqrt(n * c / (b * k))))
    return (rng.standard_normal((b, k, side, side)), rng.integers(0, k, (b, side, side))), {}


def _seg_binary(rng: np.random.Generator, n: int, c: int) -> _Made:
    """Binary segmentation logits (B, H, W) and {0, 1} labels of about n * c elements."""
    b = max(1, min(n, 8))
    side = max(4, int(math.sqrt(n * c / b)))
    return (
        rng.standard_normal((b, side, side)),
        rng.integers(0, 2, (b, side, side)).astype(np.float64),
    ), {}


def ctc_inputs(
    rng: np.random.Generator, t: int, n: int, c: int, s: int, *, varied: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CTC log-probabilities (T, N, C), padded targets (N, S) in [1, C) (0 is the blank),
    input and target lengths: full, or (``varied``) drawn from [0.8 T, T] and [S / 3, S]."""
    log_probs = _log_softmax(rng.standard_normal((t, n, c)), axis=2)
    targets = rng.integers(1, c, (n, s))
    if varied:
        input_lengths = rng.integers(int(0.8 * t), t + 1, n)
        target_lengths = rng.integers(max(1, s // 3), s + 1, n)
    else:
        input_lengths = np.full((n,), t, dtype=np.int64)
        target_lengths = np.full((n,), s, dtype=np.int64)
    return log_probs, targets, input_lengths, target_lengths


def _ctc_sample(rng: np.random.Generator, n: int, c: int) -> _Made:
    """CTC inputs of about n * c elements, at most 1024 time steps (utterance-like lengths)."""
    k = max(3, min(c, 20))
    b = max(1, min(n, 256))
    t = max(8, min(1024, (n * c) // (b * k)))
    return ctc_inputs(rng, t, b, k, max(1, min(t // 3, 10))), {}


def linear_ce_inputs(
    rng: np.random.Generator, n: int, d: int, v: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hidden states (N, D), a vocabulary projection (V, D) scaled by 1/sqrt(D) (logits of
    unit scale) and class indices (N,)."""
    return (
        rng.standard_normal((n, d)),
        rng.standard_normal((v, d)) / math.sqrt(d),
        rng.integers(0, v, (n,)),
    )


# kind -> maker(rng, n, c) -> (args, kwargs). ``n`` is the batch, ``c`` the class count or
# feature size; each maker yields about n * c input elements.
KINDS: dict[str, Callable[[np.random.Generator, int, int], _Made]] = {
    "pair": lambda rng, n, c: ((rng.standard_normal((n, c)), rng.standard_normal((n, c))), {}),
    "positive_pair": lambda rng, n, c: (
        (rng.uniform(0.1, 3.0, (n, c)), rng.uniform(0.1, 3.0, (n, c))),
        {},
    ),
    "poisson": lambda rng, n, c: (
        (rng.standard_normal((n, c)), rng.poisson(2.0, (n, c)).astype(np.float64)),
        {},
    ),
    "gaussian": lambda rng, n, c: (
        (rng.standard_normal((n, c)), rng.standard_normal((n, c)), rng.uniform(0.5, 2.0, (n, c))),
        {},
    ),
    "logits_index": lambda rng, n, c: ((rng.standard_normal((n, c)), rng.integers(0, c, (n,))), {}),
    "logprobs_index": lambda rng, n, c: (
        (_log_softmax(rng.standard_normal((n, c))), rng.integers(0, c, (n,))),
        {},
    ),
    "logits_binary": lambda rng, n, c: (
        (rng.standard_normal((n, c)), rng.integers(0, 2, (n, c)).astype(np.float64)),
        {},
    ),
    "probs_binary": lambda rng, n, c: (
        (rng.uniform(0.02, 0.98, (n, c)), rng.integers(0, 2, (n, c)).astype(np.float64)),
        {},
    ),
    "logits_sign": lambda rng, n, c: ((rng.standard_normal((n, c)), _signs(rng, (n, c))), {}),
    "logprobs_probs": lambda rng, n, c: (
        (
            _log_softmax(rng.standard_normal((n, c))),
            np.exp(_log_softmax(rng.standard_normal((n, c)))),
        ),
        {},
    ),
    "logits_onehot": lambda rng, n, c: (
        (rng.standard_normal((n, c)), np.eye(c)[rng.integers(0, c, (n,))]),
        {},
    ),
    "logits_multilabel_index": lambda rng, n, c: (
        (rng.standard_normal((n, c)), _multilabel_index(rng, n, c)),
        {},
    ),
    "hidden_weight_index": lambda rng, n, c: (linear_ce_inputs(rng, n, 32, c), {}),
    "ranking": lambda rng, n, c: (
        (rng.standard_normal((n * c,)), rng.standard_normal((n * c,)), _signs(rng, (n * c,))),
        {},
    ),
    "embedding_pair_sign": lambda rng, n, c: (
        (rng.standard_normal((n, c)), rng.standard_normal((n, c)), _signs(rng, (n,))),
        {},
    ),
    "embedding_triplet": lambda rng, n, c: (
        (rng.standard_normal((n, c)), rng.standard_normal((n, c)), rng.standard_normal((n, c))),
        {},
    ),
    "embedding_pair": lambda rng, n, c: (
        (rng.standard_normal((n, c)), rng.standard_normal((n, c))),
        {},
    ),
    "embedding_pair_binary": lambda rng, n, c: (
        (
            rng.standard_normal((n, c)),
            rng.standard_normal((n, c)),
            rng.integers(0, 2, (n,)).astype(np.float64),
        ),
        {},
    ),
    # one (n, c) floating array: critic scores, per-sample gradients
    "single": lambda rng, n, c: ((rng.standard_normal((n, c)),), {}),
    # two 1-D samples of n * c values each (empirical distributions)
    "samples_1d": lambda rng, n, c: (
        (rng.standard_normal(n * c), rng.normal(0.5, 2.0, n * c)),
        {},
    ),
    "seg_logits_index": _seg_sample,
    "seg_binary": _seg_binary,
    "ctc": _ctc_sample,
}

# A loss registered without ``sample=`` gets the first of these kinds that it accepts (its own
# family's first); every loss in the package declares its kind, so this only serves a loss
# being written.
_FALLBACK_ORDER = (
    "pair",
    "logits_index",
    "logits_binary",
    "logits_sign",
    "logprobs_probs",
    "logits_onehot",
    "logits_multilabel_index",
    "embedding_triplet",
    "embedding_pair_sign",
    "embedding_pair_binary",
    "embedding_pair",
    "ranking",
    "gaussian",
    "seg_logits_index",
    "seg_binary",
)
_FAMILY_FIRST: dict[str, tuple[str, ...]] = {"segmentation": ("seg_logits_index", "seg_binary")}
_GUESSED: dict[str, str | None] = {}


def sample_kind(spec: LossSpec) -> str | None:
    """The input kind of a loss: the one it declares (``@register(sample=...)``), else the
    first kind that it accepts."""
    if spec.sample is not None:
        if spec.sample not in KINDS:
            raise ValueError(
                f"{spec.name} declares sample={spec.sample!r}; known kinds: {sorted(KINDS)}"
            )
        return spec.sample
    if spec.name not in _GUESSED:
        _GUESSED[spec.name] = _first_accepted(spec)
    return _GUESSED[spec.name]


def _first_accepted(spec: LossSpec) -> str | None:
    first = _FAMILY_FIRST.get(spec.family, ())
    order: tuple[str, ...] = (*first, *(k for k in _FALLBACK_ORDER if k not in first))
    for kind in order:
        args, kwargs = KINDS[kind](np.random.default_rng(0), 4, 5)
        if len(args) != len(spec.array_args):
            continue
        try:
            out = np.asarray(spec.func(*args, **kwargs))
        except Exception:
            continue
        if out.size and np.all(np.isfinite(out)):
            return kind
    return None


def make_sample(spec: LossSpec, n: int, c: int, seed: int = 0) -> Sample | None:
    """Inputs of about ``n * c`` elements for ``spec``, or None when no kind fits."""
    kind = sample_kind(spec)
    if kind is None:
        return None
    args, kwargs = KINDS[kind](np.random.default_rng(seed), n, c)
    return Sample(tuple(args), dict(kwargs), kind)


# ---------------------------------------------------------------------------------------------
# Conversion to a backend, and peers named by the registry
# ---------------------------------------------------------------------------------------------


def convert(a: Any, backend: str, dtype: str) -> Any:
    """NumPy array -> ``backend`` array; floating arrays cast to ``dtype`` (ints kept)."""
    if not isinstance(a, np.ndarray):
        return a
    floating = np.issubdtype(a.dtype, np.floating)
    if floating:
        a = a.astype(dtype)
    if backend == "numpy":
        return a
    if backend in ("torch", "torch_cuda"):
        import torch

        t = torch.from_numpy(np.array(a, order="C", copy=True))
        return t.to("cuda") if backend == "torch_cuda" else t
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(a)
    if backend == "array_api_strict":
        import array_api_strict

        return array_api_strict.asarray(a)
    if backend == "dask":
        import dask.array as da

        return da.from_array(  # type: ignore[no-untyped-call]
            a,
            chunks=tuple(max(1, (s + 1) // 2) if i == 0 else s for i, s in enumerate(a.shape))
            or a.shape,
        )
    if backend == "cupy":
        import cupy

        return cupy.asarray(a)
    raise ValueError(f"unknown backend {backend!r}")


def _resolve(path: str) -> Any:
    module, _, attr = path.rpartition(".")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def peer_from_registry(spec: LossSpec, library: str) -> Callable[..., Any] | None:
    """The peer function named by ``spec.peers[library]`` when its arrays line up.

    * ``torch``: ``torch.nn.functional.<name>`` with arrayloss's array order and option
      names (arrayloss copies torch's signature); called with the same keyword options.
    * ``optax``: an *unreduced* optax loss with the same array order (``(unreduced)`` in the
      registry field, nothing else): the peer is its mean (``reduction="mean"`` only).

    Fields with other notes (different labels, a constant factor...) do not line up: None.
    Returns None too when the peer library is not installed.
    """
    field_ = spec.peers.get(library)
    if not field_:
        return None
    path, _, note = field_.partition(" ")
    note = note.strip()
    try:
        if library == "torch":
            if note or not path.startswith("torch.nn.functional."):
                return None
            fn = _resolve(path)
            return lambda *args, **kw: fn(*args, **kw)
        if library == "optax":
            if note not in ("", "(unreduced)"):  # optax losses are all unreduced
                return None
            fn = _resolve(path)
            import jax.numpy as jnp

            def optax_mean(*args: Any, reduction: str = "mean", **kw: Any) -> Any:
                if reduction != "mean":
                    raise ValueError("optax peers are compared with reduction='mean' only")
                return jnp.mean(fn(*args, **kw))

            return optax_mean
    except (ImportError, AttributeError):
        return None
    return None


def registered(names: Sequence[str] | None = None) -> list[LossSpec]:
    """Registry entries (every family imported), optionally restricted to ``names``."""
    from . import _families  # noqa: F401  (fills the registry)

    if names is None:
        return list(REGISTRY.values())
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown loss(es) {unknown}; known: {sorted(REGISTRY)}")
    return [REGISTRY[n] for n in names]
