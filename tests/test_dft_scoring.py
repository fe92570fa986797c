"""The DFT validation set's scoring (models/llzo/dft/score.py): the c/a of the E(c/a) minimum read
from the stress anisotropy, checked against an energy curve whose derivative is known."""
import importlib.util

import numpy as np
import pytest

from checkout import ROOT


@pytest.fixture(scope="module")
def score():
    spec = importlib.util.spec_from_file_location("score", ROOT / "models" / "llzo" / "dft" / "score.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _virial_of_stress(sxx, szz, vol):
    """deepmd's virial of a diagonal ASE-sign stress (GPa): -stress * V in eV."""
    return -np.diag([sxx, sxx, szz]) * vol / 160.21766208


def test_anisotropy_is_szz_minus_the_in_plane_mean(score):
    vol = np.array([1000.0, 1200.0])
    v = np.array([_virial_of_stress(1.0, 3.0, 1000.0), _virial_of_stress(-2.0, -0.5, 1200.0)])
    np.testing.assert_allclose(score.anisotropy(v, vol), [2.0, 1.5], rtol=1e-12)


def test_zero_anisotropy_is_the_minimum_of_a_quadratic_energy(score):
    """E(r) = k (r - r0)^2 at fixed volume: the anisotropy is proportional to dE/dr, zero at r0,
    and the reading interpolates between the two points around it."""
    r0, ca = 0.9613, np.array([0.94, 0.95, 0.96, 0.97, 0.98])
    an = 40.0 * (ca - r0)  # linear in r: the interpolation is exact
    assert score.ca_zero_anisotropy(ca, an) == pytest.approx(r0, abs=1e-12)
    assert score.ca_minimum(ca, 3.0 * (ca - r0) ** 2) == pytest.approx(r0, abs=1e-9)
    assert np.isnan(score.ca_zero_anisotropy(ca, an + 10.0))  # no sign change: no reading


def label_module():
    """label_validation_set.py, imported with its directory on the path (it imports convergence)."""
    import sys

    dft_dir = str(ROOT / "models" / "llzo" / "dft")
    sys.path.insert(0, dft_dir)
    try:
        spec = importlib.util.spec_from_file_location("label_validation_set", f"{dft_dir}/label_validation_set.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(dft_dir)
    return mod


def test_labelling_goes_round_robin_over_the_families():
    """A partly labelled validation set holds frames of every family: the k-th frame of each family
    is labelled before the (k+1)-th of any, families in PRIORITY order, each family's order kept."""
    from llzo_dp_tools import structures as L

    mod = label_module()
    fams = ["amorphous", "md_300K", "c_over_a", "md_300K", "c_over_a", "c_over_a", "unlisted"]
    frames = [L.Structure(np.eye(3), np.zeros((1, 3)), ["Li"], {"family": f, "name": f"{f}_{k}"})
              for k, f in enumerate(fams)]
    order = [s.info["name"] for s in mod.labelling_order(frames)]
    assert order == ["c_over_a_2", "md_300K_1", "amorphous_0", "unlisted_6",
                     "c_over_a_4", "md_300K_3", "c_over_a_5"]


def test_frames_with_close_contacts_are_left_out():
    """A frame with two atoms closer than MIN_CONTACT (the collapsed Zr pairs of the model's own
    3000 K melt) is neither labelled nor scored; a crystal frame stays."""
    from llzo_dp_tools import structures as L

    mod = label_module()
    good = L.primitive_tllzo("exp")
    good.info = {"name": "crystal", "family": "crystal"}
    bad = L.Structure(good.cell.copy(), good.positions.copy(), list(good.symbols), {"name": "collapsed", "family": "amorphous"})
    zr = [i for i, x in enumerate(bad.symbols) if x == "Zr"]
    bad.positions[zr[1]] = bad.positions[zr[0]] + np.array([0.95, 0.0, 0.0])
    assert mod.shortest_distance(good) > 1.7
    assert abs(mod.shortest_distance(bad) - 0.95) < 1e-9
    assert [s.info["name"] for s in mod.physical([good, bad])] == ["crystal"]
    # two Zr 2.2 A apart: no shorter distance than 1.5 A anywhere, yet no Zr oxide has such a pair
    def pair(d):
        return L.Structure(10 * np.eye(3), np.array([[0, 0, 0], [d, 0, 0], [5, 5, 5]], float), ["Zr", "Zr", "O"],
                           {"name": f"zr_{d}", "family": "amorphous"})
    near, apart = pair(2.2), pair(3.5)
    assert mod.shortest_distance(near) > mod.MIN_CONTACT
    assert mod.close_contact(near)[:2] == ("Zr", "Zr") and mod.close_contact(apart) is None
    assert mod.physical([near, apart, good]) == [apart, good]
