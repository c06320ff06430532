"""Every study of studies/ in its quick mode: ``python -m studies.<name> --quick --out DIR``
in a fresh process, then the study's key numbers in DIR/result.json are checked with the
study's own ``check(result)`` function (in the study's module, beside the code that makes
the numbers). Every ``studies/*.py`` module must have ``main`` and ``check``.

The selected studies run as subprocesses two at a time (the CI machine has 2 cores and a
quick study is mostly JAX compilation, one core each), all before the first check: the
default suite has a 15-minute budget. A fresh process per study also keeps one study's
JAX configuration from reaching the others or the rest of the suite.
"""

import concurrent.futures
import importlib
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).parent.parent
STUDIES = sorted(p.stem for p in (ROOT / "studies").glob("*.py") if not p.stem.startswith("_"))
WORKERS = 2


def test_studies_exist():
    assert len(STUDIES) >= 2, STUDIES


def _run(name, out):
    start = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, "-m", f"studies.{name}", "--quick", "--out",
                           str(out)], cwd=ROOT, env=env, capture_output=True, text=True)
    return proc.returncode, proc.stdout[-4000:] + proc.stderr[-8000:], \
        time.perf_counter() - start


@pytest.fixture(scope="session")
def quick_runs(request, tmp_path_factory):
    """{name: (returncode, output tail, seconds, out dir)} for every study selected in
    this session, run WORKERS at a time."""
    selected = sorted({item.callspec.params["name"] for item in request.session.items
                       if getattr(item, "originalname", None) == "test_study_quick"})
    base = tmp_path_factory.mktemp("studies")
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futures = {name: pool.submit(_run, name, base / name) for name in selected}
        return {name: (*f.result(), base / name) for name, f in futures.items()}


@pytest.mark.parametrize("name", STUDIES)
def test_study_quick(name, quick_runs):
    module = importlib.import_module(f"studies.{name}")
    assert callable(getattr(module, "check", None)), f"studies/{name}.py needs check(result)"
    code, output, seconds, out = quick_runs[name]
    print(f"{name} --quick: {seconds:.1f} s")
    assert code == 0, f"studies.{name} --quick failed:\n{output}"
    with open(out / "result.json") as f:
        result = json.load(f)
    module.check(result)
    assert list(out.glob("*.png")), "every study saves its figures as PNG"
