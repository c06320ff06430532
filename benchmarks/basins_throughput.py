"""Throughput of ``fo.basins`` against a hand-fused loop and scipy, same process.

Fixed-step gradient descent (explicit Euler) on a Himmelblau grid, float32 by default:

* ``fo.basins`` with the budget fixed (``early_stop=False``) and with early stop, both
  including classification;
* a hand-fused ``jax.lax.fori_loop`` Euler over the same grid, fixed budget, no
  classification;
* ``scipy.integrate.solve_ivp`` (RK45) per start on a subset, extrapolated, with a NumPy
  gradient (a jitted JAX gradient per evaluation would time JAX's dispatch, not scipy);
* an energy-controlled map end to end, and the cost of one trial step in the mapper's
  lockstep loop against one step of its fixed-step loop (same lanes, same process).
* a stochastic map (issue 14 item 4: Langevin, 128^2 starts x 16 replicas, Euler-Maruyama
  dt = 1e-2 to t1 = 10) against a hand-fused loop drawing ``jax.random.normal`` per step
  (``--stochastic-n``, 0 skips it).

Prints start*steps per second and the ratios. ``--memory 2048`` instead measures the peak
resident memory of a 2048^2 map in a fresh process.

    python benchmarks/basins_throughput.py [--n 512] [--steps 2000] [--dt 1e-3]
"""

import argparse
import resource
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate

import flowopt as fo
import schemes


