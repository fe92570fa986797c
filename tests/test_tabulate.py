"""The native evaluator's embedding tables built at load time (`tabulate yes`, the default)
against the nets themselves (`tabulate no`) and DeePMD-kit's graph (`backend torch`): forces,
energy and virial within 1e-10, also for a pair closer than the table's range (1 Å), which
goes through the net."""

import numpy as np
import pytest

from llzo_dp_tools.lammps import perturbed, read_dump, tllzo, write_data
from checkout import HYBRID_MODEL, TEST_MODEL, lammps

RUN0 = """
units metal
atom_style atomic
boundary p p p
read_data system.data
pair_style llzo_dp {model} {options}
pair_coeff * * Li La Zr O
dump d all custom 1 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
thermo_style custom step pe press pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
run 0
"""


def close_pair_system():
    """Jittered t-LLZO with one Li moved to 0.9 Å of its nearest O."""
    cell, pos, types = perturbed(*tllzo(), seed=4, sigma=0.05)
    li = int(np.flatnonzero(types == 1)[0])
    o = np.flatnonzero(types == 4)
    d = pos[o] - pos[li]
    d -= np.round(d @ np.linalg.inv(cell)) @ cell
    k = int(np.argmin(np.linalg.norm(d, axis=1)))
    pos = pos.copy()
    pos[li] = pos[o[k]] - d[k] / np.linalg.norm(d[k]) * 0.9
    return cell, pos, types


@pytest.mark.parametrize("model", [TEST_MODEL, HYBRID_MODEL], ids=["se_e2_a", "hybrid"])
def test_tables_equal_the_nets(tmp_path, model):
    system = close_pair_system()
    out = {}
    for name, options in [("tables", "backend native"), ("nets", "backend native tabulate no"),
                          ("graph", "backend torch")]:
        (tmp_path / name).mkdir()
        write_data(tmp_path / name / "system.data", *system)
        r = lammps(tmp_path / name, RUN0.format(model=model, options=options))
        assert r.returncode == 0, r.output[-3000:]
        if name == "tables":
            assert "embedding tabulated at load (interpolation error" in r.output
        f = read_dump(tmp_path / name / "dump.txt")[0]
        thermo = r.runs[0]
        out[name] = (np.stack([f["fx"], f["fy"], f["fz"]], axis=1),
                     np.array([thermo[c][0] for c in ("PotEng", "Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz")]))
    f_ref, e_ref = out["graph"]
    for name in ("tables", "nets"):
        f, e = out[name]
        df, de = np.abs(f - f_ref).max(), np.abs(e - e_ref).max()
        print(f"\n{model.stem} {name} vs graph: max |dF| {df:.1e} eV/Å, max |d(pe, p)| {de:.1e}")
        assert df < 1e-10, (name, df)
        np.testing.assert_allclose(e, e_ref, rtol=1e-10, atol=1e-8)
    assert np.abs(f_ref).max() > 1.0  # the close pair pushes hard
