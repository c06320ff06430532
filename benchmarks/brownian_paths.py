"""Fixed-step Euler–Maruyama under three Brownian paths, same process, same problem:
what fo.solve uses (diffrax's UnsafeBrownianPath), VirtualBrownianTree, and the mapper's
counter-based ``schemes.noise.StepBrownianPath``. Each is compiled first, then timed
interleaved (one run of each per round, best of ``--repeat`` rounds).

Measured on the development machine (2 cores, XLA:CPU, float32, the defaults: 4096 paths
x 1000 steps, best of 5 interleaved; two runs): UnsafeBrownianPath 1.19-1.20e7
path*steps/s, VirtualBrownianTree 5.7e5 (20.8-21.2x the time), StepBrownianPath 6.8-7.3e7
(5.7-6.1x the speed of UnsafeBrownianPath). Other machines and loads differ: rerun.

    python benchmarks/brownian_paths.py [--starts 4096] [--steps 1000] [--repeat 5]
"""

import argparse
import time

import diffrax
import jax
import jax.numpy as jnp

import flowopt as fo
import schemes
from schemes.noise import StepBrownianPath


def best_of(fns, repeat=5):
    """Best time of each of ``fns`` over ``repeat`` rounds, run interleaved (one of each
    per round), as benchmarks/basins_throughput.py does."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            jax.block_until_ready(fn())
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    flow = fo.flows.Langevin(fo.landscapes.Himmelblau(), beta=2.0)
    x0s = jax.random.uniform(jax.random.key(0), (args.starts, 2), minval=-5.0, maxval=5.0)
    dt, t1 = 1e-3, args.steps * 1e-3

    ours = jax.jit(lambda x: fo.solve_batch(flow, schemes.Euler(), x, key=jax.random.key(1),
                                            t1=t1, dt0=dt).x)

    def one(x0, bm):
        terms = diffrax.MultiTerm(diffrax.ODETerm(lambda t, y, a: flow.drift(t, y, a)),
                                  schemes.DiagonalNoiseTerm(flow.diffusion, bm))
        return diffrax.diffeqsolve(terms, schemes.Euler(), 0.0, t1, dt, x0,
                                   max_steps=args.steps + 1).ys[-1]

    shape = jax.ShapeDtypeStruct((2,), jnp.float32)
    tree = jax.jit(jax.vmap(lambda x0, key: one(x0, diffrax.VirtualBrownianTree(
        0.0, t1, tol=dt / 2, shape=shape, key=key))))
    step = jax.jit(jax.vmap(lambda x0, key: one(x0, StepBrownianPath(shape, key))))
    keys = jax.random.split(jax.random.key(1), args.starts)
    runs = [lambda: ours(x0s), lambda: tree(x0s, keys), lambda: step(x0s, keys)]
    jax.block_until_ready([run() for run in runs])  # compile
    t_ours, t_tree, t_step = best_of(runs, args.repeat)
    work = args.starts * args.steps
    print(f"{args.starts} Langevin paths x {args.steps} Euler–Maruyama steps, float32, "
          f"best of {args.repeat} interleaved")
    print(f"  fo.solve (UnsafeBrownianPath): {work / t_ours:10.3e} path*steps/s ({t_ours:.3f} s)")
    print(f"  VirtualBrownianTree:           {work / t_tree:10.3e} path*steps/s ({t_tree:.3f} s)"
          f"  {t_tree / t_ours:.1f}x the time of UnsafeBrownianPath")
    print(f"  StepBrownianPath (the mapper): {work / t_step:10.3e} path*steps/s ({t_step:.3f} s)"
          f"  {t_ours / t_step:.1f}x the speed of UnsafeBrownianPath")


if __name__ == "__main__":
    main()
