"""Tests for llzo_dp_tools.structures.

Distance tolerances: the DFT reference structure gives nearest distances for the
DFT cell (Zr-O 2.13, La-O 2.47-2.60, Li-O >= 1.90, Li-Li >= 2.56 A).  The
experimental cell keeps the fractional coordinates and shrinks a by 0.77 % and
c by 0.30 %, so every distance shrinks by 0.3-0.8 %; measured on the
experimental cell: Zr-O 2.113, La-O 2.452, Li-O 1.881, Li-Li 2.537 A.  The
tests allow +-0.03 A around the reference's round figures (Zr-O 2.10-2.14,
La-O 2.42-2.48, Li-O 1.86-1.92, Li-Li 2.50-2.57): wide enough for the scaling
(<= 0.02 A here), narrow enough to catch a wrong operation or a swapped
coordinate, which moves some distance by >= 0.3 A or creates overlaps.
"""

import subprocess
import sys

import numpy as np
import pytest

from llzo_dp_tools import structures as L
from llzo_dp_tools.lammps import structure_file

spglib = pytest.importorskip("spglib")
try:  # spglib >= 2.5: raise errors instead of returning None (silences a DeprecationWarning)
    import spglib.error

    spglib.error.OLD_ERROR_HANDLING = False
except (ImportError, AttributeError):
    pass


def _ops_key(rots, trans):
    return sorted((tuple(np.asarray(r).ravel()), tuple(np.round(np.mod(t, 1) * 48).astype(int) % 48)) for r, t in zip(rots, trans))


def test_tetragonal_ops_match_spglib_database():
    # Hall 429 = '-I 4bd 2c' = I4_1/acd, origin choice 2.
    t = spglib.get_spacegroup_type(429)
    assert t.number == 142 and t.choice == "2"
    db = spglib.get_symmetry_from_database(429)
    ops = L.tetragonal_ops()
    assert len(ops) == 32
    assert _ops_key(db["rotations"], db["translations"]) == _ops_key([o[0] for o in ops], [o[1] for o in ops])


def test_cubic_ops_match_spglib_database():
    assert spglib.get_spacegroup_type(530).number == 230
    db = spglib.get_symmetry_from_database(530)
    ops = L.cubic_ops()
    assert _ops_key(db["rotations"], db["translations"]) == _ops_key([o[0] for o in ops], [o[1] for o in ops])


@pytest.mark.parametrize("lattice", ["dft", "exp"])
def test_tetragonal_counts_and_space_group(lattice):
    s = L.tetragonal_llzo(lattice)
    assert len(s) == 192
    assert s.counts() == {"Li": 56, "La": 24, "Zr": 16, "O": 96}
    assert s.is_orthogonal()
    a, c = L.LATTICES[lattice]
    assert np.allclose(np.diag(s.cell), [a, a, c])
    ds = spglib.get_symmetry_dataset(s.spglib_cell(), symprec=1e-3)
    assert ds.number == 142
    assert ds.hall_number in (428, 429)
    # each orbit has the multiplicity of its Wyckoff letter
    mult = [int("".join(ch for ch in w if ch.isdigit())) for _el, w, _xyz in L.TLLZO_SITES]
    assert sum(mult) == 192
    ops = L.tetragonal_ops()
    for (_el, w, xyz), m in zip(L.TLLZO_SITES, mult):
        assert len(L.expand_orbit(xyz, ops)) == m, w


def test_tetragonal_custom_lattice():
    s = L.tetragonal_llzo((13.0, 12.5))
    assert np.allclose(np.diag(s.cell), [13.0, 13.0, 12.5])


def test_nearest_distances_experimental_cell():
    s = L.tetragonal_llzo("exp")
    zr_o = L.nearest_distance(s, "Zr", "O")
    la_o = L.nearest_distance(s, "La", "O")
    li_o = L.nearest_distance(s, "Li", "O")
    li_li = L.nearest_distance(s, "Li", "Li")
    assert 2.10 <= zr_o <= 2.14, zr_o  # 2.113
    assert 2.42 <= la_o <= 2.48, la_o  # 2.452
    assert 1.86 <= li_o <= 1.92, li_o  # 1.881
    assert 2.50 <= li_li <= 2.57, li_li  # 2.537
    # ZrO6 octahedra and LaO8 dodecahedra
    oxy = s.positions[np.array(s.symbols) == "O"]
    for el, n, rmax in (("Zr", 6, 2.5), ("La", 8, 2.8)):
        for i in np.flatnonzero(np.array(s.symbols) == el):
            d = np.linalg.norm(_mic(s, oxy - s.positions[i]), axis=1)
            assert np.sum(d < rmax) == n, (el, i)
    o_o = L.nearest_distance(s, "O", "O")
    assert o_o > 2.6  # no collapsed oxygens


