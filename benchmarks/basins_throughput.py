"""Throughput of ``fo.basins`` against a hand-fused loop and scipy, same process.

Fixed-step gradient descent (explicit Euler) on a Himmelblau grid, float32 by default:

* ``fo.basins`` with the budget fixed (``early_stop=False``) and with early stop, both
  including classification;
* a hand-fused ``jax.lax.fori_loop`` Euler over the same grid, fixed budget, no
  classification;
* ``scipy.integrate.solve_ivp`` (RK45) per start on a subset, extrapolated;
* an energy-controlled map: cost per trial step against a fixed step's.

Prints start*steps per second and the ratios. ``--memory 2048`` instead measures the peak
resident memory of a 2048^2 map in a fresh process.

    python benchmarks/basins_throughput.py [--n 512] [--steps 2000] [--dt 1e-3]
"""

import argparse
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate

import flowopt as fo
import schemes


def best_of(fn, repeat=3):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--dt", type=float, default=1e-3)
    parser.add_argument("--scipy-starts", type=int, default=20)
    parser.add_argument("--memory", type=int, default=0, help="grid side for a memory run")
    args = parser.parse_args(argv)
    loss = fo.landscapes.Himmelblau()
    flow = fo.flows.GradientFlow(loss)
    grid = fo.Grid(loss.domain, (args.n, args.n))
    t1 = args.steps * args.dt
    if args.memory:
        fo.basins(flow, schemes.Euler(), fo.Grid(loss.domain, args.memory), t1=t1,
                  dt0=args.dt)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"peak resident memory of a {args.memory}^2 map: {peak:.2f} GiB")
        return
    starts = jnp.asarray(grid.points().reshape(-1, 2), jnp.float32)
    work = len(starts) * args.steps

    grad = jax.grad(loss)

    @jax.jit
    def fused(x):
        return jax.lax.fori_loop(0, args.steps, lambda _, x: x - args.dt * jax.vmap(grad)(x), x)

    fixed = lambda: fo.basins(flow, schemes.Euler(), grid, t1=t1, dt0=args.dt,
                              early_stop=False)
    early = lambda: fo.basins(flow, schemes.Euler(), grid, t1=t1, dt0=args.dt)
    jax.block_until_ready(fused(starts))
    fixed(), early()  # compile
    t_fused, _ = best_of(lambda: jax.block_until_ready(fused(starts)))
    t_fixed, bmap = best_of(fixed)
    t_early, emap = best_of(early)
    median_steps = float(np.median(emap["steps"].values))

    sub = np.asarray(starts[:: max(1, len(starts) // args.scipy_starts)][: args.scipy_starts])
    grad_np = jax.jit(grad)
    rhs = lambda t, x: -np.asarray(grad_np(jnp.asarray(x, jnp.float32)), float)
    start = time.perf_counter()
    for x0 in sub:
        scipy.integrate.solve_ivp(rhs, (0, t1), x0, rtol=1e-6, atol=1e-9)
    t_scipy = (time.perf_counter() - start) / len(sub) * len(starts)

    print(f"{args.n}^2 Himmelblau starts x {args.steps} Euler GD steps (dt={args.dt}), "
          f"{jax.devices()[0].platform}, {jnp.result_type(float)}")
    print(f"  hand-fused fori_loop:      {work / t_fused:10.3e} start*steps/s  ({t_fused:.3f} s)")
    print(f"  fo.basins, fixed budget:   {work / t_fixed:10.3e} start*steps/s  ({t_fixed:.3f} s)"
          f"  ratio {t_fused / t_fixed:.2f}x of fused (classification included)")
    print(f"  fo.basins, early stop:     {t_early:.3f} s, median start converged at "
          f"{median_steps:.0f} of {args.steps} steps; {t_fused / t_early:.2f}x the fused "
          "loop's speed")
    print(f"  scipy solve_ivp per start: {work / t_scipy:10.3e} start*steps/s  "
          f"({t_scipy:.1f} s extrapolated from {len(sub)} starts); fo.basins is "
          f"{t_scipy / t_fixed:.0f}x faster")
    same = (bmap["label"].values == emap["label"].values).mean()
    print(f"  labels agree between fixed budget and early stop: {same:.4%}")

    energy = lambda: fo.basins(flow, schemes.Euler(), grid, t1=t1, dt0=100 * args.dt,
                               controller=schemes.EnergyController(), chunk=16)
    energy()
    t_energy, cmap = best_of(energy, repeat=2)
    trials = float(cmap["steps"].values.sum())
    per_trial, per_step = t_energy / trials, t_fixed / work
    print(f"  energy-controlled map (dt0 = {100 * args.dt:g}): {trials:.3g} trials in "
          f"{t_energy:.3f} s, {per_trial * 1e9:.2f} ns per start*trial vs "
          f"{per_step * 1e9:.2f} ns per fixed start*step: {per_trial / per_step:.1f}x")


if __name__ == "__main__":
    main()
