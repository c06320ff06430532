"""Throughput of ``jax.vmap(fo.solve)`` against a hand-fused ``lax.fori_loop``, same process.

Fixed-step gradient descent (explicit Euler) on Himmelblau over a batch of starts, float32
(JAX's default). Both are compiled first, then timed interleaved (one run of each per
round, best of ``--repeat`` rounds) so that a slow spell of the machine hits both alike;
prints start*steps per second for each and their ratio. DESIGN.md says diffrax should be
~1.0x of the fused loop for fixed steps.

    python benchmarks/solve_throughput.py [--starts 65536] [--steps 2000] [--repeat 7]
"""

import argparse
import time

import jax
import jax.numpy as jnp

import flowopt as fo
import schemes


def best_of(fns, repeat=7):
    """Best time of each of ``fns`` over ``repeat`` rounds, run interleaved (one of each
    per round), as benchmarks/basins_throughput.py does; returns the times and each
    function's last output."""
    best, outs = [float("inf")] * len(fns), [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            outs[i] = jax.block_until_ready(fn())
            best[i] = min(best[i], time.perf_counter() - start)
    return best, outs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=65_536)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--dt", type=float, default=1e-3)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    loss = fo.landscapes.Himmelblau()
    flow = fo.flows.GradientFlow(loss)
    x0s = jax.random.uniform(jax.random.key(0), (args.starts, 2), minval=-6.0, maxval=6.0)
    t1 = args.steps * args.dt

    ours = jax.jit(jax.vmap(lambda x0: fo.solve(flow, schemes.Euler(), x0, t1=t1,
                                                 dt0=args.dt).x))
    grad = jax.grad(loss)

    @jax.jit
    def fused(x0s):
        body = lambda _, x: x - args.dt * jax.vmap(grad)(x)
        return jax.lax.fori_loop(0, args.steps, body, x0s)

    work = args.starts * args.steps
    jax.block_until_ready((ours(x0s), fused(x0s)))  # compile both
    (t_ours, t_fused), (x_ours, x_fused) = best_of([lambda: ours(x0s), lambda: fused(x0s)],
                                                   args.repeat)
    diff = float(jnp.max(jnp.abs(x_ours - x_fused)))
    print(f"{args.starts} starts x {args.steps} steps, {jax.devices()[0].platform}, float32")
    print(f"  fo.solve (vmap): {work / t_ours:12.3e} start*steps/s  ({t_ours:.3f} s)")
    print(f"  fused fori_loop: {work / t_fused:12.3e} start*steps/s  ({t_fused:.3f} s)")
    print(f"  ratio fo.solve / fused = {t_fused / t_ours:.2f}x  (max |x diff| {diff:.1e}; "
          f"best of {args.repeat} interleaved)")


if __name__ == "__main__":
    main()