def _mic(s, d):
    f = d @ np.linalg.inv(s.cell)
    f -= np.round(f)
    return f @ s.cell


def test_dft_cell_matches_reference_distances():
    s = L.tetragonal_llzo("dft")
    assert abs(L.nearest_distance(s, "Zr", "O") - 2.13) < 0.01
    assert abs(L.nearest_distance(s, "La", "O") - 2.47) < 0.01
    assert L.nearest_distance(s, "Li", "O") >= 1.89
    assert L.nearest_distance(s, "Li", "Li") >= 2.55


def test_primitive_cell():
    p = L.primitive_tllzo("exp")
    assert len(p) == 96
    assert p.counts() == {"Li": 28, "La": 12, "Zr": 8, "O": 48}
    conv = L.tetragonal_llzo("exp")
    assert np.isclose(p.volume, conv.volume / 2)
    assert spglib.get_symmetry_dataset(p.spglib_cell(), symprec=1e-3).number == 142
    assert abs(L.nearest_distance(p, "Li", "Li") - L.nearest_distance(conv, "Li", "Li")) < 1e-6


@pytest.mark.parametrize("dims,n", [((1, 1, 1), 192), ((2, 1, 1), 384), ((2, 2, 2), 1536), ((3, 3, 3), 5184)])
def test_supercell_counts(dims, n):
    s = L.supercell(L.tetragonal_llzo("exp"), *dims)
    assert len(s) == n
    k = n // 192
    assert s.counts() == {"Li": 56 * k, "La": 24 * k, "Zr": 16 * k, "O": 96 * k}
    assert np.all(np.diff(s.types) >= 0)  # grouped by type
    assert np.allclose(np.diag(s.cell), np.array(dims) * np.array([13.134, 13.134, 12.663]))


def test_supercell_keeps_space_group_and_distances():
    s = L.supercell(L.tetragonal_llzo("exp"), 2, 1, 1)
    assert spglib.get_symmetry_dataset(s.spglib_cell(), symprec=1e-3).number == 142
    assert abs(L.nearest_distance(s, "Li", "Li") - 2.537) < 0.002
    f = np.mod(s.frac, 1.0)
    d = f[:, None] - f[None]
    d -= np.round(d)
    r = np.linalg.norm(d @ s.cell, axis=-1) + np.eye(len(s)) * 10
    assert r.min() > 1.8  # no duplicated atoms at the image boundaries


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_cubic_cell(seed):
    c = L.cubic_llzo(seed=seed)
    assert len(c) == 192
    assert c.counts() == {"Li": 56, "La": 24, "Zr": 16, "O": 96}
    assert c.info["li_24d"] == 12 and c.info["li_96h"] == 44
    assert L.nearest_distance(c, "Li", "Li") >= 2.3
    assert L.nearest_distance(c, "Li", "O") >= 1.8
    # framework alone (La, Zr, O) has the full Ia-3d symmetry
    keep = [i for i, x in enumerate(c.symbols) if x != "Li"]
    fw = L.Structure(c.cell, c.positions[keep], [c.symbols[i] for i in keep])
    assert spglib.get_symmetry_dataset(fw.spglib_cell(), symprec=1e-3).number == 230
    # deterministic
    c2 = L.cubic_llzo(seed=seed)
    assert np.array_equal(c.positions, c2.positions)


def test_cubic_seeds_differ_and_n24d():
    a, b = L.cubic_llzo(seed=0), L.cubic_llzo(seed=1)
    assert not np.allclose(a.positions[:56], b.positions[:56])
    c = L.cubic_llzo(seed=0, n_24d=8)
    assert c.info["li_24d"] == 8 and c.info["li_96h"] == 48
    with pytest.raises(ValueError):
        L.cubic_llzo(n_24d=20)


def test_lammps_data_round_trip(tmp_path):
    s = L.supercell(L.tetragonal_llzo("exp"), 2, 1, 1)
    path = tmp_path / "out.data"
    L.write_lammps_data(str(path), s)
    text = path.read_text()
    assert "384 atoms" in text and "4 atom types" in text
    assert "Masses" in text and "Atoms # atomic" in text
    assert "1 6.94 # Li" in text and "4 15.999 # O" in text
    assert "xy xz yz" not in text
    r = L.read_lammps_data(str(path))
    assert r.symbols == s.symbols
    assert np.allclose(r.cell, s.cell)
    assert np.allclose(r.positions, s.wrapped().positions, atol=1e-8)
    assert [p.name for p in tmp_path.iterdir()] == ["out.data"]  # no temp files left


