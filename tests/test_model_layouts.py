"""se_e2_a models in the layouts DeePMD-kit 3.2 writes, through `backend native`, against
DeepPot within 1e-10 (tests/data/test_model/train_layouts.sh builds them):

- "precision" left out of the input: DeePMD-kit's default, float64 weights; the native
  evaluator reads the dtype from the tensors, not the definition's precision string;
- type_one_side true (one embedding net per neighbor type) and false (one per type pair),
  both with "type_one_side" absent from the definition the model carries (as in DeePMD-kit's
  converted test models, e.g. deeppot_sea): the nets alone say which layout it is;
- the type_one_side model compressed by DeePMD-kit (one table per neighbor type);
- float32 weights: refused by the native evaluator with the reason, run by TorchScript.

LLZO_DP_DEEPPOT_SEA=<path to a .pth> adds DeePMD-kit's own se_e2_a test model (water, O H;
`dp convert-backend deeppot_sea.yaml deeppot_sea.pth` from DeePMD-kit's source/tests/infer)."""

import os
from pathlib import Path

import numpy as np
import pytest

from llzo_dp_tools.lammps import perturbed, read_dump, tllzo, write_data
from checkout import ROOT, lammps
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


def test_float32_weights_are_refused_by_native_and_run_by_torchscript(tmp_path):
    from deepmd.infer import DeepPot

    model = MODELS / "test_model_float32.pth"
    cell, pos, types = perturbed(*tllzo(), seed=32, sigma=0.1)
    write_data(tmp_path / "system.data", cell, pos, types)
    script = f"""units metal
atom_style atomic
read_data ../system.data
pair_style llzo_dp {model} backend {{backend}}
pair_coeff * * Li La Zr O
dump d all custom 1 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
thermo_style custom step pe
thermo_modify format float %.17g
run 0
"""
    native = lammps(tmp_path / "native", script.format(backend="native"))
    assert native.returncode != 0
    assert "cannot run with 'backend native'" in native.output and "weights in float32" in native.output
    assert "use 'backend auto' or 'backend torch'" in native.output
    auto = lammps(tmp_path / "auto", script.format(backend="auto"))
    assert auto.returncode == 0, auto.output[-2000:]
    assert "TorchScript (native evaluator not used: model: weights in float32" in auto.output
    e, f, _ = DeepPot(str(model)).eval(pos.reshape(1, -1), cell.reshape(1, 9), (types - 1).tolist())
    d = read_dump(tmp_path / "auto" / "dump.txt")[0]
    # float32 arithmetic on both sides, in different orders
    assert abs(auto.runs[0]["PotEng"][0] - e.item()) < 1e-3
    assert np.abs(np.stack([d["fx"], d["fy"], d["fz"]], axis=1) - f.reshape(-1, 3)).max() < 1e-3


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
