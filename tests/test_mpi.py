"""Serial against MPI: 1, 2 and 4 ranks with two processor grids each give the same
thermo within 1e-10 relative over a 20-step NVE run."""

import numpy as np
import pytest

from llzo_dp_tools.lammps import perturbed, tllzo, write_data
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
