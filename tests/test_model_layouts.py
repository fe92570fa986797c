"""se_e2_a models in the layouts DeePMD-kit 3.2 writes, through `backend native`, against
DeepPot within 1e-10 (tests/data/test_model/train_layouts.sh builds them):

- "precision" left out of the input: DeePMD-kit's default, float64 weights; the native
  evaluator reads the dtype from the tensors, not the definition's precision string;
- type_one_side true (one embedding net per neighbor type) and false (one per type pair),
  both with "type_one_side" absent from the definition the model carries (as in DeePMD-kit's
  converted test models, e.g. deeppot_sea): the nets alone say which layout it is;
- the type_one_side model compressed by DeePMD-kit (one table per neighbor type);
- float32 weights (se_e2_a, se_e2_r, hybrid): run natively in float32 (DeePMD-kit's casts),
  within 1e-6 relative of the float64 evaluation of the same weights and, for forces, closer to
  it than DeepPot's own float32 numbers; `precision float32` runs a float64 model in float32;
  float32 se_atten_v2, DPA-2 and DPA-3 through their graph (test_acceptance_matrix.py).

Also the other descriptors (se_e2_r natively; se_atten_v2, DPA-2, DPA-3 through TorchScript),
fparam/aparam models and message passing across ranks.

LLZO_DP_DEEPPOT_SEA=<path to a .pth> adds DeePMD-kit's own se_e2_a test model (water, O H;
`dp convert-backend deeppot_sea.yaml deeppot_sea.pth` from DeePMD-kit's source/tests/infer)."""

import os
from pathlib import Path

import numpy as np
import pytest

from llzo_dp_tools.lammps import NKTV2P_METAL, perturbed, read_dump, tllzo, write_data
from checkout import HYBRID_MODEL, ROOT, lammps
from test_reference_deeppot import check_against_deeppot, run_both

MODELS = ROOT / "tests" / "data" / "test_model"
DEEPPOT_SEA = os.environ.get("LLZO_DP_DEEPPOT_SEA")


@pytest.mark.parametrize("backend", ["native", "tables"])
@pytest.mark.parametrize("layout", ["default_precision", "one_side", "two_side"])
def test_layout_runs_natively_and_equals_deeppot(tmp_path, layout, backend):
    from deepmd.infer import DeepPot

    model = MODELS / f"test_model_{layout}.pth"
    cell, pos, types = perturbed(*tllzo(), seed=31, sigma=0.1, strain=0.01, tilt=(0.4, -0.3, 0.2))
    r, d, ref = run_both(tmp_path, DeepPot(str(model)), cell, pos, types, model=model, backend=backend)
    assert "native evaluator for se_e2_a" in r.output
    check_against_deeppot(r, d, ref)


def test_compressed_one_side_layout_runs_natively(tmp_path):
    """The type_one_side model compressed by DeePMD-kit: one table per neighbor type."""
    from deepmd.infer import DeepPot
    from conftest import compress

    model = compress(MODELS / "test_model_one_side.pth", tmp_path)
    cell, pos, types = perturbed(*tllzo(), seed=34, sigma=0.1, tilt=(0.6, 0.2, -0.4))
    r, d, ref = run_both(tmp_path, DeepPot(str(model)), cell, pos, types, model=model, backend="native")
    assert "native evaluator for se_e2_a, compressed" in r.output
    check_against_deeppot(r, d, ref)


# float32 against DeePMD-kit: both round the same float64 numbers (the same weights computed
# in float64, `precision float64`), in different orders. DeePMD-kit's own float32 results are
# up to 2.3e-6 (forces) and 1.3e-6 (virial) from those numbers on the frame below (hybrid
# model), relative to the largest value; llzo_dp's within 3e-7 (measured 2026-12-01): every
# quantity is compared with that exact reference, and the forces must be closer than DeepPot's.
F32_RTOL = 1e-6


def lammps_values(r, d):
    """Energy, forces, virial (xx yy zz xy xz yz, eV) and atomic energies of a LAMMPS run."""
    thermo = r.runs[0]
    virial = np.array([thermo[k][0] for k in ("Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz")]) * thermo["Volume"][0] / NKTV2P_METAL
    return thermo["PotEng"][0], forces(d), virial, d["c_pe"]


def deeppot_values(ref):
    e, f, v, ae, _ = ref
    return e, f, v[[0, 4, 8, 3, 6, 7]], ae


def spread(a, b):
    """Largest difference of each quantity, relative to the largest value in `b`."""
    return {k: np.abs(np.asarray(x) - y).max() / np.abs(y).max() for k, x, y in zip(("E", "F", "virial", "e_i"), a, b)}


def relative_errors(r, d, ref):
    return spread(lammps_values(r, d), deeppot_values(ref))


