"""The simple compounds of the training set (llzo_dp_tools.compounds): small cells and
~100-atom supercells have the space group and formula of the literature structure, the
documented sizes, sane nearest distances; the committed supercell data match them.

Nearest distances expected from the literature lattices (compounds.COMPOUNDS): Li2O
Li-O = sqrt(3)/4 a = 1.996 A; La2O3 (A-type) La-O 2.37 A; monoclinic ZrO2 Zr-O 2.05 A;
pyrochlore La2Zr2O7 Zr-O 2.11 A; bcc Li Li-Li = sqrt(3)/2 a = 3.040 A.
"""

import glob
import json
import os

import numpy as np
import pytest

from llzo_dp_tools import compounds as B

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "llzo", "train", "data")

spglib = pytest.importorskip("spglib")

# name: (space group, formula units' ratio {element: count}, small-cell atoms, supercell atoms, nearest distance)
EXPECTED = {
    "Li2O": (225, {"Li": 2, "O": 1}, 12, 96, 1.996),
    "La2O3": (164, {"La": 2, "O": 3}, 20, 90, 2.365),
    "ZrO2": (14, {"Zr": 1, "O": 2}, 12, 96, 2.052),
    "La2Zr2O7": (227, {"La": 2, "Zr": 2, "O": 7}, 22, 88, 2.109),
    "Li": (229, {"Li": 1}, 16, 128, 3.040),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("cells", ["small", "big"])
def test_compound_cells(name, cells):
    sg, ratio, n_small, n_big, dmin = EXPECTED[name]
    s = B.compound(name, cells)
    assert len(s) == (n_small if cells == "small" else n_big)
    counts = {e: s.symbols.count(e) for e in set(s.symbols)}
    k = counts[next(iter(ratio))] / ratio[next(iter(ratio))]
    assert counts == {e: round(k * r) for e, r in ratio.items()}
    num = [sorted(set(s.symbols)).index(e) for e in s.symbols]
    assert spglib.get_symmetry_dataset((s.cell, s.frac, num), symprec=1e-3).number == sg
    assert B.min_distance(s) == pytest.approx(dmin, abs=0.005)


def test_committed_supercell_data_match_the_builder():
    """data/{training,validation,test}/crys_big_<X>: 48 frames of the documented size, labels present."""
    for name, (_, _, _, n_big, _) in EXPECTED.items():
        frames = 0
        for part in ("training", "validation", "test"):
            d = os.path.join(DATA, part, f"crys_big_{name}")
            types = np.loadtxt(os.path.join(d, "type.raw"), dtype=int)
            assert len(types) == n_big
            for st in glob.glob(os.path.join(d, "set.*")):
                e = np.load(os.path.join(st, "energy.npy"))
                f = np.load(os.path.join(st, "force.npy"))
                v = np.load(os.path.join(st, "virial.npy"))
                assert f.shape == (len(e), 3 * n_big) and v.shape == (len(e), 9)
                assert np.all(np.isfinite(e)) and np.all(np.isfinite(f))
                frames += len(e)
        done = json.load(open(os.path.join(DATA, "done", f"crys_big_{name}.json")))
        assert frames == done["frames"] == 48 and done["natoms"] == n_big
