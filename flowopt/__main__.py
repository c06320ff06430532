"""``python -m flowopt``: the main job on built-in defaults.

Until the basin mapper lands this compares optimizer flows and schemes on Himmelblau's
function from several starts: where each ends, how many steps it took, whether it
diverged, and a figure of the trajectories and energies.
"""

import argparse
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import schemes

from . import flows, landscapes, plot
from .solve import solve

STARTS = np.array([[-0.5, -0.5], [0.0, 4.5], [-5.0, 0.5], [4.5, -4.5], [1.0, -2.5]])


def runs(loss, t1):
    """(label, flow, scheme, options) of the comparison."""
    return [
        ("GD, Euler dt=1e-2", flows.GradientFlow(loss), schemes.Euler(), dict(dt0=1e-2)),
        ("GD, Euler dt=1.6e-2 (near instability)", flows.GradientFlow(loss), schemes.Euler(),
         dict(dt0=1.6e-2)),
        ("GD, energy-controlled, dt0=1", flows.GradientFlow(loss), schemes.Euler(),
         dict(dt0=1.0, controller=schemes.EnergyController())),
        ("heavy ball γ=2, semi-implicit Euler", flows.HeavyBall(loss, friction=2.0),
         schemes.SemiImplicitEuler(), dict(dt0=1e-2)),
        ("heavy ball γ=2, velocity Verlet", flows.HeavyBall(loss, friction=2.0),
         schemes.VelocityVerlet(), dict(dt0=1e-2)),
        ("Adam (optax lr=0.05)", flows.Adam.from_optax(loss, learning_rate=0.05),
         schemes.SemiImplicitEuler(), dict(dt0=0.05)),
    ]


def nearest_minimum(loss, x, tol=1e-3):
    if not np.all(np.isfinite(x)) or np.any(np.abs(x) > 1e6):
        return "diverged"
    dist = np.linalg.norm(loss.minima - x, axis=1)
    i = int(np.argmin(dist))
    return f"minimum {i} {np.round(loss.minima[i], 3).tolist()}" if dist[i] < tol else \
        f"not converged (at {np.round(x, 3).tolist()})"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m flowopt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="flowopt-out", help="folder for the figure")
    parser.add_argument("--t1", type=float, default=20.0, help="physical end time")
    args = parser.parse_args(argv)
    if not args.t1 > 0:
        parser.error(f"--t1 must be > 0 (got {args.t1})")
    jax.config.update("jax_enable_x64", True)
    loss = landscapes.Himmelblau()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"flowopt: {len(runs(loss, args.t1))} flow/scheme pairs x {len(STARTS)} starts on "
          f"Himmelblau, t1 = {args.t1}")
    results = {}
    start = time.perf_counter()
    for label, flow, scheme, opts in runs(loss, args.t1):
        sols = [solve(flow, scheme, jnp.asarray(x0), t1=args.t1, saveat="steps",
                      max_steps=4096, **opts) for x0 in STARTS]
        results[label] = sols
        print(f"\n{label}")
        for x0, sol in zip(STARTS, sols):
            print(f"  from {x0.tolist()!s:13} -> {nearest_minimum(loss, np.asarray(sol.x)):38}"
                  f" steps {int(sol.stats['num_accepted_steps']):5d}"
                  f" (+{int(sol.stats['num_rejected_steps'])} rejected)  {sol.status[:40]}")
    fig = plot.trajectory_grid(loss, results)
    fig.suptitle("Himmelblau: the same starts under different flows and schemes "
                 "(dot: start, cross: end, stars: minima)", y=1.0)
    fig.savefig(out / "trajectories.png", dpi=110, bbox_inches="tight")
    plt = plot._pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    plot.energies(results, ax=ax, reference=float(loss.minima_values.min()))
    ax.set_title("Energy (loss + kinetic part) above the global minimum value f*")
    fig.tight_layout()
    fig.savefig(out / "energies.png", dpi=110)
    print(f"\nfigures: {out / 'trajectories.png'}, {out / 'energies.png'}  "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
