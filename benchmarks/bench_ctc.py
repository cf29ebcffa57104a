"""ctc_loss: arrayloss against torch's native CTC kernel, optax and its own generic path.

At issue 10's size (T=100, N=16, C=30, S=30; input lengths in [80, 100], target lengths in
[10, 30]), a tiny one and a larger one, float32, forward and forward+backward (gradient
w.r.t. the logits that feed log_softmax, as users differentiate). arrayloss runs on eager
torch (torch's kernels, the gradient corrected to the true derivative w.r.t. ``log_probs``;
and, forced, the generic forward algorithm: a Python loop over time), on JAX under
``jax.jit`` (``lax.scan``) and on NumPy; optax's ``ctc_loss`` under ``jax.jit`` is the JAX
peer. Ratios are against torch's native kernel measured in the same run, and values are
checked against it first. Writes ``benchmarks/results/ctc.md``.

    python benchmarks/bench_ctc.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np
import torch

from arrayloss import ctc_loss
from arrayloss._check import ctc_inputs, sync_for, time_interleaved
from arrayloss.testing import force_generic

ROOT = Path(__file__).resolve().parents[1]


def make(T: int, N: int, C: int, S: int, seed: int = 0):
    """The engine's CTC inputs with varied lengths; the log-probabilities serve as the logits
    fed to log_softmax (which returns them unchanged)."""
    lp, tg, il, tl = ctc_inputs(np.random.default_rng(seed), T, N, C, S, varied=True)
    return lp.astype(np.float32), tg, il, tl


def bench(T: int, N: int, C: int, S: int, repeat: int) -> list[tuple[str, float, float]]:
    import jax
    import jax.numpy as jnp
    import optax

    logits, tg, il, tl = make(T, N, C, S)
    x = torch.tensor(logits, requires_grad=True)
    t_tg, t_il, t_tl = torch.tensor(tg), torch.tensor(il), torch.tensor(tl)
    F = torch.nn.functional

    def torch_native():
        return F.ctc_loss(x.log_softmax(2), t_tg, t_il, t_tl, reduction="sum")

    def torch_al():
        return ctc_loss(x.log_softmax(2), t_tg, t_il, t_tl, reduction="sum")

    def torch_generic():
        with force_generic():
            return torch_al()

    def grad_of(f):
        def run():
            (g,) = torch.autograd.grad(f(), x)
            return g

        return run

    def nograd(f):
        def run():
            with torch.no_grad():
                return f()

        return run

    ref = torch_native().item()
    got = torch_al().item()
    assert abs(got - ref) <= 1e-4 * abs(ref), (got, ref)

    # JAX: (N, T, C) logits and paddings for optax; arrayloss takes torch's layout.
    jl = jnp.asarray(logits)
    jtg, jil, jtl = jnp.asarray(tg), jnp.asarray(il), jnp.asarray(tl)
    tpad = (jnp.arange(T)[None, :] >= jil[:, None]).astype(jnp.float32)
    lpad = (jnp.arange(S)[None, :] >= jtl[:, None]).astype(jnp.float32)

    def jax_al(z):
        return ctc_loss(jax.nn.log_softmax(z, axis=2), jtg, jil, jtl, reduction="sum")

    def jax_optax(z):
        return jnp.sum(optax.ctc_loss(jnp.swapaxes(z, 0, 1), tpad, jtg, lpad))

    fa, fo = jax.jit(jax_al), jax.jit(jax_optax)
    ga, go = jax.jit(jax.grad(jax_al)), jax.jit(jax.grad(jax_optax))
    assert abs(float(fa(jl)) - ref) <= 1e-3 * abs(ref), (float(fa(jl)), ref)
    assert abs(float(fo(jl)) - ref) <= 1e-3 * abs(ref), (float(fo(jl)), ref)

    lp_np = torch.log_softmax(torch.tensor(logits), 2).numpy()

    def numpy_al():
        return ctc_loss(lp_np, tg, il, tl, reduction="sum")

    kw = {"repeat": repeat, "min_time": 0.05, "warmup": 2}
    tt = time_interleaved({"native": nograd(torch_native), "al": nograd(torch_al),
                           "native_g": grad_of(torch_native), "al_g": grad_of(torch_al),
                           "gen": nograd(torch_generic), "gen_g": grad_of(torch_generic),
                           "numpy": numpy_al}, **kw)
    sj = sync_for("jax")
    tj = time_interleaved({"al": lambda: fa(jl), "optax": lambda: fo(jl),
                           "al_g": lambda: ga(jl), "optax_g": lambda: go(jl)}, sync=sj, **kw)
    return [
        ("torch native `F.ctc_loss`", tt["native"], tt["native_g"]),
        ("arrayloss on torch (eager)", tt["al"], tt["al_g"]),
        ("arrayloss on torch, generic path (forced)", tt["gen"], tt["gen_g"]),
        ("arrayloss on NumPy", tt["numpy"], float("nan")),
        ("optax `ctc_loss`, jax.jit", tj["optax"], tj["optax_g"]),
        ("arrayloss on JAX, jax.jit", tj["al"], tj["al_g"]),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one size, fewer repeats")
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    sizes = [(100, 16, 30, 30)] + ([] if args.quick else [(8, 8, 10, 2), (400, 32, 80, 60)])
    lines = [
        "# CTC: arrayloss vs torch's native kernel",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"Python {platform.python_version()}. float32, `reduction='sum'`, gradient w.r.t. the "
        "logits feeding log_softmax. Median of interleaved rounds; ratio = time / torch "
        "native time in the same run (values checked against torch first).",
        "",
    ]
    for T, N, C, S in sizes:
        rows = bench(T, N, C, S, repeat=3 if args.quick else 7)
        nat_f, nat_g = rows[0][1], rows[0][2]
        lines += [
            f"## T={T}, N={N}, C={C}, S={S}",
            "",
            "| implementation | forward ms | ratio | fwd+bwd ms | ratio |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name, f, g in rows:
            gs = "n/a" if g != g else f"{g * 1e3:.3f}"
            gr = "n/a" if g != g else f"{g / nat_g:.2f}x"
            lines.append(f"| {name} | {f * 1e3:.3f} | {f / nat_f:.2f}x | {gs} | {gr} |")
        (_, ox_f, ox_g), (_, al_f, al_g) = rows[-2], rows[-1]
        lines += [
            "",
            f"arrayloss on JAX / optax, both under `jax.jit`: forward {al_f / ox_f:.2f}x, "
            f"forward+backward {al_g / ox_g:.2f}x.",
            "",
        ]
    lines += [
        "On eager torch arrayloss runs torch's CTC kernels: torch's backward kernel returns a "
        "gradient w.r.t. `log_probs` that assumes they came from log_softmax, and arrayloss "
        "subtracts `exp(log_probs) * g` on each sample's frames to return the true "
        "derivative (the same as its generic path's), in a Python backward; the value checks "
        "torch does not make (labels, blanks, lengths) run on every call. The generic path "
        "(compiled or transformed torch, every other backend) is the array-API forward "
        "algorithm: on eager torch each of the T time steps is a handful of small kernel "
        "launches from Python; under `jax.jit` the loop is one `lax.scan`, and the gradient "
        "is the backward (beta) recursion, a second `lax.scan`, in a custom JVP (faster than "
        "autodiff of the scan and of the per-element gather).",
        "",
    ]
    out = ROOT / "benchmarks" / "results" / "ctc.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
