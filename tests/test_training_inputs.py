"""The training pipeline's geometry and inputs (models/llzo/train): the strained 0 K t-LLZO cells
that pin a model's lattice, and the batch weighting written into the DeePMD-kit inputs."""
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from llzo_dp_tools import structures as L

TRAIN = Path(__file__).resolve().parent.parent / "models" / "llzo" / "train"


@pytest.fixture(scope="module")
def train_module():
    sys.path.insert(0, str(TRAIN))
    try:
        yield lambda name: importlib.import_module(name)
    finally:
        sys.path.remove(str(TRAIN))


class _ZeroCalc:
    """Stands in for the reference method: zero forces and stress, so the relaxation keeps the cell."""

    @staticmethod
    def make():
        from ase.calculators.calculator import Calculator, all_changes

        class Zero(Calculator):
            implemented_properties = ["energy", "forces", "stress"]

            def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
                super().calculate(atoms, properties, system_changes)
                self.results = {"energy": 0.0, "forces": np.zeros((len(atoms), 3)), "stress": np.zeros(6)}

        return Zero()


def _tetragonal_axes(cell):
    """a and c of a body-centred cell with rows (-a/2, a/2, c/2), (a/2, -a/2, c/2), (a/2, a/2, -c/2)."""
    conv = np.array([cell[1] + cell[2], cell[0] + cell[2], cell[0] + cell[1]])
    return np.linalg.norm(conv[0]), np.linalg.norm(conv[1]), np.linalg.norm(conv[2])


def test_shape_frames_strain_a_and_c_along_the_tetragonal_axes(train_module):
    bd = train_module("build_dataset")

    class Ref:
        calc = _ZeroCalc.make()

    frames = bd.shape_frames(Ref(), np.random.default_rng(0), n_rattled=2)
    base = L.primitive_tllzo("dft")
    a0, c0 = L.lattice_parameters("dft")
    assert len(frames) == len(bd.SHAPE_STRAINS) ** 2 + 2
    for s in frames[:-2]:
        ax, ay, cz = _tetragonal_axes(s.cell)
        ea, ec = s.info["strain_a"], s.info["strain_c"]
        assert ax == pytest.approx(a0 * (1 + ea), rel=1e-12)
        assert ay == pytest.approx(a0 * (1 + ea), rel=1e-12)
        assert cz == pytest.approx(c0 * (1 + ec), rel=1e-12)
        np.testing.assert_allclose(s.frac, base.frac, atol=1e-12)
        assert s.symbols == base.symbols
    for s in frames[-2:]:
        d = s.positions - base.positions
        assert 0.005 < np.sqrt(np.mean(d ** 2)) < 0.03
        np.testing.assert_allclose(s.cell, base.cell)


def test_crystal_prob_blocks_follow_the_sorted_system_names(train_module):
    mi = train_module("make_input")
    names = ["data/training/" + n for n in (
        "amorph_melt_quench", "close_tllzo96", "crys_big_Li2O", "crys_tllzo96", "crys_tllzo_shape",
        "md_400K", "slab_static")]
    assert mi.crystal_prob(names) == "prob_sys_size;0:2:0.20;2:5:0.50;5:7:0.30"
    with pytest.raises(RuntimeError, match="unexpected system order"):
        mi.crystal_prob(names[1:])


def test_shape_prob_gives_the_shape_system_its_own_block(train_module):
    mi = train_module("make_input")
    names = ["amorph_melt_quench", "close_tllzo96", "crys_big_Li2O", "crys_tllzo96", "crys_tllzo_shape",
             "md_400K", "slab_static"]
    assert mi.shape_prob(names) == "prob_sys_size;0:2:0.10;2:4:0.30;4:5:0.30;5:7:0.30"
    with pytest.raises(RuntimeError, match="unexpected system order"):
        mi.shape_prob(names[:-2] + ["crys_zz"] + names[-2:])