def test_lammps_data_triclinic_primitive(tmp_path):
    p = L.primitive_tllzo("exp")
    path = tmp_path / "prim.data"
    L.write_lammps_data(str(path), p)
    assert "xy xz yz" in path.read_text()
    r = L.read_lammps_data(str(path))
    assert len(r) == 96
    assert np.isclose(r.volume, p.volume)
    for a, b in [("Li", "Li"), ("Zr", "O"), ("Li", "O")]:
        assert abs(L.nearest_distance(r, a, b) - L.nearest_distance(p, a, b)) < 1e-6


def test_extxyz_round_trip(tmp_path):
    s = L.primitive_tllzo("dft")
    path = tmp_path / "x.xyz"
    rng = np.random.default_rng(0)
    f = rng.normal(size=(len(s), 3))
    L.write_extxyz(str(path), s, energies=-700.5, forces=f)
    (r,) = L.read_extxyz(str(path))
    assert r.symbols == s.symbols
    assert np.allclose(r.cell, s.cell) and np.allclose(r.positions, s.positions)
    assert np.isclose(r.info["energy"], -700.5)
    assert np.allclose(r.info["forces"], f)
    ase_io = pytest.importorskip("ase.io")
    a = ase_io.read(str(path))
    assert a.get_chemical_formula() == "La12Li28O48Zr8"
    assert np.allclose(a.get_positions(), s.positions)
    assert np.isclose(a.get_potential_energy(), -700.5)


def test_deepmd_npy_round_trip(tmp_path):
    s = L.tetragonal_llzo("exp")
    frames = [s, L.Structure(s.cell * 1.01, s.positions * 1.01, s.symbols)]
    e = np.array([-1.0, -2.0])
    f = np.zeros((2, len(s), 3))
    v = np.ones((2, 3, 3))
    out = tmp_path / "sys"
    L.write_deepmd_npy(str(out), frames, energies=e, forces=f, virials=v)
    assert sorted(p.name for p in out.iterdir()) == ["set.000", "type.raw", "type_map.raw"]
    assert sorted(p.name for p in (out / "set.000").iterdir()) == ["box.npy", "coord.npy", "energy.npy", "force.npy", "virial.npy"]
    assert (out / "type_map.raw").read_text().split() == ["Li", "La", "Zr", "O"]
    d = L.read_deepmd_npy(str(out))
    assert d["coord"].shape == (2, 192 * 3) and d["box"].shape == (2, 9)
    assert np.allclose(d["coord"][1], frames[1].positions.ravel())
    assert np.array_equal(d["types"], s.types)
    assert np.allclose(d["energy"], e) and d["force"].shape == (2, 576) and d["virial"].shape == (2, 9)
    # overwrite in place: old content replaced atomically, no leftovers
    L.write_deepmd_npy(str(out), frames[:1])
    assert L.read_deepmd_npy(str(out))["coord"].shape == (1, 576)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sys"]
    dpdata = pytest.importorskip("dpdata")
    sysd = dpdata.System(str(out), fmt="deepmd/npy")
    assert sysd.get_natoms() == 192 and sysd.get_nframes() == 1


def test_cli(tmp_path):
    out = tmp_path / "out.data"
    cmd = [sys.executable, "-m", "llzo_dp_tools.structures", "lammps-data", "--supercell", "2", "2", "2", "--lattice", "exp", "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    r = L.read_lammps_data(str(out))
    assert len(r) == 1536
    assert np.allclose(np.diag(r.cell), [26.268, 26.268, 25.326])
    info = subprocess.run([sys.executable, "-m", "llzo_dp_tools.structures", "info", "--lattice", "exp"], check=True, capture_output=True, text=True)
    assert "I4_1/acd (142)" in info.stdout
    for fmt, name in (("extxyz", "c.xyz"), ("deepmd-npy", "c_npy")):
        subprocess.run([sys.executable, "-m", "llzo_dp_tools.structures", fmt, "--structure", "cubic", "-o", str(tmp_path / name)], check=True, capture_output=True)
        assert (tmp_path / name).exists()


def test_committed_structure_files_are_current():
    for name, dims in (("tllzo_1x1x1.data", (1, 1, 1)), ("tllzo_2x1x1.data", (2, 1, 1))):
        path = structure_file(name)
        expected = L.format_lammps_data(L.supercell(L.tetragonal_llzo("exp"), *dims) if dims != (1, 1, 1) else L.tetragonal_llzo("exp"))
        with open(path) as f:
            assert f.read() == expected, f"{name} is stale: regenerate with python -m llzo_dp_tools.structures lammps-data --lattice exp"
