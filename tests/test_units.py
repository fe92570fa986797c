"""Every LAMMPS unit style that pair_style deepmd takes: the same system, written in the
style's units, gives llzo_dp the thermo and forces of pair_style deepmd over a short NVE
run (reference LAMMPS, within 1e-8 relative), and the first frame equals the metal run's
scaled by one eV and one Å in that style (CODATA 2018, independent of both codes)."""

import numpy as np
import pytest

from llzo_dp_tools.lammps import MASSES, TYPE_MAP, perturbed, read_dump, tllzo, write_data
from checkout import TEST_MODEL, lammps

AVOGADRO = 6.02214076e23
EV_J = 1.602176634e-19
# per style: one Å and one g/mol in the style's length and mass units, 1 fs in its time
# unit, one eV in its energy unit
STYLES = {
    "metal": (1.0, 1.0, 1e-3, 1.0),
    "real": (1.0, 1.0, 1.0, 96.48533212 / 4.184),
    "si": (1e-10, 1e-3 / AVOGADRO, 1e-15, EV_J),
    "cgs": (1e-8, 1.0 / AVOGADRO, 1e-15, EV_J * 1e7),
    "electron": (1.0 / 0.529177210903, 1.0, 1.0, 1.0 / 27.211386245988),
    "micro": (1e-4, 1e12 / AVOGADRO, 1e-9, EV_J * 1e15),
    "nano": (0.1, 1e18 / AVOGADRO, 1e-6, EV_J * 1e21),
}
# LAMMPS's constants are of older CODATA releases than the references above
CODATA_DRIFT = 2e-6

SCRIPT = """
units {units}
atom_style atomic
read_data ../system_{units}.data
{masses}
neighbor {skin:.17g} bin
pair_style {style} {model}
pair_coeff * * Li La Zr O
velocity all create 600.0 4928459 mom yes rot no dist gaussian
fix nve all nve
timestep {dt:.17g}
dump d all custom 5 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
thermo_style custom step pe ke etotal press pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
thermo 1
run 10
"""

COLUMNS = ("PotEng", "KinEng", "TotEng", "Press", "Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz")


@pytest.fixture(scope="module")
def system():
    return perturbed(*tllzo(), seed=12, sigma=0.05, tilt=(0.6, -0.3, 0.4))


def run_style(tmp_path, system, units, style):
    length, mass, fs, _ = STYLES[units]
    cell, pos, types = system
    data = tmp_path / f"system_{units}.data"
    if not data.exists():
        write_data(data, cell * length, pos * length, types)
    masses = "\n".join(f"mass {k + 1} {MASSES[e] * mass:.17g}" for k, e in enumerate(TYPE_MAP))
    r = lammps(tmp_path / f"{style}_{units}", SCRIPT.format(units=units, masses=masses, skin=2.0 * length, dt=fs,
                                                           style=style, model=TEST_MODEL), reference=True)
    assert r.returncode == 0, r.output[-3000:]
    return r.runs[0], read_dump(tmp_path / f"{style}_{units}" / "dump.txt")


@pytest.mark.parametrize("units", [u for u in STYLES if u != "metal"])  # metal: test_vs_pair_deepmd.py
def test_unit_style_matches_pair_deepmd(tmp_path, system, units):
    ours, our_dump = run_style(tmp_path, system, units, "llzo_dp")
    ref, ref_dump = run_style(tmp_path, system, units, "deepmd")
    assert len(ours["Step"]) == len(ref["Step"]) == 11
    worst = {}
    for col in COLUMNS:
        scale = np.abs(ref[col]).max()
        worst[col] = np.abs(ours[col] - ref[col]).max() / scale
        np.testing.assert_allclose(ours[col], ref[col], rtol=0, atol=1e-8 * scale, err_msg=col)
    fworst = 0.0
    for fa, fb in zip(our_dump, ref_dump, strict=True):
        assert fa["step"] == fb["step"]
        scale = max(np.abs(fb[c]).max() for c in ("fx", "fy", "fz"))
        diff = max(np.abs(fa[c] - fb[c]).max() for c in ("fx", "fy", "fz")) / scale
        fworst = max(fworst, diff)
        assert diff < 1e-8, (fa["step"], diff)
    print(f"\nunits {units} vs pair_style deepmd over 10 steps: rel. pe {worst['PotEng']:.1e}, "
          f"rel. press {worst['Press']:.1e}, rel. forces {fworst:.1e}")

    # the first frame is the metal one in other units: energy by one eV, forces by eV/Å
    metal, metal_dump = run_style(tmp_path, system, "metal", "llzo_dp")
    length, _, _, ev = STYLES[units]
    e_ratio = ours["PotEng"][0] / metal["PotEng"][0]
    k = np.argmax(np.abs(metal_dump[0]["fx"]))
    f_ratio = our_dump[0]["fx"][k] / metal_dump[0]["fx"][k]
    print(f"units {units}: energy factor {e_ratio:.10e} (one eV: {ev:.10e}), "
          f"force factor {f_ratio:.10e} (eV/Å: {ev / length:.10e})")
    assert abs(e_ratio / ev - 1) < CODATA_DRIFT
    for c in ("fx", "fy", "fz"):
        np.testing.assert_allclose(our_dump[0][c], metal_dump[0][c] * ev / length, rtol=CODATA_DRIFT,
                                   atol=CODATA_DRIFT * np.abs(metal_dump[0][c]).max() * ev / length)
