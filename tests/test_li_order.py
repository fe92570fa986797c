"""The Li order parameter on constructed cells: ordered t-LLZO, its axes, disorder, noise."""
import numpy as np
import pytest

from llzo_dp_tools import structures
from llzo_dp_tools.li_order import li_order, ordered_octahedral_sites, tetrahedral_sites


def test_site_sets():
    sites, axis = tetrahedral_sites()
    assert sites.shape == (24, 3) and np.bincount(axis).tolist() == [8, 8, 8]
    # t-LLZO's 8a sites are the 24d tetrahedra whose -4 axis is the unique axis z
    t = structures.tetragonal_llzo()
    tet_li = t.frac[np.array(t.symbols) == "Li"][:8]
    d = (tet_li[:, None, :] - sites[axis == 2][None, :, :] + 0.5) % 1.0 - 0.5
    assert np.all(np.abs(d).max(axis=-1).min(axis=1) < 1e-9)
    for k in range(3):
        assert len(np.unique(np.round(ordered_octahedral_sites(k) % 1.0, 6), axis=0)) == 48


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_ordered_tllzo_any_unique_axis(axis):
    t = structures.tetragonal_llzo()
    # a cyclic relabelling of x, y, z puts the unique axis c along `axis`
    perm = [(2, 0, 1), (1, 2, 0), (0, 1, 2)][axis]
    cell = np.diag(np.diag(t.cell)[list(perm)])
    r = li_order(cell, t.positions[:, list(perm)], t.symbols)
    assert r.axis == axis
    assert r.eta == pytest.approx(1.0) and r.occ_8a == 1.0 and r.occ_16e == 0.0
    assert r.occ_oct_ordered == 1.0 and r.frac_oct_other == 0.0


def test_supercell_with_thermal_noise_stays_ordered():
    s = structures.supercell(structures.tetragonal_llzo("exp"), 2, 1, 2)
    rng = np.random.default_rng(1)
    r = li_order(s.cell, s.positions + rng.normal(0.0, 0.15, s.positions.shape), s.symbols)
    assert r.eta == pytest.approx(1.0) and r.axis == 2


def test_disordered_cubic_cell_is_near_zero():
    etas = []
    for seed in range(4):
        c = structures.cubic_llzo(seed=seed)
        r = li_order(c.cell, c.positions, c.symbols)
        assert r.eta < 0.3 and r.occ_16e > 0.3  # the "empty" tetrahedra are filled
        etas.append(r.eta)
    assert np.mean(etas) < 0.2


def test_hand_made_disorder_moves_eta_linearly():
    """Moving m of the 8 filled 8a Li onto empty 16e tetrahedra gives eta = 1 - m/8 - m/16."""
    t = structures.tetragonal_llzo()
    sites, axis = tetrahedral_sites()
    empty = sites[axis != 2]
    frac = t.frac.copy()
    for m in range(1, 4):
        frac[m - 1] = empty[m - 1]
        r = li_order(t.cell, frac @ t.cell, t.symbols)
        assert r.axis == 2 and r.eta == pytest.approx(1 - m / 8 - m / 16)


def test_wrong_cell_is_refused():
    t = structures.tetragonal_llzo()
    with pytest.raises(ValueError, match="dims="):
        li_order(t.cell * 2, t.positions, t.symbols)


def test_order_of_a_lammps_dump(tmp_path):
    """The heating workflow's path: Li positions dumped by LAMMPS, read back, eta per frame."""
    from checkout import lammps
    from llzo_dp_tools.lammps import read_dump, tllzo, write_data

    cell, pos, types = tllzo(2, 1, 1)
    write_data(tmp_path / "t.data", cell, pos, types)
    run = lammps(tmp_path, """units metal
atom_style atomic
read_data t.data
pair_style zero 6.0
pair_coeff * *
group Li type 1
write_dump Li custom li.dump id x y z modify sort id
""", plugin_line=False)
    assert run.returncode == 0, run.output[-2000:]
    (frame,) = read_dump(tmp_path / "li.dump")
    li = np.column_stack([frame["x"], frame["y"], frame["z"]])
    r = li_order(frame["box"], li, ["Li"] * len(li), dims=(2, 1, 1))
    assert len(li) == 112 and r.eta == pytest.approx(1.0) and r.axis == 2


def test_li_sites_of_one_cell():
    from llzo_dp_tools.li_order import li_sites
    sites = li_sites()
    d = sites[:, None, :] - sites[None, :, :]
    d -= np.rint(d)
    r = np.linalg.norm(d * 13.0, axis=-1) + np.eye(len(sites)) * 99
    assert len(sites) == 72 and r.min() > 1.9  # 24 tetrahedra + 48 cages, 2.0 A apart at least
    t = structures.tetragonal_llzo()  # every Li of t-LLZO sits within 0.6 A of one of them
    li = t.frac[np.array(t.symbols) == "Li"]
    d = li[:, None, :] - sites[None, :, :]
    d -= np.rint(d)
    assert np.linalg.norm(d @ t.cell, axis=-1).min(axis=1).max() < 0.6


def test_hops_are_counted_on_arrival_and_vibrations_are_not():
    from llzo_dp_tools.li_order import site_hops
    t = structures.supercell(structures.tetragonal_llzo(), 1, 1, 2)
    li = t.positions[np.array(t.symbols) == "Li"]
    rng = np.random.default_rng(5)
    frames = [(t.cell, li + rng.normal(0.0, 0.12, li.shape)) for _ in range(6)]
    assert site_hops(frames, (1, 1, 2))[0] == 0
    sites, axis = tetrahedral_sites()
    conventional = t.cell / np.array([[1.0], [1.0], [2.0]])
    empty = sites[axis != 2] @ conventional  # 16e-type tetrahedra of the first cell
    target = empty[np.argmin(np.linalg.norm(empty - li[0], axis=1))]
    step = (target - li[0]) / np.linalg.norm(target - li[0])
    halfway, moved = li.copy(), li.copy()
    halfway[0] = li[0] + 1.0 * step  # left its site, not yet within 0.9 A of another
    moved[0] = target
    path = [(t.cell, li), (t.cell, halfway), (t.cell, moved), (t.cell, moved), (t.cell, li)]
    assert site_hops(path[:2], (1, 1, 2))[1][0] == site_hops(path[:1], (1, 1, 2))[1][0]  # kept its site
    hops, site = site_hops(path, (1, 1, 2))
    assert hops == 2  # there, and back
    assert site_hops(path[:3], (1, 1, 2))[0] == 1
