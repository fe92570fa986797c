"""`llzo-dp eval` (the core without LAMMPS, own periodic images) against DeePMD-kit's
DeepPot on a strained triclinic cell, with either evaluator: energy, forces and virial
within 1e-10."""

import json
import subprocess

import numpy as np
import pytest

from llzo_dp_tools.lammps import perturbed, tllzo, write_data
from checkout import ROOT, TEST_MODEL

CLI = ROOT / "target" / "release" / "llzo-dp"


DPA2_MODEL = ROOT / "tests" / "data" / "test_model" / "test_model_dpa2.pth"


@pytest.mark.parametrize("backend", ["torch", "native", "dpa2"])
def test_cli_eval_matches_deeppot(tmp_path, backend):
    """dpa2: the message-passing test model, its periodic images mapped to their atoms."""
    from deepmd.infer import DeepPot

    model = DPA2_MODEL if backend == "dpa2" else TEST_MODEL
    backend = "torch" if backend == "dpa2" else backend
    cell, pos, types = perturbed(*tllzo(), seed=51, sigma=0.1, strain=-0.01, tilt=(0.8, 0.4, -0.6))
    write_data(tmp_path / "frame.data", cell, pos, types)
    out = subprocess.run([str(CLI), "eval", str(model), str(tmp_path / "frame.data"), "--backend", backend],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["backend"].startswith("native" if backend == "native" else "TorchScript")
    e, f, v = DeepPot(str(model)).eval(pos.reshape(1, -1), cell.reshape(1, 9), (types - 1).tolist())[:3]
    assert abs(res["energy"] - e.item()) < 1e-10
    assert np.abs(np.array(res["forces"]) - f.reshape(-1, 3)).max() < 1e-10
    assert np.abs(np.array(res["virial"]) - v.reshape(9)).max() < 1e-10


def test_cli_reports_bad_input():
    out = subprocess.run([str(CLI), "eval", "missing.pth", "x.data"], capture_output=True, text=True)
    assert out.returncode == 1 and "model file 'missing.pth' not found" in out.stderr
