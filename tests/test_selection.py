"""Choosing frames to label (llzo_dp_tools.selection): the paper's coverage criterion with its
de-duplication, DP-GEN's trust levels on model_devi.out, random draws; fingerprints from the
coverage CLI's principal components."""
import subprocess

import numpy as np
import pytest

from checkout import ROOT
from llzo_dp_tools.selection import (Candidate, at_random, by_coverage, by_deviation, farthest_point,
                                     fingerprints_from_pcs, read_model_devi)

CLI = ROOT / "target" / "release" / "llzo-dp"
DATA = ROOT / "tests" / "data" / "test_model" / "data"


def test_farthest_point_spreads_over_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], float)
    points = np.concatenate([c + 0.1 * rng.normal(size=(25, 2)) for c in centres])
    chosen = farthest_point(points, 4)
    assert sorted(i // 25 for i in chosen) == [0, 1, 2, 3]  # one from each cluster
    assert farthest_point(np.zeros((5, 2)), 3) == [0]  # duplicates only: one


def test_coverage_choice_keeps_the_least_covered_and_drops_near_copies():
    rng = np.random.default_rng(1)
    copies = [Candidate(f"a{k}", 0.80 + 0.001 * k, tuple(rng.normal(0, 1e-3, 2))) for k in range(20)]
    others = [Candidate(f"b{k}", 0.85 + 0.01 * k, (5.0 * (k + 1), -3.0 * k)) for k in range(5)]
    picked = by_coverage(copies + others, budget=4, min_distance=0.05)
    keys = [c.key for c in picked]
    assert "a0" in keys  # the least covered frame
    assert sum(k.startswith("a") for k in keys) == 1  # one of the twenty near-copies
    assert len(picked) == 4
    assert len(by_coverage(copies + others, budget=50, min_distance=0.05)) == 6
    assert by_coverage([], budget=3) == []


MODEL_DEVI = """#       step         max_devi_v         min_devi_v         avg_devi_v         max_devi_f         min_devi_f         avg_devi_f
           0       1.0e-03       1.0e-04       5.0e-04       0.020       0.001       0.005
          10       2.0e-03       1.0e-04       5.0e-04       0.080       0.001       0.005
          20       2.0e-03       1.0e-04       5.0e-04       0.150       0.001       0.005
          30       2.0e-03       1.0e-04       5.0e-04       0.250       0.001       0.005
          40       2.0e-03       1.0e-04       5.0e-04       0.600       0.001       0.005
"""


def test_deviation_choice_between_trust_levels(tmp_path):
    path = tmp_path / "model_devi.out"
    path.write_text(MODEL_DEVI)
    rows = read_model_devi(path, key_prefix="run0:")
    assert [r.key for r in rows] == ["run0:0", "run0:10", "run0:20", "run0:30", "run0:40"]
    picked = by_deviation(rows, lo=0.05, hi=0.3, budget=10, seed=0)
    assert [r.key for r in picked] == ["run0:10", "run0:20", "run0:30"]
    two = by_deviation(rows, lo=0.05, hi=0.3, budget=2, seed=7)
    assert len(two) == 2 and two == by_deviation(rows, lo=0.05, hi=0.3, budget=2, seed=7)
    with pytest.raises(ValueError, match="trust levels"):
        by_deviation(rows, lo=0.3, hi=0.05, budget=2, seed=0)


def test_random_draw_is_reproducible_and_bounded():
    items = list(range(100))
    a = at_random(items, 10, seed=3)
    assert a == at_random(items, 10, seed=3) and len(set(a)) == 10 and a == sorted(a)
    assert at_random(items[:4], 10, seed=3) == items[:4]


def test_fingerprints_are_the_mean_principal_components_of_each_frame(tmp_path):
    ref, pcs = tmp_path / "ref.json", tmp_path / "pcs.csv"
    run = lambda *a: subprocess.run([str(CLI), *map(str, a)], capture_output=True, text=True, timeout=600)
    assert run("coverage", "build", "--type-map", "Li,La,Zr,O", "--rcut", 6.0, "-o", ref, DATA / "training").returncode == 0
    out = run("coverage", "check", ref, DATA / "validation", "--pcs-csv", pcs)
    assert out.returncode == 0, out.stderr
    fps = fingerprints_from_pcs(pcs, ["Li", "La", "Zr", "O"])
    rows = [l.split(",") for l in pcs.read_text().splitlines() if l.startswith("test,")]
    key = next(iter(fps))
    system, frame = key.rsplit(":", 1)
    li = [(float(r[5]), float(r[6])) for r in rows if r[1] == "Li" and r[2] == system and r[3] == frame]
    assert fps[key][:2] == pytest.approx(tuple(np.mean(li, axis=0)))
    assert len(fps) > 1 and all(len(v) == 8 and np.all(np.isfinite(v)) for v in fps.values())
