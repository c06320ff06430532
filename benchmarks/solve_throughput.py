"""Throughput of ``jax.vmap(fo.solve)`` against a hand-fused ``lax.fori_loop``, same process.

Fixed-step gradient descent (explicit Euler) on Himmelblau over a batch of starts, float32
(JAX's default). Prints start*steps per second for each and their ratio; DESIGN.md says
diffrax should be ~1.0x of the fused loop for fixed steps.

    python benchmarks/solve_throughput.py [--starts 65536] [--steps 2000]
"""

import argparse
import time

import jax
import jax.numpy as jnp

import flowopt as fo
import schemes


def timed(fn, *args, repeat=3):
    jax.block_until_ready(fn(*args))  # compile
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=65_536)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--dt", type=float, default=1e-3)
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
    t_ours, t_fused = timed(ours, x0s), timed(fused, x0s)
    diff = float(jnp.max(jnp.abs(ours(x0s) - fused(x0s))))
    print(f"{args.starts} starts x {args.steps} steps, {jax.devices()[0].platform}, float32")
    print(f"  fo.solve (vmap): {work / t_ours:12.3e} start*steps/s  ({t_ours:.3f} s)")
    print(f"  fused fori_loop: {work / t_fused:12.3e} start*steps/s  ({t_fused:.3f} s)")
    print(f"  ratio fo.solve / fused = {t_fused / t_ours:.2f}x  (max |x diff| {diff:.1e})")


if __name__ == "__main__":
    main()
