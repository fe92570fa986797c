"""Model deviation with two models: llzo_dp's model_devi.out against pair_style deepmd's
for the same models and trajectory (reference LAMMPS), column for column within 1e-8,
and the same on 1 and 2 MPI ranks."""

import numpy as np

from llzo_dp_tools.lammps import perturbed, tllzo, write_data
from checkout import ROOT, TEST_MODEL, lammps

MODEL_B = ROOT / "tests" / "data" / "test_model" / "test_model_b.pth"

SCRIPT = """
units metal
atom_style atomic
{grid}
read_data {data}
pair_style {style} {a} {b} out_file md.out out_freq 5
pair_coeff * *{names}
velocity all create 900 31 mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
run 20
"""


def load(path):
    lines = path.read_text().splitlines()
    return lines[0], np.array([[float(v) for v in l.split()] for l in lines[1:] if l.strip()])


def test_model_devi_matches_pair_deepmd_and_mpi(tmp_path):
    write_data(tmp_path / "system.data", *perturbed(*tllzo(2, 1, 1), seed=81, sigma=0.05))
    out = {}
    for name, style, names, ranks, grid in [("deepmd", "deepmd", "", 1, ""),
                                            ("llzo_dp", "llzo_dp", " Li La Zr O", 1, ""),
                                            ("llzo_dp_np2", "llzo_dp", " Li La Zr O", 2, "processors 2 1 1")]:
        r = lammps(tmp_path / name, SCRIPT.format(style=style, a=TEST_MODEL, b=MODEL_B, names=names, grid=grid,
                                                  data=tmp_path / "system.data"),
                   np_ranks=ranks, reference=True)
        assert r.returncode == 0, r.output[-3000:]
        out[name] = load(tmp_path / name / "md.out")
    (h_ref, ref), (h_ours, ours), (_, ours2) = out["deepmd"], out["llzo_dp"], out["llzo_dp_np2"]
    assert h_ours.split() == h_ref.split()
    assert ours.shape == ref.shape == (5, 7)
    print(f"\nmodel_devi.out vs pair_style deepmd: max |diff| {np.abs(ours - ref).max():.1e}; "
          f"max_devi_f at step 20: {ours[-1, 4]:.4f} eV/Å")
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours2, ours, rtol=0, atol=1e-8)
    assert ours[:, 4].max() > 1e-3  # the two models do disagree
