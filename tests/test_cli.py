"""The ``flowopt`` command end to end, in subprocesses: every command's help, a small map
written to a store and a PNG, ``show`` on it, a TOML run, and the errors a user can act
on (one ``Error:`` line naming the argument, file or field; exit code 2 or 1)."""

import concurrent.futures
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import flowopt as fo

COMMANDS = ["basins", "compare", "sweep", "trajectories", "show", "run"]
ENV = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONWARNINGS": "ignore"}


def flowopt(*args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "flowopt.cli", *map(str, args)], cwd=cwd,
                          env=ENV, capture_output=True, text=True, timeout=timeout)


HELP = """
import sys
from flowopt.cli import main
for name in sys.argv[1:]:
    print("=====", name)
    main([name, "--help"])
"""


def _blocks(text):
    """The option entries of a help text: option -> its whole entry (wrapped lines)."""
    blocks, current = {}, None
    for line in text.splitlines():
        if line.startswith("  -"):
            current = max(line.split()[0].rstrip(",").split("/"), key=len)
            for word in line.split():
                if word.startswith("--"):
                    current = word.rstrip(",")
                    break
            blocks[current] = line
        elif current is not None and line.startswith("   "):
            blocks[current] += " " + line.strip()
        else:
            current = None
    return blocks