def forces(d):
    return np.stack([d["fx"], d["fy"], d["fz"]], axis=1)


# float32 models of each natively run descriptor (train_layouts.sh float32,
# train_variant.sh se_e2_r_float32 / hybrid_float32), by the name the log gives them
NATIVE_FLOAT32 = {"float32": "se_e2_a", "se_e2_r_float32": "se_e2_r", "hybrid_float32": "hybrid se_e2_a + se_e3"}


@pytest.mark.parametrize("variant", list(NATIVE_FLOAT32))
@pytest.mark.parametrize("backend", ["native tabulate no", "native"])
def test_float32_model_runs_natively_in_float32_and_equals_deeppot(tmp_path, backend, variant):
    from deepmd.infer import DeepPot

    model = MODELS / f"test_model_{variant}.pth"
    dp = DeepPot(str(model))
    cell, pos, types = perturbed(*tllzo(), seed=32, sigma=0.1, strain=0.01, tilt=(0.4, -0.3, 0.2))
    for sub in ("f32", "f64"):
        (tmp_path / sub).mkdir()
    r, d, ref = run_both(tmp_path / "f32", dp, cell, pos, types, model=model, backend=backend)
    name = NATIVE_FLOAT32[variant]
    assert f"native evaluator for {name}" in r.output and ", float32 (TorchScript" in r.output, r.output[-2000:]
    r64, d64, _ = run_both(tmp_path / "f64", dp, cell, pos, types, model=model, backend=f"{backend} precision float64")
    assert "float64 (weights stored in float32, precision float64)" in r64.output
    # the float64 evaluation of the same weights is the exact reference of both float32 results
    exact = lammps_values(r64, d64)
    ours, theirs = spread(lammps_values(r, d), exact), spread(deeppot_values(ref), exact)
    err = relative_errors(r, d, ref)
    print(f"\nfloat32 {name} model ({backend}) from the float64 evaluation: "
          + ", ".join(f"{k} llzo_dp {ours[k]:.1e} DeepPot {theirs[k]:.1e}" for k in ours)
          + "; vs DeepPot: " + ", ".join(f"{k} {v:.1e}" for k, v in err.items()))
    assert all(v < F32_RTOL for v in ours.values()), ours
    assert ours["F"] <= theirs["F"], (ours, theirs)


def test_precision_float32_on_a_float64_model(tmp_path):
    """The opt-in float32 arithmetic for a float64 model: close to its float64 numbers, not
    equal to them, and said so in the log."""
    from deepmd.infer import DeepPot

    model = MODELS / "test_model_two_side.pth"
    cell, pos, types = perturbed(*tllzo(), seed=35, sigma=0.1)
    r, d, ref = run_both(tmp_path, DeepPot(str(model)), cell, pos, types, model=model, backend="native precision float32")
    # against the float64 numbers of the same weights: DeepPot is exact here
    assert "float32 (weights stored in float64, precision float32)" in r.output, r.output[-2000:]
    err = relative_errors(r, d, ref)
    print("\nfloat64 model in float32 vs DeepPot: " + ", ".join(f"{k} {v:.1e}" for k, v in err.items()))
    assert all(v < 1e-5 for v in err.values()), err
    assert err["F"] > 1e-12, "float32 arithmetic, not float64"


def test_precision_float32_on_the_hybrid_model(tmp_path):
    """The se_e3 part in float32 too (hybrid se_e2_a + se_e3), against DeepPot's float64."""
    from deepmd.infer import DeepPot

    cell, pos, types = perturbed(*tllzo(), seed=37, sigma=0.1, tilt=(0.3, 0.2, -0.1))
    r, d, ref = run_both(tmp_path, DeepPot(str(HYBRID_MODEL)), cell, pos, types, model=HYBRID_MODEL,
                         backend="native precision float32")
    assert "hybrid se_e2_a + se_e3" in r.output and "precision float32)" in r.output, r.output[-2000:]
    err = relative_errors(r, d, ref)
    print("\nhybrid model in float32 vs DeepPot: " + ", ".join(f"{k} {v:.1e}" for k, v in err.items()))
    assert all(v < 1e-5 for v in err.values()), err
    assert err["F"] > 1e-12


RUN_ZERO = """units metal
atom_style atomic
read_data {data}
pair_style llzo_dp {style}
pair_coeff * * Li La Zr O
run 0
"""


def run_zero(workdir, style, data="system.data", np_ranks=1):
    """One `run 0` of `pair_style llzo_dp <style>` on the LLZO data file `data`."""
    return lammps(workdir, RUN_ZERO.format(data=data, style=style), np_ranks=np_ranks)


