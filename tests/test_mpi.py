"""Serial against MPI: 1, 2 and 4 ranks with two processor grids each give the same
thermo within 1e-10 relative over a 20-step NVE run; a message-passing model with ranks that
own no atoms gives the serial energy and forces."""

import numpy as np
import pytest

from llzo_dp_tools.lammps import perturbed, read_dump, tllzo, write_data
from checkout import TEST_MODEL, lammps

SCRIPT = """
units metal
atom_style atomic
{grid}
read_data ../system.data
pair_style llzo_dp {model}
pair_coeff * * Li La Zr O
velocity all create 800.0 87287 mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
thermo_style custom step pe ke etotal press pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
thermo 2
run 20
"""

GRIDS = [(1, None), (2, "2 1 1"), (2, "1 2 1"), (4, "2 2 1"), (4, "1 1 4")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("mpi")
    write_data(d / "system.data", *perturbed(*tllzo(2, 1, 1), seed=31, sigma=0.05, tilt=(0.5, 0.0, 0.3)))
    out = {}
    for np_ranks, grid in GRIDS:
        name = f"np{np_ranks}_{(grid or 'auto').replace(' ', 'x')}"
        r = lammps(d / name, SCRIPT.format(grid=f"processors {grid}" if grid else "", model=TEST_MODEL),
                   np_ranks=np_ranks)
        assert r.returncode == 0, r.output[-3000:]
        out[(np_ranks, grid)] = r.runs[0]
    return out


@pytest.mark.parametrize("np_ranks,grid", GRIDS[1:])
def test_mpi_matches_serial(runs, np_ranks, grid):
    serial, par = runs[(1, None)], runs[(np_ranks, grid)]
    for col in serial:
        scale = max(np.abs(serial[col]).max(), 1e-300)
        np.testing.assert_allclose(par[col], serial[col], rtol=0, atol=1e-10 * scale, err_msg=col)


EMPTY_RANKS = """
units metal
atom_style atomic
boundary p p f
{grid}
read_data ../system.data
pair_style llzo_dp {model}
pair_coeff * * Li La Zr O
velocity all create 600.0 4928459 mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
dump d all custom 5 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
thermo_style custom step pe ke etotal press
thermo_modify format float %.17g
thermo 5
run 10
"""


def test_message_passing_with_ranks_that_own_no_atoms_matches_serial(tmp_path):
    """DPA-2 on a slab with 40 Å of vacuum split into four 13 Å slices along z: the upper ranks
    own no atoms but still take part in every feature exchange of the other ranks (a rank that
    skipped the model would leave them waiting); energy and forces equal one rank's."""
    cell, pos, types = perturbed(*tllzo(), seed=10, sigma=0.05)
    cell, pos = cell.copy(), pos.copy()
    pos[:, 2] += 1.0
    cell[2, 2] += 40.0
    write_data(tmp_path / "system.data", cell, pos, types)
    model = TEST_MODEL.parent / "test_model_dpa2.pth"
    out = {}
    for n, grid in [(1, ""), (4, "processors 1 1 4")]:
        r = lammps(tmp_path / f"np{n}", EMPTY_RANKS.format(grid=grid, model=model), np_ranks=n, timeout=300)
        assert r.returncode == 0, r.output[-3000:]
        out[n] = (r.runs[0], read_dump(tmp_path / f"np{n}" / "dump.txt"))
    (serial, sd), (par, pd) = out[1], out[4]
    np.testing.assert_allclose(par["PotEng"], serial["PotEng"], rtol=0, atol=1e-10 * np.abs(serial["PotEng"]).max())
    for a, b in zip(pd, sd):
        assert max(np.abs(a[c] - b[c]).max() for c in ("fx", "fy", "fz")) < 1e-10
