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
    n_clamped, n_relaxed = len(bd.SHAPE_STRAINS) ** 2, len(bd.RELAXED_ION_STRAINS) ** 2 - 1
    assert len(frames) == n_clamped + 2 + n_relaxed
    relaxed = frames[n_clamped + 2:]
    for s in frames[:n_clamped] + relaxed:
        ax, ay, cz = _tetragonal_axes(s.cell)
        ea, ec = s.info["strain_a"], s.info["strain_c"]
        assert ax == pytest.approx(a0 * (1 + ea), rel=1e-12)
        assert ay == pytest.approx(a0 * (1 + ea), rel=1e-12)
        assert cz == pytest.approx(c0 * (1 + ec), rel=1e-12)
        np.testing.assert_allclose(s.frac, base.frac, atol=1e-12)
        assert s.symbols == base.symbols
    assert all(s.info["relaxed_ion"] for s in relaxed)
    assert {(s.info["strain_a"], s.info["strain_c"]) for s in relaxed} == {
        (ea, ec) for ea in bd.RELAXED_ION_STRAINS for ec in bd.RELAXED_ION_STRAINS} - {(0.0, 0.0)}
    for s in frames[n_clamped:n_clamped + 2]:
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


def test_relax_positions_reaches_zero_force_in_the_fixed_cell():
    """The relaxed-ion shape cells: positions relaxed to the force threshold, the cell untouched."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from llzo_dp_tools.lattice import FMAX, ase_atoms, relax_positions

    a = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(2)
    rattled = L.Structure(np.array(a.cell), a.get_positions() + np.random.default_rng(1).normal(0, 0.05, (32, 3)),
                          a.get_chemical_symbols(), {})
    before = np.abs(ase_atoms(rattled, EMT()).get_forces()).max()
    r = relax_positions(rattled, EMT())
    after = np.linalg.norm(ase_atoms(r, EMT()).get_forces(), axis=1).max()
    assert before > 20 * FMAX and after < FMAX
    np.testing.assert_array_equal(r.cell, rattled.cell)


def test_force_weights_reach_deepmd_only_for_the_weighted_system(tmp_path, train_module):
    """write_force_weights gives every system an atom_pref.npy that DeePMD-kit's PyTorch training
    loader reads as one weight per force component: 1 on the shape cells, 0 elsewhere, so the
    prefactor-force term (pref_pf) weights the shape cells alone."""
    from deepmd.pt.utils.dataset import DeepmdDataSetForLoader
    from deepmd.utils.data import DataRequirementItem

    bd = train_module("build_dataset")
    mi = train_module("make_input")
    loss = mi.paper_sevennet([104, 36, 36, 76], data="data-sevennet")["loss"]
    assert loss["start_pref_pf"] == loss["limit_pref_pf"] == mi.SHAPE_FORCE_WEIGHT > 0
    t = L.tetragonal_llzo("exp")
    frames = [t, L.Structure(t.cell, t.positions + 0.01, t.symbols, {})]
    for name in ("crys_tllzo_shape", "md_400K"):
        L.write_deepmd_npy(str(tmp_path / "training" / name), frames, np.zeros(2), np.zeros((2, len(t), 3)),
                           np.zeros((2, 9)))
    assert bd.write_force_weights(str(tmp_path)) == 2
    # the requirement DeePMD-kit's energy loss adds when pref_pf is set
    need = DataRequirementItem("atom_pref", ndof=1, atomic=True, must=False, high_prec=False, repeat=3,
                               default=1.0)
    seen = {}
    for name in ("crys_tllzo_shape", "md_400K"):
        ds = DeepmdDataSetForLoader(str(tmp_path / "training" / name), type_map=["Li", "La", "Zr", "O"])
        ds.add_data_requirement([need])
        item = ds[1]
        seen[name] = (float(item["find_atom_pref"]), np.asarray(item["atom_pref"]).size, float(np.max(item["atom_pref"])))
    assert seen == {"crys_tllzo_shape": (1.0, 3 * len(t), 1.0), "md_400K": (1.0, 3 * len(t), 0.0)}
    assert bd.write_force_weights(str(tmp_path / "none")) == 0


def test_crystal_subgroups_put_every_llzo_cell_with_llzo(train_module):
    ev = train_module("evaluate")
    assert {ev.crystal_subgroup(n) for n in ("crys_tllzo96", "crys_cllzo192", "crys_tllzo_shape")} == {ev.SUB_LLZO}
    assert ev.crystal_subgroup("crys_big_ZrO2") == ev.SUB_BIG and ev.crystal_subgroup("crys_Li2O") == ev.SUB_SMALL
    assert ev.crystal_subgroup("md_800K") is None
