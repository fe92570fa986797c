"""Regression runs of the shipped LLZO model on tetragonal LLZO supercells.

- step 0 on displaced 1x1x1 and 2x1x1 cells: energy, forces and pressure against golden values
  computed by DeePMD-kit's DeepPot (tests/golden/make_golden.py), within 1e-8 relative;
- NPT at 300 K keeps the cell tetragonal, NPT at 1500 K (well above the transition) turns it
  cubic; thresholds from measured runs (see the constants);
- NVE energy conservation on the 192-atom cell.
"""

import hashlib
import json

import numpy as np
import pytest

from llzo_dp_tools.lammps import NKTV2P_METAL, read_dump, tllzo, write_data
from checkout import ROOT, SHIPPED_MODEL as MODEL, lammps

GOLDEN = ROOT / "tests" / "golden"
REL = 1e-8

# NPT thresholds, from measured runs (192 atoms, Pdamp 0.2 ps, c/a = mean over the second half).
# Shipped hybrid model: 300 K, 1 ps: c/a = 0.9504. 1500 K: after 1 ps the cell is still
# relaxing (c/a over 0.5-1 ps = 0.9865, 0.9975, 0.9822 for velocity seeds 4711, 11, 22), after
# 2 ps it is cubic (c/a over 1-2 ps = 0.9998, 0.9917, 1.0071), so the 1500 K run is 2 ps long.
# (Stage-2 model, shipped 2026-11-26 to 2026-11-27: 300 K 0.9563, 1500 K 1.0066 after 1 ps.) In the
# heating ladders the tetragonal cell still has c/a = 0.96-0.98 near the transition. So:
# tetragonal means c/a < 0.975 (0.025 above the 300 K value), cubic means |1 - c/a| < 0.015
# (between the cubic scatter, <= 0.009, and the hottest tetragonal values, >= 0.02 off).
TETRAGONAL_MAX = 0.975
CUBIC_TOL = 0.015

STEP0 = """
units metal
atom_style atomic
read_data {data}
pair_style llzo_dp {model}
pair_coeff * * Li La Zr O
dump d all custom 1 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
thermo_style custom step pe pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
run 0
"""

NPT = """
units metal
atom_style atomic
read_data system.data
pair_style llzo_dp {model}
pair_coeff * * Li La Zr O
velocity all create {T} 4711 mom yes rot yes dist gaussian
fix npt all npt temp {T} {T} 0.1 aniso 1.0 1.0 0.2
timestep 0.001
thermo_style custom step temp pe lx ly lz
thermo_modify format float %.10g
thermo 10
run {steps}
"""

NVE = """
units metal
atom_style atomic
read_data system.data
pair_style llzo_dp {model}
pair_coeff * * Li La Zr O
velocity all create 1000.0 12345 mom yes rot yes dist gaussian
fix nve all nve
timestep 0.001
thermo_style custom step temp pe etotal
thermo_modify format float %.15g
thermo 10
run {steps}
"""


@pytest.fixture(scope="module")
def golden():
    g = json.loads((GOLDEN / "shipped_model.json").read_text())
    sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert g["model_sha256"] == sha, "the shipped model changed: rerun tests/golden/make_golden.py and commit"
    return g


@pytest.mark.parametrize("case", ["1x1x1", "2x1x1"])
def test_step0_against_golden(tmp_path, golden, case):
    g = golden["cases"][case]
    r = lammps(tmp_path, STEP0.format(data=GOLDEN / g["data"], model=MODEL))
    assert r.returncode == 0, r.output[-3000:]
    t = r.runs[0]
    e = t["PotEng"][0]
    f = np.stack([read_dump(tmp_path / "dump.txt")[0][k] for k in ("fx", "fy", "fz")], axis=1)
    p = np.array([t[k][0] for k in ("Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz")])
    fg, pg = np.array(g["forces"]), np.array(g["pressure"])
    de = abs(e - g["energy"]) / abs(g["energy"])
    df = np.abs(f - fg).max() / np.abs(fg).max()
    dp = np.abs(p - pg).max() / np.abs(pg).max()
    print(f"\n{case}: relative |dE| {de:.1e}, max |dF| / max |F| {df:.1e}, max |dP| / max |P| {dp:.1e}")
    assert de < REL and df < REL and dp < REL


def c_over_a(run):
    lx, ly, lz = (run[k][len(run[k]) // 2:].mean() for k in ("Lx", "Ly", "Lz"))
    return lz / (0.5 * (lx + ly))


def npt(tmp_path, T, steps=1000):
    write_data(tmp_path / "system.data", *tllzo())
    r = lammps(tmp_path, NPT.format(model=MODEL, T=T, steps=steps), timeout=1500)
    assert r.returncode == 0, r.output[-3000:]
    return r.runs[0]


def test_npt_300K_stays_tetragonal(tmp_path):
    t = npt(tmp_path, 300)
    ca = c_over_a(t)
    print(f"\nNPT 300 K, 192 atoms, 1 ps: c/a = {ca:.4f} (mean over the last 0.5 ps), T = {t['Temp'][50:].mean():.0f} K")
    assert ca < TETRAGONAL_MAX


def test_npt_1500K_turns_cubic(tmp_path):
    # 5 ps: the model of 2026-12-02 reaches the cubic cell after ~3 ps (c/a by 1 ps window 0.983,
    # 0.987, 0.996, 1.008; 1.000 over the last 2.5 ps), and the 192-atom box swings by ±0.3 Å
    t = npt(tmp_path, 1500, steps=5000)
    ca = c_over_a(t)
    print(f"\nNPT 1500 K, 192 atoms, 5 ps: c/a = {ca:.4f} (mean over the last 2.5 ps), T = {t['Temp'][100:].mean():.0f} K")
    assert abs(1 - ca) < CUBIC_TOL


def test_nve_conserves_energy(tmp_path):
    write_data(tmp_path / "system.data", *tllzo())
    r = lammps(tmp_path, NVE.format(model=MODEL, steps=1000), timeout=1500)
    assert r.returncode == 0, r.output[-3000:]
    t = r.runs[0]
    etot, time_ps = t["TotEng"], t["Step"] * 0.001
    drift = abs(np.polyfit(time_ps, etot, 1)[0]) / 192 * (time_ps[-1] - time_ps[0])
    spread = (etot.max() - etot.min()) / 192
    print(f"\nNVE 1 ps (shipped model): drift {drift:.2e} eV/atom, max excursion {spread:.2e} eV/atom, "
          f"mean T {t['Temp'][50:].mean():.0f} K")
    assert drift < 1e-4
    assert spread < 1e-3