def best_of(fns, repeat=7):
    """Best time of each of ``fns`` over ``repeat`` rounds, run interleaved (one of each
    per round), so that a slow spell of the machine hits all of them alike; returns the
    times and each function's last output."""
    best, outs = [float("inf")] * len(fns), [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            outs[i] = fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best, outs

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--dt", type=float, default=1e-3)
    parser.add_argument("--scipy-starts", type=int, default=20)
    parser.add_argument("--memory", type=int, default=0, help="grid side for a memory run")
    parser.add_argument("--stochastic-n", type=int, default=128,
                        help="grid side of the stochastic section (0: skip it)")
    parser.add_argument("--peak-n", type=int, default=1024,
                        help="grid side of the fraction-of-peak section (0: skip it)")
    parser.add_argument("--peak-gflops", type=float, default=78.2,
                        help="the cores' float32 peak: 2 cores x 2.445 GHz x 8 lanes x 2 FMA")
    parser.add_argument("--matched-n", type=int, default=256,
                        help="grid side of the matched-accuracy section (0: skip it)")
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
    energy = lambda: fo.basins(flow, schemes.Euler(), grid, t1=t1, dt0=100 * args.dt,
                               controller=schemes.EnergyController(), chunk=16)
    energy()
    (t_fused, t_fixed, t_early, t_energy), (_, bmap, emap, cmap) = best_of(
        [lambda: jax.block_until_ready(fused(starts)), fixed, early, energy])
    median_steps = float(np.median(emap["steps"].values))

    sub = np.asarray(starts[:: max(1, len(starts) // args.scipy_starts)][: args.scipy_starts])

    def rhs(t, p):  # minus Himmelblau's gradient, in NumPy
        a, b = p[0] ** 2 + p[1] - 11.0, p[0] + p[1] ** 2 - 7.0
        return -np.array([4.0 * p[0] * a + 2.0 * b, 2.0 * a + 4.0 * p[1] * b])
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
          f"({t_scipy:.1f} s extrapolated from {len(sub)} starts; RK45, NumPy "
          "gradient); fo.basins is "
          f"{t_scipy / t_fixed:.0f}x faster")
    same = (bmap["label"].values == emap["label"].values).mean()
    print(f"  labels agree between fixed budget and early stop: {same:.4%}")

    trials = float(cmap["steps"].values.mean())
    print(f"  energy-controlled map (dt0 = {100 * args.dt:g}, EnergyController): "
          f"{t_energy:.3f} s, {trials:.0f} accepted steps per start on average (to the "
          f"step at which it converged); the fixed-budget map "
          f"takes {t_fixed / t_energy:.2f}x as long")
    for name, trial_flow, scheme in (
            ("gradient descent, Euler", flow, schemes.Euler()),
            ("heavy ball (friction 2), semi-implicit Euler",
             fo.flows.HeavyBall(loss, friction=2.0), schemes.SemiImplicitEuler())):
        per_trial, per_step, ran = trial_cost(trial_flow, scheme, starts, args.dt)
        print(f"  {name}: {per_trial:.3f} ns per start*trial in the mapper's lockstep loop "
              f"vs {per_step:.3f} ns per start*step of its fixed-step loop (same "
              f"{len(starts)} lanes; {ran} trials, best of 7 interleaved): "
              f"{per_trial / per_step:.2f}x")
    if args.peak_n:
        peak_fraction(flow, args.peak_n, args.steps, args.dt, args.peak_gflops)
    if args.stochastic_n:
        stochastic(loss, args.stochastic_n)
    if args.matched_n:
        matched_accuracy(loss, args.matched_n)


def peak_fraction(flow, n, steps, dt, peak_gflops, flops_per_step=22, repeat=3):
    """Issue 14 item 6: the early-stop map as users call it (``fo.basins`` on an n^2
    Himmelblau grid, Euler, float32, warm, classification and the Dataset included) in
    useful flops per second: ``flops_per_step`` (one Himmelblau gradient step: ~22 flops)
    times each start's own steps, over the wall time, as a fraction of the cores' peak.
    Also the share of the time spent outside the compiled tile loops."""
    from flowopt.basins import mapper

    grid = fo.Grid(flow.loss.domain, (n, n))
    run = lambda: fo.basins(flow, schemes.Euler(), grid, t1=steps * dt, dt0=dt)
    run()  # compile
    spent = {}
    drive = mapper._drive

    def timed_drive(*a, **k):
        start = time.perf_counter()
        out = drive(*a, **k)
        spent["tiles"] = spent.get("tiles", 0.0) + time.perf_counter() - start
        return out

    best, tiles, bmap = float("inf"), None, None
    mapper._drive = timed_drive
    try:
        for _ in range(repeat):
            spent.clear()
            start = time.perf_counter()
            bmap = run()
            took = time.perf_counter() - start
            if took < best:
                best, tiles = took, spent.get("tiles", 0.0)
    finally:
        mapper._drive = drive
    useful = flops_per_step * float(bmap["steps"].values.sum())
    rate = useful / best / 1e9
    print(f"early-stop map, {n}^2 Himmelblau, Euler dt={dt:g}, t1={steps * dt:g}, float32, "
          f"warm (best of {repeat}): {best:.3f} s, mean {float(bmap['steps'].values.mean()):.0f}"
          f" steps per start; {rate:.2f} GFLOP/s = {rate / peak_gflops:.1%} of the "
          f"{peak_gflops:g} GFLOP/s peak; outside the compiled tile loops: "
          f"{(best - tiles) / best:.0%} of the time")


def stochastic(loss, n, replicas=16, t1=10.0, dt=1e-2, beta=5.0, repeat=3):
    """Issue 14 item 4: a Langevin map (beta = 5, Euler-Maruyama dt = 1e-2 to t1 = 10,
    ``replicas`` per start) against a hand-fused ``fori_loop`` that draws
    ``jax.random.normal(fold_in(key, step))`` for all lanes per step, no classification;
    best of ``repeat`` interleaved. (With diffrax's UnsafeBrownianPath the map ran 5x
    slower than this loop; the mapper's StepBrownianPath hashes once per two numbers.)"""
    flow = fo.flows.Langevin(loss, beta=beta)
    grid = fo.Grid(loss.domain, (n, n))
    steps = round(t1 / dt)
    x0s = jnp.asarray(np.repeat(grid.points().reshape(-1, 2), replicas, 0), jnp.float32)
    grad = jax.vmap(jax.grad(loss))
    scale = float(np.sqrt(2 * dt / beta))
    key = jax.random.key(0)

    @jax.jit
    def fused(x):
        return jax.lax.fori_loop(0, steps, lambda i, x: x - dt * grad(x) + scale * jax.random
                                 .normal(jax.random.fold_in(key, i), x.shape, x.dtype), x)

    run_fused = lambda: jax.block_until_ready(fused(x0s))
    run_map = lambda: fo.basins(flow, schemes.Euler(), grid, t1=t1, dt0=dt,
                                replicas=replicas, key=key)
    run_fused(), run_map()  # compile
    (t_fused, t_map), _ = best_of([run_fused, run_map], repeat)
    work = len(x0s) * steps
    print(f"{n}^2 Himmelblau starts x {replicas} replicas x {steps} Euler-Maruyama steps, "
          f"Langevin beta={beta:g}, dt={dt:g} (best of {repeat} interleaved)")
    print(f"  hand-fused fori_loop + jax.random.normal: {work / t_fused:10.3e} "
          f"start*steps/s  ({t_fused:.3f} s)")
    print(f"  fo.basins (classification included):     {work / t_map:10.3e} "
          f"start*steps/s  ({t_map:.3f} s)  map time / fused time = {t_map / t_fused:.2f}")


def matched_accuracy(loss, n, t1=20.0, target=0.9995, repeat=3):
    """Issue 14 item 3: maps of the same accuracy, in one process, float64. Agreement
    (share of starts with the same label) with a refined reference (Euler dt 1e-4) of
    (a) fixed-step Euler at the largest step of 1e-2, 5e-3, 2e-3, 1e-3, 5e-4 that reaches
    ``target``; (b) Tsit5 + PIDController (rtol 1e-5 and 1e-6, atol = rtol / 1000) in
    lockstep, at the map's tol (1e-6: an explicit scheme at its stability limit keeps
    |grad f| near 1e-4, so starts stop once within the controller's resolution,
    flowopt.solve.resolved) and at tol 1e-3; (c) the previous path, one vmapped fo.solve
    per start (mapper._solve_tile; same stopping rule), rtol 1e-6, timed once; (d) the
    energy-controlled map (Euler, dt0 = 0.1). Times: best of ``repeat``, interleaved,
    compiled first."""
    import diffrax

    from flowopt.basins import mapper

    flow = fo.flows.GradientFlow(loss)
    grid = fo.Grid(loss.domain, (n, n))
    with jax.enable_x64(True):
        ref = fo.basins(flow, schemes.Euler(), grid, t1=t1, dt0=1e-4)["label"].values
        agree = lambda m: float((m["label"].values == ref).mean())
        euler = lambda dt: (lambda: fo.basins(flow, schemes.Euler(), grid, t1=t1, dt0=dt))
        for dt in (1e-2, 5e-3, 2e-3, 1e-3, 5e-4):
            if agree(euler(dt)()) >= target:
                break
        pid = lambda rtol, tol=None: (lambda: fo.basins(
            flow, diffrax.Tsit5(), grid, t1=t1, dt0=1e-2, tol=tol,
            controller=diffrax.PIDController(rtol=rtol, atol=rtol * 1e-3)))
        runs = {f"(a) Euler dt {dt:g}": euler(dt),
                "(b) Tsit5 + PID rtol 1e-5": pid(1e-5),
                "(b) Tsit5 + PID rtol 1e-6": pid(1e-6),
                "(b) Tsit5 + PID rtol 1e-5, tol 1e-3": pid(1e-5, 1e-3),
                "(b) Tsit5 + PID rtol 1e-6, tol 1e-3": pid(1e-6, 1e-3),
                "(d) energy-controlled Euler, dt0 0.1": lambda: fo.basins(
                    flow, schemes.Euler(), grid, t1=t1, dt0=0.1,
                    controller=schemes.EnergyController())}
        for fn in runs.values():
            fn()  # compile
        times, maps = best_of(list(runs.values()), repeat)
        lockstep = mapper._lockstep
        mapper._lockstep = lambda controller, noisy: False  # (c): one fo.solve per start
        try:
            old = pid(1e-6)
            old()
            start = time.perf_counter()
            old_map = old()
            times.append(time.perf_counter() - start)
        finally:
            mapper._lockstep = lockstep
        runs["(c) per-start vmapped solves, rtol 1e-6"] = old
        maps.append(old_map)
    print(f"matched accuracy: {n}^2 Himmelblau gradient flow, t1 = {t1:g}, float64; "
          "agreement with Euler dt 1e-4")
    base = times[0]
    for (name, _), t, m in zip(runs.items(), times, maps):
        print(f"  {name:42s} {agree(m):9.4%}  {t:7.3f} s  {t / base:6.2f}x (a)  "
              f"mean accepted steps {m['steps'].values.mean():7.1f}")


def trial_cost(flow, scheme, starts, dt, count=256, repeat=7):
    """Cost of the mapper's two compiled chunk loops on the same lanes: one
    energy-controlled trial (step, verdict, bookkeeping) against one fixed step, both in
    chunks of 64 (the default) with their convergence checks. No lane
    converges (tol = 0); the lockstep loop stops early once every lane is stuck at the
    controller's step floor, so its cost is divided by the trials it actually ran (all
    lanes pay for every trial in lockstep). Returns ns per lane per trial, per lane per
    step, and the number of trials run."""
    from flowopt.basins.mapper import _Stepper, controlled_runner
    from flowopt.solve import _step_clock

    n = len(starts)
    center = jnp.zeros(2)
    controlled = controlled_runner(flow, scheme, schemes.EnergyController(), center, 0.0, 1e9,
                                   100 * dt, 64)
    clock, _ = _step_clock(0.0, 1e9, dt, jnp.result_type(float))
    clock = eqx.tree_at(lambda c: c.t0, clock, 0.0)  # as fo.basins (an array step)
    fixed = _Stepper(flow, scheme, clock, center, 0.0, 64, False, None,
                     jnp.zeros((), jnp.result_type(float)))
    active, zero = jnp.ones(n, bool), jnp.zeros(n, jnp.int32)

    def runner(r, keys):
        lanes = r.start(starts, keys, jnp.full(n, 1e3, starts.dtype))
        run = lambda: jax.block_until_ready(r.advance(
            lanes, active, zero, zero, jnp.asarray(0), jnp.asarray(count), jnp.asarray(0)))
        return run, int(run()[-1])  # the trials/steps it ran

    (run_c, ran_c), (run_f, ran_f) = runner(controlled, None), runner(
        fixed, jnp.zeros(n, jnp.uint32))
    (t_c, t_f), _ = best_of([run_c, run_f], repeat)
    return t_c / (n * ran_c) * 1e9, t_f / (n * ran_f) * 1e9, ran_c


if __name__ == "__main__":
    main()
