"""Shared machinery of the main job (``python -m arrayloss``) and ``benchmarks/``.

* **Timing**: :func:`time_interleaved` times several callables in one process, interleaved
  (A B C, B C A, ...) so that frequency scaling and a noisy neighbour hit every candidate
  alike, after a warm-up, with the inner loop count calibrated to a minimum duration; it
  reports the **median** seconds per call. :func:`bandwidth_yardstick` times a plain sum
  over the same bytes: what the memory system allows.
* **Sample inputs** per loss, driven by the registry: a small table maps known losses to an
  input *kind* (logits + class indices, probabilities + binary targets...); a loss not in
  the table gets the first kind that it accepts (tried in a fixed order on tiny float64
  NumPy inputs), so new losses join automatically.
* **Peers from the registry**: the ``torch=``/``optax=`` fields of ``@register`` name the
  peer function; where the peer takes the same arrays (optax: unreduced, so its mean), it is
  resolved to a callable here.

Frameworks are imported lazily: NumPy alone is enough for everything but the peers.
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

from ._registry import REGISTRY, LossSpec

__all__ = [
    "KINDS",
    "SAMPLE_KINDS",
    "Sample",
    "bandwidth_yardstick",
    "convert",
    "make_sample",
    "peer_from_registry",
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


# kind -> maker(rng, n, c) -> (args, kwargs). ``n`` is the batch, ``c`` the class count or
# feature size; each maker yields about n * c input elements.
KINDS: dict[str, Callable[[np.random.Generator, int, int], tuple[tuple[Any, ...], dict]]] = {
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
    "hidden_weight_index": lambda rng, n, c: (
        (rng.standard_normal((n, 32)), rng.standard_normal((c, 32)) / 6, rng.integers(0, c, (n,))),
        {},
    ),
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
}


def _seg_sample(rng: np.random.Generator, n: int, c: int) -> tuple[tuple[Any, ...], dict]:
    """Segmentation logits (B, K, H, W) and labels (B, H, W) of about n * c elements."""
    k = min(c, 4)
    b = max(1, min(n, 8))
    side = max(4, int(math.sqrt(n * c / (b * k))))
    return (rng.standard_normal((b, k, side, side)), rng.integers(0, k, (b, side, side))), {}


def _seg_binary(rng: np.random.Generator, n: int, c: int) -> tuple[tuple[Any, ...], dict]:
    """Binary segmentation logits (B, H, W) and {0, 1} labels of about n * c elements."""
    b = max(1, min(n, 8))
    side = max(4, int(math.sqrt(n * c / b)))
    return (
        rng.standard_normal((b, side, side)),
        rng.integers(0, 2, (b, side, side)).astype(np.float64),
    ), {}


def _ctc_sample(rng: np.random.Generator, n: int, c: int) -> tuple[tuple[Any, ...], dict]:
    """CTC log-probabilities (T, N, C) of about n * c elements (at most 1024 time steps:
    utterance-like lengths; the large size is about 5e6 elements), padded targets (N, S) in
    [1, C) (0 is the blank), full input lengths and target lengths S."""
    k = max(3, min(c, 20))
    b = max(1, min(n, 256))
    t = max(8, min(1024, (n * c) // (b * k)))
    s_len = max(1, min(t // 3, 10))
    log_probs = _log_softmax(rng.standard_normal((t, b, k)), axis=2)
    targets = rng.integers(1, k, (b, s_len))
    return (
        log_probs,
        targets,
        np.full((b,), t, dtype=np.int64),
        np.full((b,), s_len, dtype=np.int64),
    ), {}


def _single(rng: np.random.Generator, n: int, c: int) -> tuple[tuple[Any, ...], dict]:
    """One (n, c) floating array: critic scores, per-sample gradients."""
    return (rng.standard_normal((n, c)),), {}


def _samples_1d(rng: np.random.Generator, n: int, c: int) -> tuple[tuple[Any, ...], dict]:
    """Two 1-D samples of n * c values each (empirical distributions)."""
    return (rng.standard_normal(n * c), rng.normal(0.5, 2.0, n * c)), {}


KINDS["single"] = _single
KINDS["samples_1d"] = _samples_1d
KINDS["seg_logits_index"] = _seg_sample
KINDS["seg_binary"] = _seg_binary
KINDS["ctc"] = _ctc_sample

# Known losses -> kind. Losses not listed get the first kind of ``_FALLBACK_ORDER`` that they
# accept (see :func:`sample_kind`); list one here when that guess would be wrong or slow.
SAMPLE_KINDS: dict[str, str] = {
    "cross_entropy": "logits_index",
    "ctc_loss": "ctc",
    "wasserstein_critic_loss": "pair",
    "wasserstein_generator_loss": "single",
    "gradient_penalty": "single",
    "wasserstein_distance_1d": "samples_1d",
    "linear_cross_entropy": "hidden_weight_index",
    "nll_loss": "logprobs_index",
    "binary_cross_entropy": "probs_binary",
    "binary_cross_entropy_with_logits": "logits_binary",
    "kl_div": "logprobs_probs",
    "sigmoid_focal_loss": "logits_binary",
    "focal_loss": "logits_index",
    "poly1_cross_entropy": "logits_index",
    "soft_margin_loss": "logits_sign",
    "multilabel_soft_margin_loss": "logits_binary",
    "multi_margin_loss": "logits_index",
    "multilabel_margin_loss": "logits_multilabel_index",
    "hinge_loss": "logits_sign",
    "squared_hinge_loss": "logits_sign",
    "categorical_hinge_loss": "logits_onehot",
    "poisson_nll_loss": "poisson",
    "gaussian_nll_loss": "gaussian",
    "msle_loss": "positive_pair",
    "mape_loss": "positive_pair",
    "margin_ranking_loss": "ranking",
    "hinge_embedding_loss": "logits_sign",
    "cosine_embedding_loss": "embedding_pair_sign",
    "triplet_margin_loss": "embedding_triplet",
    "triplet_margin_with_distance_loss": "embedding_triplet",
}

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
_FAMILY_FIRST = {"segmentation": ("seg_logits_index", "seg_binary")}
_GUESSED: dict[str, str | None] = {}


def sample_kind(spec: LossSpec) -> str | None:
    """The input kind of a loss: from the table, else the first kind it accepts."""
    if spec.name in SAMPLE_KINDS:
        return SAMPLE_KINDS[spec.name]
    if spec.name not in _GUESSED:
        _GUESSED[spec.name] = None
        n_arrays = len(spec.array_args)
        first = _FAMILY_FIRST.get(spec.family, ())
        for kind in (*first, *(k for k in _FALLBACK_ORDER if k not in first)):
            args, kwargs = KINDS[kind](np.random.default_rng(0), 4, 5)
            if len(args) != n_arrays:
                continue
            try:
                out = np.asarray(spec.func(*args, **kwargs))
            except Exception:
                continue
            if out.size and np.all(np.isfinite(out)):
                _GUESSED[spec.name] = kind
                break
    return _GUESSED[spec.name]


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
    from .. import _families  # noqa: F401  (fills the registry)

    if names is None:
        return list(REGISTRY.values())
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown loss(es) {unknown}; known: {sorted(REGISTRY)}")
    return [REGISTRY[n] for n in names]