def test_precision_keyword_with_torchscript_is_refused(tmp_path):
    cell, pos, types = perturbed(*tllzo(), seed=36, sigma=0.1)
    write_data(tmp_path / "system.data", cell, pos, types)
    r = run_zero(tmp_path, f"{MODELS / 'test_model_two_side.pth'} backend torch precision float32")
    assert r.returncode != 0
    assert "'precision' applies to the native evaluator" in r.output and "leave 'precision' out" in r.output, r.output[-2000:]


def water(seed: int, n: int = 24, box: float = 9.0):
    """n water molecules at random places and orientations in a cubic box, O type 1, H 2."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    centers = (grid[rng.permutation(len(grid))[:n]] + 0.5) * box / 3 + rng.normal(0, 0.2, (n, 3))
    pos, types = [], []
    for c in centers:
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        h = np.array([[0.96, 0, 0], [0.96 * np.cos(1.82), 0.96 * np.sin(1.82), 0]]) @ q
        pos += [c, c + h[0], c + h[1]]
        types += [1, 2, 2]
    return np.diag([box] * 3), np.array(pos), np.array(types)


@pytest.mark.skipif(not DEEPPOT_SEA, reason="LLZO_DP_DEEPPOT_SEA is not set")
def test_deepmd_kit_se_e2_a_test_model(tmp_path):
    from deepmd.infer import DeepPot

    cell, pos, types = water(seed=33)
    # masses do not enter a single-point run; write_data knows the LLZO elements
    write_data(tmp_path / "system.data", cell, pos, types, elements=["O", "Li"])
    r = lammps(tmp_path, f"""units metal
atom_style atomic
read_data system.data
pair_style llzo_dp {Path(DEEPPOT_SEA).resolve()} backend native tabulate no
pair_coeff * * O H
compute pe all pe/atom
dump d all custom 1 dump.txt id type x y z fx fy fz c_pe
dump_modify d format float %.17g sort id
thermo_style custom step pe
thermo_modify format float %.17g
run 0
""")
    assert r.returncode == 0, r.output[-3000:]
    assert "native evaluator for se_e2_a" in r.output
    d = read_dump(tmp_path / "dump.txt")[0]
    x = np.stack([d["x"], d["y"], d["z"]], axis=1)
    e, f, _, ae, _ = DeepPot(DEEPPOT_SEA).eval(x.reshape(1, -1), cell.reshape(1, 9), (d["type"].astype(int) - 1).tolist(),
                                               atomic=True)
    assert abs(r.runs[0]["PotEng"][0] - e.item()) < 1e-10
    assert np.abs(np.stack([d["fx"], d["fy"], d["fz"]], axis=1) - f.reshape(-1, 3)).max() < 1e-10
    assert np.abs(d["c_pe"] - ae.reshape(-1)).max() < 1e-10
    print(f"\ndeeppot_sea vs DeepPot (native): |dE| {abs(r.runs[0]['PotEng'][0] - e.item()):.1e} eV, "
          f"max |dF| {np.abs(np.stack([d['fx'], d['fy'], d['fz']], axis=1) - f.reshape(-1, 3)).max():.1e} eV/Å")


@pytest.mark.parametrize("descriptor", ["se_atten_v2", "dpa2", "dpa3"])
def test_other_descriptors_run_through_torchscript_and_equal_deeppot(tmp_path, descriptor):
    """Uncompressed se_atten_v2, DPA-2 and DPA-3 models (tests/data/test_model/train_variant.sh):
    their graphs name deepmd::tabulate_fusion_se_atten / _se_t_tebd and border_op, whose
    schemas the plugin registers, so they load; `backend auto` says why the native evaluator does
    not take them, and the TorchScript path equals DeepPot within 1e-10, per-atom virial
    included. DPA-2 and DPA-3 pass messages between layers: on one rank each ghost takes its local
    atom's features through `mapping` (it stopped at load with "message-passing model")."""
    from deepmd.infer import DeepPot

    model = MODELS / f"test_model_{descriptor}.pth"
    cell, pos, types = perturbed(*tllzo(), seed=38, sigma=0.1, strain=0.01, tilt=(0.5, -0.2, 0.3))
    r, d, ref = run_both(tmp_path, DeepPot(str(model)), cell, pos, types, model=model, backend="torch")
    check_against_deeppot(r, d, ref)
    auto = run_zero(tmp_path / "auto", model, data="../system.data")
    assert auto.returncode == 0, auto.output[-2000:]
    assert f"TorchScript (native evaluator not used: model: descriptor '{descriptor}'" in auto.output, auto.output[-2000:]


