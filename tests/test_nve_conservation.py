"""NVE at 600 K, dt 1 fs, 2 ps on the 192-atom t-LLZO cell: total-energy drift below
1e-4 eV/atom, in float64 and with the native evaluator in float32 (`precision float32`). The
measured drift is printed (pytest -s)."""

import numpy as np
import pytest

from llzo_dp_tools.lammps import tllzo, write_data
from checkout import TEST_MODEL, lammps

SCRIPT = """
units metal
atom_style atomic
read_data system.data
pair_style llzo_dp {model} {options}
pair_coeff * * Li La Zr O
velocity all create 1200.0 12345 mom yes rot yes dist gaussian
fix nve all nve
timestep 0.001
thermo_style custom step temp pe etotal
thermo_modify format float %.15g
thermo 20
run 2000
"""


@pytest.mark.parametrize("options", ["", "precision float32"])
def test_energy_drift_below_1e4_ev_per_atom(tmp_path, options):
    # 1200 K initial kinetic energy from the perfect crystal equilibrates near 600 K.
    write_data(tmp_path / "system.data", *tllzo())
    r = lammps(tmp_path, SCRIPT.format(model=TEST_MODEL, options=options), timeout=1500)
    assert r.returncode == 0, r.output[-3000:]
    t = r.runs[0]
    n = 192
    etot = t["TotEng"]
    time_ps = t["Step"] * 0.001
    slope = np.polyfit(time_ps, etot, 1)[0] / n  # eV/atom/ps
    drift = abs(slope) * (time_ps[-1] - time_ps[0])
    spread = (etot.max() - etot.min()) / n
    temp = t["Temp"][len(t["Temp"]) // 2:].mean()
    print(f"\nNVE 2 ps ({options or 'float64'}): mean T {temp:.0f} K, drift {drift:.2e} eV/atom over 2 ps, "
          f"max excursion {spread:.2e} eV/atom")
    assert 450 < temp < 750
    assert drift < 1e-4
    assert spread < 1e-3  # fluctuation of velocity Verlet at 1 fs, not drift
