"""Fixed-step Euler–Maruyama: what fo.solve uses (UnsafeBrownianPath) against
VirtualBrownianTree, same process, same problem (DESIGN.md measured ~30x).

    python benchmarks/brownian_paths.py [--starts 4096] [--steps 1000]
"""

import argparse
import time

import diffrax
import jax

import flowopt as fo
import schemes


def timed(fn, *args):
    jax.block_until_ready(fn(*args))
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args(argv)
    flow = fo.flows.Langevin(fo.landscapes.Himmelblau(), beta=2.0)
    x0s = jax.random.uniform(jax.random.key(0), (args.starts, 2), minval=-5.0, maxval=5.0)
    dt, t1 = 1e-3, args.steps * 1e-3

    ours = jax.jit(lambda x: fo.solve_batch(flow, schemes.Euler(), x, key=jax.random.key(1),
                                            t1=t1, dt0=dt).x)

    def tree_one(x0, key):
        bm = diffrax.VirtualBrownianTree(0.0, t1, tol=dt / 2, shape=(2,), key=key)
        terms = diffrax.MultiTerm(diffrax.ODETerm(lambda t, y, a: flow.drift(t, y, a)),
                                  schemes.DiagonalNoiseTerm(flow.diffusion, bm))
        return diffrax.diffeqsolve(terms, schemes.Euler(), 0.0, t1, dt, x0,
                                   max_steps=args.steps + 1).ys[-1]

    keys = jax.random.split(jax.random.key(1), args.starts)
    tree = jax.jit(jax.vmap(tree_one))
    t_ours, t_tree = timed(ours, x0s), timed(tree, x0s, keys)
    work = args.starts * args.steps
    print(f"{args.starts} Langevin paths x {args.steps} Euler–Maruyama steps, float32")
    print(f"  fo.solve (UnsafeBrownianPath): {work / t_ours:10.3e} path*steps/s ({t_ours:.3f} s)")
    print(f"  VirtualBrownianTree:           {work / t_tree:10.3e} path*steps/s ({t_tree:.3f} s)")
    print(f"  speed-up {t_tree / t_ours:.1f}x")


if __name__ == "__main__":
    main()
