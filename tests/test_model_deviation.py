"""Model deviation with two models (and with four of different descriptors): llzo_dp's model_devi.out against pair_style deepmd's
for the same models and trajectory (reference LAMMPS), column for column within 1e-8,
and the same on 1 and 2 MPI ranks; the same for the keywords `atomic` (a column per atom),
`relative E` and `relative_v E`, also in units real."""

import numpy as np
import pytest

from llzo_dp_tools.lammps import perturbed, tllzo, write_data
from checkout import ROOT, TEST_MODEL, lammps

MODEL_B = ROOT / "tests" / "data" / "test_model" / "test_model_b.pth"

SCRIPT = """
units {units}
atom_style atomic
{grid}
read_data {data}
pair_style {style} {a} {b} out_file md.out out_freq 5 {options}
pair_coeff * *{names}
velocity all create 900 31 mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
run 20
"""


def load(path):
    lines = path.read_text().splitlines()
    return lines[0], np.array([[float(v) for v in l.split()] for l in lines[1:] if l.strip()])


def deviation_files(tmp_path, a, b, runs, units="metal", options=""):
    """The NVE of SCRIPT on tmp_path/system.data for each (name, style, ranks) of `runs`:
    each run's out_file (header, rows) by name, and the last run."""
    out = {}
    for name, style, ranks in runs:
        r = lammps(tmp_path / name, SCRIPT.format(style=style, a=a, b=b, names="" if style == "deepmd" else " Li La Zr O",
                                                  grid="processors 2 1 1" if ranks == 2 else "",
                                                  data=tmp_path / "system.data", units=units, options=options),
                   np_ranks=ranks, reference=True)
        assert r.returncode == 0, r.output[-3000:]
        out[name] = load(tmp_path / name / "md.out")
    return out, r


SERIAL_AND_MPI = [("deepmd", "deepmd", 1), ("llzo_dp", "llzo_dp", 1), ("llzo_dp_np2", "llzo_dp", 2)]


def test_model_devi_matches_pair_deepmd_and_mpi(tmp_path):
    write_data(tmp_path / "system.data", *perturbed(*tllzo(2, 1, 1), seed=81, sigma=0.05))
    out, _ = deviation_files(tmp_path, TEST_MODEL, MODEL_B, SERIAL_AND_MPI)
    (h_ref, ref), (h_ours, ours), (_, ours2) = out["deepmd"], out["llzo_dp"], out["llzo_dp_np2"]
    assert h_ours.split() == h_ref.split()
    assert ours.shape == ref.shape == (5, 7)
    print(f"\nmodel_devi.out vs pair_style deepmd: max |diff| {np.abs(ours - ref).max():.1e}; "
          f"max_devi_f at step 20: {ours[-1, 4]:.4f} eV/Å")
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours2, ours, rtol=0, atol=1e-8)
    assert ours[:, 4].max() > 1e-3  # the two models do disagree


@pytest.mark.parametrize("options,units,ranks", [
    ("atomic", "metal", 1),
    ("relative 1.0", "metal", 1),
    ("relative_v 1.0", "metal", 1),
    ("atomic relative 0.5 relative_v 2.0", "real", 2),
])
def test_deviation_options_match_pair_deepmd(tmp_path, options, units, ranks):
    """Every column of out_file, per-atom ones included, equal to pair_style deepmd's within
    1e-8 relative (its file in units real carries the unit factor on relative values too)."""
    write_data(tmp_path / "system.data", *perturbed(*tllzo(), seed=82, sigma=0.08))
    out, r = deviation_files(tmp_path, TEST_MODEL, MODEL_B, [("deepmd", "deepmd", 1), ("llzo_dp", "llzo_dp", ranks)],
                             units=units, options=options)
    if units != "metal":  # the log says that relative values carry the unit factors
        assert "the relative deviations are multiplied by 2.3060550102e1" in r.log, r.log[-3000:]
        assert "the relative_v deviations are multiplied by 2.3060550102e1" in r.log
    (h_ref, ref), (h_ours, ours) = out["deepmd"], out["llzo_dp"]
    assert h_ours.split() == h_ref.split()
    columns = 7 + (192 if "atomic" in options else 0)
    assert ours.shape == ref.shape == (5, columns)
    rel = np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-300)
    print(f"\n{options} ({units}, {ranks} rank(s)) vs pair_style deepmd: {ref.size} values, "
          f"max rel. diff {rel.max():.1e}; max_devi_f {ours[-1, 4]:.4g}, max_devi_v {ours[-1, 1]:.4g}")
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=0)
    assert np.all(ours[:, 1:] > 0)  # the two models disagree on every column
    if "atomic" in options:  # the per-atom columns are the atoms' deviations: their max is max_devi_f
        np.testing.assert_allclose(ours[:, 7:].max(axis=1), ours[:, 4], rtol=1e-6)


def test_deviation_across_descriptors_matches_pair_deepmd(tmp_path):
    """Five models of different descriptors: se_e2_a and se_e2_r (native evaluator), the hybrid
    se_e2_a + se_e3 (native), se_atten_v2 and DPA-2 (TorchScript); out_file equal to pair_style
    deepmd's within 1e-8 relative, on 1 and 2 ranks (there DPA-2's features go through the
    ghost exchange, and every model takes the atoms in LAMMPS's order)."""
    models = ROOT / "tests" / "data" / "test_model"
    others = " ".join(str(models / f"test_model_{k}.pth") for k in ("se_e2_r", "hybrid", "se_atten_v2", "dpa2"))
    write_data(tmp_path / "system.data", *perturbed(*tllzo(), seed=83, sigma=0.08))
    out, _ = deviation_files(tmp_path, TEST_MODEL, others, SERIAL_AND_MPI)
    (h_ref, ref), (h_ours, ours), (_, ours2) = out["deepmd"], out["llzo_dp"], out["llzo_dp_np2"]
    assert h_ours.split() == h_ref.split()
    assert ours.shape == ref.shape == (5, 7)
    rel = np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-300)
    print(f"\nfive descriptors vs pair_style deepmd: max rel. diff {rel.max():.1e}; max_devi_f {ours[-1, 4]:.4g}")
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=0)
    np.testing.assert_allclose(ours2, ours, rtol=1e-8, atol=0)
    assert np.all(ours[:, 1:] > 0)
