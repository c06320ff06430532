"""Every study of studies/ in its quick mode: one parametrized test runs
``main(["--quick", "--out", tmp])`` and checks the study's key numbers in result.json
with the study's check function (CHECKS). A study whose module does not exist yet is
skipped."""

import json

import pytest


def check_inan(result):
    """Seed 002 Table 1: the paper's transcription, and exact limits that only geometry
    fixes (symmetric minima get equal area; Himmelblau's four basins ~25% each)."""
    from studies.inan_table1 import paper_table
    paper = paper_table()
    assert paper["GD"]["SixHumpCamel"]["GM1"][0] == 4.25
    assert paper["SAM"]["ThreeHumpCamel"]["Else"][0] == 18.0
    assert paper["NiG-GD"]["Himmelblau"]["GM4"][0] is None  # damaged glyph
    lands = result["landscapes"]
    for land, entry in lands.items():
        for opt, cells in entry["optimizers"].items():
            total = sum(cell["ours"] for cell in cells.values())
            assert abs(total - 100.0) < 1e-6, (land, opt)
    gd = {land: {c: cell["exact"] for c, cell in e["optimizers"]["GD"].items()}
          for land, e in lands.items()}
    for c in ["GM1", "GM2", "GM3", "GM4"]:
        assert 20 < gd["Himmelblau"][c] < 30
    six = gd["SixHumpCamel"]
    for a, b in [("GM1", "GM2"), ("LM1", "LM2"), ("LM3", "LM4")]:
        assert abs(six[a] - six[b]) < 2.0  # f(x) = f(-x): equal basin areas
    three = gd["ThreeHumpCamel"]
    assert abs(three["LM1"] - three["LM2"]) < 2.0
    # the printed six-hump GD row breaks that symmetry beyond sampling error
    assert lands["SixHumpCamel"]["optimizers"]["GD"]["GM1"]["paper_vs_exact_beyond"]


def check_bensaid(result):
    """Seed 004: shares sum to 100%; polyTwo's R(w, b) = R(-w, -b) gives mirror minima
    equal shares on the symmetric grid; GD diverges on part of the domain while its
    energy-controlled and Euler-Richardson versions never do; LC-EGD keeps a ball around
    every minimum of polyTwo."""
    lands = result["landscapes"]
    for kind, methods in lands.items():
        for name, m in methods.items():
            pct = {k: v for k, v in m["percent"].items() if not k.startswith("ends_within")}
            assert abs(sum(pct.values()) - 100.0) < 1e-6, (kind, name)
    two = lands["polyTwo"]
    for name in ["GD", "GD-EC"]:
        p = two[name]["percent"]
        assert abs(p["min (2.0, -1.0)"] - p["min (-2.0, 1.0)"]) < 0.5
        assert abs(p["min (0.0, -1.0)"] - p["min (0.0, 1.0)"]) < 0.5
    assert two["GD"]["percent"]["diverged"] > 10.0
    for kind in lands:
        assert lands[kind]["GD-EC"]["percent"]["diverged"] == 0.0, kind
        assert lands[kind]["ER"]["percent"]["diverged"] == 0.0, kind
    assert min(two["GD-EC"]["capture_radius"]) > 0.0
    assert result["claims"]["gd_diverges_corrected_stable"]["verdict"]


CHECKS = {"inan_table1": check_inan, "bensaid_maps": check_bensaid}
STUDIES = ["inan_table1", "bensaid_maps"]


@pytest.mark.parametrize("name", STUDIES)
def test_study_quick(name, tmp_path):
    module = pytest.importorskip(f"studies.{name}")
    module.main(["--quick", "--out", str(tmp_path)])
    with open(tmp_path / "result.json") as f:
        result = json.load(f)
    check = CHECKS.get(name)
    if check is None:
        pytest.skip(f"no check function for {name} in CHECKS yet")
    check(result)
    assert list(tmp_path.glob("*.png")), "every study saves its figures as PNG"
