"""Every study of studies/ in its quick mode: one parametrized test runs
``main(["--quick", "--out", tmp])`` and checks the study's key numbers in result.json
with the study's own ``check(result)`` function (in the study's module, beside the code
that makes the numbers). Every ``studies/*.py`` module must have ``main`` and ``check``.
"""

import json
import pathlib

import pytest

STUDIES = sorted(p.stem for p in (pathlib.Path(__file__).parent.parent / "studies").glob("*.py")
                 if not p.stem.startswith("_"))


def test_studies_exist():
    assert len(STUDIES) >= 2, STUDIES


@pytest.mark.parametrize("name", STUDIES)
def test_study_quick(name, tmp_path):
    import importlib
    module = importlib.import_module(f"studies.{name}")
    assert callable(getattr(module, "check", None)), f"studies/{name}.py needs check(result)"
    module.main(["--quick", "--out", str(tmp_path)])
    with open(tmp_path / "result.json") as f:
        result = json.load(f)
    module.check(result)
    assert list(tmp_path.glob("*.png")), "every study saves its figures as PNG"
