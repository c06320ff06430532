"""The README's tour runs, and its commands are the ones CI uses."""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_tour_runs():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) >= 5
    namespace = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)


def test_readme_starts_with_the_two_commands():
    commands = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)
    assert commands[0].endswith("pip install -e '.[plot]' && flowopt basins")
    assert commands[1].endswith("python -m pytest")
    assert "pip install -e '.[test]'" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "test-command" in ci


def test_main_job_writes_its_figures(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "flowopt", "--out", str(out), "--t1", "5",
                          "--n", "48"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "boundary fraction" in run.stdout and "min 0" in run.stdout
    for name in ("basins.png", "compare.png"):
        assert (out / name).stat().st_size > 20_000


def test_first_command_with_its_defaults_writes_a_store_and_a_figure(tmp_path):
    """`flowopt basins` alone (the README's first command): a 256 x 256 map, well under
    the 2 minutes allowed on 2 cores."""
    import time

    import flowopt as fo

    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "flowopt.cli", "basins", "--quiet"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    took = time.perf_counter() - start
    assert run.returncode == 0, run.stderr
    assert took < 120, f"flowopt basins took {took:.0f} s"
    bmap = fo.open_basins(tmp_path / "flowopt-out" / "basins.zarr")
    assert bmap["label"].shape == (256, 256) and bmap.sizes["attractor"] == 4
    assert (tmp_path / "flowopt-out" / "basins.png").stat().st_size > 20_000


@pytest.mark.parametrize("argv", [["--t1", "-1"]])
def test_main_job_rejects_bad_arguments(argv, tmp_path):
    run = subprocess.run([sys.executable, "-m", "flowopt", "--out", str(tmp_path), *argv],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "t1" in run.stderr