@pytest.mark.parametrize("backend", ["native", "tables", "native precision float32"])
def test_se_e2_r_runs_natively_and_equals_deeppot(tmp_path, backend):
    """The radial se_e2_r model (train_variant.sh) on the native evaluator: its nets within
    1e-10 of DeepPot (energy, forces, virial, per-atom energy), its tables built at load within
    their bound, float32 arithmetic within 1e-6 relative; `backend auto` takes it (it went
    through TorchScript: "descriptor 'se_e2_r' (the native evaluator knows se_e2_a ...)")."""
    from deepmd.infer import DeepPot

    model = MODELS / "test_model_se_e2_r.pth"
    cell, pos, types = perturbed(*tllzo(), seed=42, sigma=0.1, strain=0.01, tilt=(0.5, -0.2, 0.3))
    dp = DeepPot(str(model))
    r, d, ref = run_both(tmp_path, dp, cell, pos, types, model=model, backend=backend)
    assert "native evaluator for se_e2_r" in r.output, r.output[-2000:]
    if "float32" not in backend:
        check_against_deeppot(r, d, ref)
        return
    assert "float32 (weights stored in float64, precision float32)" in r.output, r.output[-2000:]
    err = relative_errors(r, d, ref)
    print("\nse_e2_r in float32 vs DeepPot: " + ", ".join(f"{k} {v:.1e}" for k, v in err.items()))
    assert max(err.values()) < 1e-6, err
    assert err["F"] > 1e-12, "float32 arithmetic, not float64"


def test_se_e2_r_takes_the_native_evaluator_by_default(tmp_path):
    """`backend auto` runs an se_e2_r model natively and says so in the log."""
    model = MODELS / "test_model_se_e2_r.pth"
    write_data(tmp_path / "system.data", *perturbed(*tllzo(), seed=43, sigma=0.05))
    r = run_zero(tmp_path, model)
    assert r.returncode == 0, r.output[-2000:]
    assert "| native evaluator for se_e2_r" in r.output, r.output[-2000:]


def test_message_passing_model_with_null_types_on_several_ranks_is_refused_with_the_fix(tmp_path):
    """On several ranks a message-passing model's features travel by LAMMPS's ghost
    communication, row for row over every atom, so every atom needs a model type: a NULL type
    is a LAMMPS error that says so and what to do, not a crash or wrong numbers (on one rank
    NULL atoms are left out, as for every model)."""
    model = MODELS / "test_model_dpa2.pth"
    write_data(tmp_path / "system.data", *perturbed(*tllzo(), seed=39, sigma=0.05))
    r = lammps(tmp_path / "np2", f"units metal\natom_style atomic\nread_data ../system.data\n"
               f"pair_style llzo_dp {model}\npair_coeff * * Li La NULL O\nrun 0\n", np_ranks=2)
    assert r.returncode > 0, r.output[-2000:]
    assert any("NULL" in e and "one MPI rank" in e for e in r.errors()), r.output[-2000:]


def test_fparam_and_aparam_reach_the_model_and_equal_deeppot(tmp_path):
    """A model trained with one frame and one atomic parameter (train_variant.sh params): the
    `fparam` and `aparam` keywords reach forward_lower (TorchScript; the native evaluator names
    the reason it does not take the model) and equal DeepPot given the same values within
    1e-10, per-atom virial included; other values give another energy, so the values are used
    (it stopped at load with "needs 1 frame parameters (fparam)")."""
    from deepmd.infer import DeepPot

    model = MODELS / "test_model_params.pth"
    cell, pos, types = perturbed(*tllzo(), seed=40, sigma=0.1, strain=0.01, tilt=(0.4, -0.3, 0.2))
    dp = DeepPot(str(model))
    energies = []
    for k, (fp, ap) in enumerate([((0.8,), (1.2,)), ((1.3,), (0.6,))]):
        (tmp_path / str(k)).mkdir()
        r, d, ref = run_both(tmp_path / str(k), dp, cell, pos, types, model=model, backend="torch", fparam=fp, aparam=ap)
        check_against_deeppot(r, d, ref)
        energies.append(ref[0])
    assert abs(energies[0] - energies[1]) > 1e-3, energies


@pytest.mark.parametrize("case", ["missing", "not_taken", "wrong_count"])
def test_fparam_and_aparam_mismatches_are_refused_with_the_fix(tmp_path, case):
    """A model that needs parameters run without them, parameters given to a model that takes
    none, and a wrong count: a LAMMPS error naming the keyword and the model's count."""
    params, plain = MODELS / "test_model_params.pth", MODELS / "test_model.pth"
    style, expected = {
        "missing": (f"{params} aparam 1.0", "needs 1 frame parameters: add 'fparam' with 1 value(s)"),
        "not_taken": (f"{plain} fparam 1.0", "'fparam' is given, but"),
        "wrong_count": (f"{params} fparam 1.0 aparam 1.0 2.0", "'aparam' has 2 value(s), but"),
    }[case]
    write_data(tmp_path / "system.data", *tllzo())
    r = run_zero(tmp_path, style)
    assert r.returncode > 0, r.output[-2000:]
    assert any(expected in e for e in r.errors()), r.errors() or r.output[-2000:]