def test_help_explains_every_option_with_its_default(tmp_path):
    from flowopt.cli import cli

    # the console script itself, then every command's help in one interpreter
    script = os.path.join(os.path.dirname(sys.executable), "flowopt")
    top = subprocess.run([script if os.path.exists(script) else "flowopt", "--help"],
                         env=ENV, capture_output=True, text=True, timeout=60)
    assert top.returncode == 0 and all(c in top.stdout for c in COMMANDS)
    out = subprocess.run([sys.executable, "-c", HELP, *COMMANDS], cwd=tmp_path, env=ENV,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    texts = dict(zip(COMMANDS, out.stdout.split("=====")[1:]))
    for name, text in texts.items():
        assert text.startswith(f" {name}\nUsage: flowopt {name}")
        blocks = _blocks(text)
        for p in cli.commands[name].params:
            if p.param_type_name == "argument":
                assert p.name.upper() in text
            elif p.name != "help":
                opt = max(p.opts, key=len)
                assert opt in blocks, f"flowopt {name} --help does not explain {opt}"
                assert "default" in blocks[opt], f"flowopt {name} --help: {opt} names no default"


def _png(path):
    import matplotlib.image

    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
    assert np.unique(img.reshape(-1, img.shape[-1]), axis=0).shape[0] > 20  # not blank
    return img


def test_basins_writes_store_and_figure_then_show_and_toml(tmp_path):
    out = flowopt("basins", "--n", 32, "--out", "m/map.zarr", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "m/map.zarr").is_dir()
    _png(tmp_path / "m/map.png")
    fractions = [ln for ln in out.stdout.splitlines() if "min 0" in ln]
    assert fractions and "boundary fraction" in out.stdout and "capture radius" in out.stdout

    shown = flowopt("show", "m/map.zarr", "--figure", "shown.png", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert fractions[0] in shown.stdout  # the stored map reports what was computed
    _png(tmp_path / "shown.png")

    again = flowopt("basins", "--n", 32, "--out", "m/map.zarr", "--quiet", cwd=tmp_path)
    assert again.returncode == 1 and "--overwrite" in again.stderr

    # a TOML run over the same store, with a loss of the user's own (imported by path)
    (tmp_path / "mylosses.py").write_text(
        "import jax.numpy as jnp\n\ndef bowl(x):\n    return jnp.sum((x**2 - 1.0)**2)\n")
    (tmp_path / "run.toml").write_text(
        'command = "basins"\nloss = "mylosses:bowl"\nbounds = [-2, 2, -2, 2]\n'
        'flow = "heavy-ball"\nparam = {friction = 2.0}\nscheme = "semi-implicit-euler"\n'
        'shape = [24, 16]\nt1 = 20\nout = "m/map.zarr"\noverwrite = true\nquiet = true\n')
    run = flowopt("run", "run.toml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    bmap = fo.open_basins(tmp_path / "m/map.zarr")
    assert bmap["label"].shape == (16, 24) and bmap.sizes["attractor"] == 4


ERRORS = {  # args, files, exit code, what the one error line must say
    "landscape": (["basins", "--landscape", "himmelbla"], {}, 2,
                  ["--landscape", "himmelbla", "himmelblau, ", "six-hump-camel"]),
    "flow": (["basins", "--flow", "adamw"], {}, 2, ["--flow", "adamw", "heavy-ball"]),
    "param": (["basins", "--flow", "heavy-ball", "--param", "frict=0.5"], {}, 2,
              ["--param", "frict", "friction (number, default 1.0)"]),
    "param type": (["basins", "--flow", "heavy-ball", "--param", "friction=fast"], {}, 2,
                   ["--param", "friction", "number"]),
    "bounds": (["basins", "--bounds", "6,-6,-6,6"], {}, 2, ["--bounds", "reversed"]),
    "mismatch": (["basins", "--n", 8, "--scheme", "velocity-verlet", "--quiet"], {}, 1,
                 ["scheme=VelocityVerlet()", "second-order", "GradientFlow"]),
    "toml field": (["run", "c.toml"], {"c.toml": 'command = "basins"\nn = 8\nfriction = 1\n'},
                   2, ["c.toml", "'friction'", "valid fields", "param"]),
    "toml type": (["run", "c.toml"], {"c.toml": 'command = "basins"\nn = "eight"\n'}, 2,
                  ["c.toml", "'n'", "an integer", "'eight'"]),
    "toml command": (["run", "c.toml"], {"c.toml": 'command = "basin"\n'}, 2,
                     ["c.toml", "'command'", "'basins'"]),
    "toml value": (["run", "c.toml"], {"c.toml": 'command = "basins"\nbounds = [1, 0, 0, 1]\n'},
                   2, ["c.toml", "'bounds'", "reversed"]),
}


@pytest.mark.slow  # 29 s (a subprocess per error): the default suite keeps under 15 min
def test_errors_name_what_to_fix(tmp_path):
    def attempt(case):
        args, files, _, _ = ERRORS[case]
        folder = tmp_path / case.replace(" ", "_")
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
        return flowopt(*args, cwd=folder, timeout=90), folder

    with concurrent.futures.ThreadPoolExecutor(3) as pool:  # each run is mostly imports
        results = dict(zip(ERRORS, pool.map(attempt, ERRORS)))
    for case, (out, folder) in results.items():
        _, _, code, says = ERRORS[case]
        err = out.stderr.strip()
        assert out.returncode == code, f"{case}: {err}"
        assert err.startswith("Error: ") and len(err.splitlines()) == 1, f"{case}: {err}"
        for s in says:
            assert s in err, f"{case}: {s!r} not in {err!r}"
        assert not any(folder.glob("flowopt-out/*")), f"{case}: wrote output"


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                    reason="needs flowopt[cluster]")
def test_unreachable_scheduler_is_a_clear_error_without_hanging(tmp_path):
    out = flowopt("basins", "--n", 8, "--scheduler", "tcp://127.0.0.1:9",
                  "--scheduler-timeout", 1, cwd=tmp_path, timeout=60)
    err = out.stderr.strip().splitlines()
    assert out.returncode == 1 and err[-1].startswith("Error: cannot reach the Dask scheduler")
    assert "tcp://127.0.0.1:9" in err[-1]


@pytest.mark.slow
def test_basins_on_a_local_dask_cluster_equals_in_process(tmp_path):
    """`--workers 2` maps on a local Dask cluster (about 12 s to start here): the stored map
    equals the in-process one in every variable."""
    pytest.importorskip("distributed")
    here = flowopt("basins", "--n", 48, "--out", "here.zarr", "--quiet", cwd=tmp_path)
    there = flowopt("basins", "--n", 48, "--out", "there.zarr", "--workers", 2, "--quiet",
                    cwd=tmp_path)
    assert here.returncode == 0 and there.returncode == 0, there.stderr
    a, b = (fo.open_basins(tmp_path / p) for p in ("here.zarr", "there.zarr"))
    for name in list(a.data_vars) + list(a.coords):
        assert np.array_equal(a[name].values, b[name].values,
                              equal_nan=a[name].dtype.kind == "f"), name


CACHE_PROBE = """
import sys, jax
seconds = [0.0]
jax.monitoring.register_event_duration_secs_listener(
    lambda event, duration, **kw: seconds.__setitem__(0, seconds[0] + duration)
    if "backend_compile" in event else None)
from flowopt.cli import main
code = main(["basins", "--n", "32", "--out", sys.argv[1], "--quiet"])
print(f"COMPILE {seconds[0]:.3f}")
sys.exit(code)
"""


def test_a_second_process_does_not_compile_again(tmp_path):
    """The command turns on JAX's persistent compilation cache (FLOWOPT_CACHE_DIR): the
    second process spends under a second compiling."""
    env = {**ENV, "FLOWOPT_CACHE_DIR": str(tmp_path / "cache")}
    took = []
    for name in ("a.zarr", "b.zarr"):
        run = subprocess.run([sys.executable, "-c", CACHE_PROBE, str(tmp_path / name)],
                             capture_output=True, text=True, env=env, timeout=300)
        assert run.returncode == 0, run.stderr
        took.append(float(run.stdout.split("COMPILE")[-1]))
    assert any((tmp_path / "cache").iterdir())
    assert took[1] < 1.0 and took[1] < took[0] / 3, took
