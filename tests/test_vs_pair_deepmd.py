"""llzo_dp against DeePMD-kit's own `pair_style deepmd` running the same model in the
same LAMMPS: a 20-step NVE run, thermo pe and pressure within 1e-8 relative, and
per-atom forces from a dump. Both run in the reference LAMMPS (update2), the build
DeePMD-kit 3.2.0's prebuilt plugin needs (see scripts/env.sh)."""

import numpy as np
import pytest

from llzo_dp_tools.lammps import perturbed, read_dump, tllzo, write_data
from checkout import TEST_MODEL, lammps

NVE = """
units metal
atom_style atomic
boundary {boundary}
read_data system.data
pair_style {style} {model}
pair_coeff * *{names}
velocity all create 600.0 4928459 mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
dump d all custom 5 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
thermo_style custom step pe ke etotal press pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
thermo 1
run 20
"""


def run_pair(tmp_path, style, boundary, names):
    r = lammps(tmp_path / style, NVE.format(style=style, model=TEST_MODEL, boundary=boundary, names=names),
               reference=True)
    assert r.returncode == 0, r.output[-3000:]
    return r, read_dump(tmp_path / style / "dump.txt")


@pytest.mark.parametrize("case", ["orthogonal", "triclinic", "slab"])
def test_same_trajectory_as_pair_deepmd(tmp_path, case):
    if case == "triclinic":
        system = perturbed(*tllzo(), seed=11, sigma=0.05, tilt=(0.7, 0.3, -0.5))
    else:
        system = perturbed(*tllzo(), seed=10, sigma=0.05)
    boundary = "p p f" if case == "slab" else "p p p"
    if case == "slab":  # open the cell along z so the slab has two free surfaces
        cell, pos, types = system
        cell = cell.copy()
        pos = pos.copy()
        pos[:, 2] += 5.0
        cell[2, 2] += 10.0
        system = (cell, pos, types)
    write_data(tmp_path / "system.data", *system)
    for sub in ("llzo_dp", "deepmd"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "system.data").write_bytes((tmp_path / "system.data").read_bytes())
    ours, our_dump = run_pair(tmp_path, "llzo_dp", boundary, " Li La Zr O")
    ref, ref_dump = run_pair(tmp_path, "deepmd", boundary, " Li La Zr O")
    a, b = ours.runs[0], ref.runs[0]
    assert len(a["Step"]) == 21
    worst = {c: (np.abs(a[c] - b[c]).max() / np.abs(b[c]).max()) for c in ("PotEng", "Press")}
    fworst = max(max(np.abs(fa[c] - fb[c]).max() for c in ("fx", "fy", "fz")) for fa, fb in zip(our_dump, ref_dump))
    print(f"\n{case} vs pair_style deepmd over 20 steps: rel. pe {worst['PotEng']:.1e}, "
          f"rel. press {worst['Press']:.1e}, max |dF| {fworst:.1e} eV/Å")
    for col in ("PotEng", "Press", "Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz", "TotEng"):
        scale = np.abs(b[col]).max()
        np.testing.assert_allclose(a[col], b[col], rtol=0, atol=1e-8 * scale, err_msg=col)
    for fa, fb in zip(our_dump, ref_dump):
        assert fa["step"] == fb["step"]
        diff = max(np.abs(fa[c] - fb[c]).max() for c in ("fx", "fy", "fz"))
        assert diff < 1e-8, (fa["step"], diff)
