"""Compressed models ('dp --pt compress') run in llzo_dp through its own
deepmd::tabulate_fusion_se_a kernel and gradient (cpp/torch/tabulate_fusion.cpp), without
DeePMD-kit's op library in the LAMMPS process, and through the native evaluator's own
table lookup (src/model/native/): energy, forces, virial and per-atom energy (and, through
TorchScript, per-atom virial) against DeePMD-kit's DeepPot on the same compressed model
within 1e-10."""

import numpy as np
import pytest

from llzo_dp_tools.lammps import perturbed, tllzo
from test_reference_deeppot import check_against_deeppot, run_both


@pytest.fixture(scope="module")
def deeppot_compressed(compressed_model):
    from deepmd.infer import DeepPot

    return DeepPot(str(compressed_model))


@pytest.mark.parametrize("backend", ["torch", "native"])
@pytest.mark.parametrize("frame", ["orthogonal", "triclinic", "cluster"])
def test_compressed_model_matches_deepmd(tmp_path, compressed_model, deeppot_compressed, frame, backend):
    if frame == "orthogonal":
        cell, pos, types = perturbed(*tllzo(), seed=11, sigma=0.1)
    elif frame == "triclinic":
        cell, pos, types = perturbed(*tllzo(), seed=12, sigma=0.1, strain=0.03, tilt=(0.9, -0.6, 0.4))
    else:  # a non-periodic cluster: surface atoms with few neighbours, heavy padding
        cell, pos, types = perturbed(*tllzo(), seed=13, sigma=0.1)
        keep = np.linalg.norm(pos - pos.mean(axis=0), axis=1) < 6.5
        pos, types = pos[keep] + 10.0, types[keep]
        cell = np.diag([pos.max() + 10.0] * 3)
    r, d, ref = run_both(tmp_path, deeppot_compressed, cell, pos, types, periodic=frame != "cluster",
                         model=compressed_model, backend=backend)
    check_against_deeppot(r, d, ref)


@pytest.mark.parametrize("descriptor", ["se_e2_r", "se_e3", "hybrid", "dpa1_compressible", "dpa2_compressible"])
def test_compressed_other_descriptors_run_through_torchscript(tmp_path, descriptor, request):
    """Compressed se_e2_r, se_e3, hybrid se_e2_a + se_e3, DPA-1 (se_atten_v2 without attention layers) and
    DPA-2 (three-body repinit in strip mode) models call deepmd::tabulate_fusion_se_r, _se_t,
    _se_atten and _se_t_tebd, whose kernels and gradients the plugin provides
    (cpp/torch/tabulate_fusion*.cpp), and compressed se_e2_r runs on the native evaluator too:
    energy, forces, virial, per-atom energy and virial equal DeePMD-kit's DeepPot on the same
    compressed model within 1e-10 on a triclinic cell (they stopped with "compressed ...
    descriptors are not supported")."""
    from deepmd.infer import DeepPot

    from conftest import compress
    from test_model_layouts import MODELS

    if descriptor == "hybrid":
        model = request.getfixturevalue("compressed_hybrid_model")
    else:
        model = compress(MODELS / f"test_model_{descriptor}.pth", tmp_path)
    cell, pos, types = perturbed(*tllzo(), seed=41, sigma=0.15, strain=0.02, tilt=(0.7, -0.4, 0.3))
    dp = DeepPot(str(model))
    r, d, ref = run_both(tmp_path, dp, cell, pos, types, model=model, backend="torch")
    check_against_deeppot(r, d, ref)
    e = ref[0]
    print(f"\ncompressed {descriptor} vs DeepPot: |dE| {abs(r.runs[0]['PotEng'][0] - e):.1e} eV")
    if descriptor == "se_e2_r":  # the native evaluator reads se_e2_r's tables too
        (tmp_path / "native").mkdir()
        r, d, ref = run_both(tmp_path / "native", dp, cell, pos, types, model=model, backend="native")
        assert "native evaluator for se_e2_r, compressed" in r.output, r.output[-2000:]
        check_against_deeppot(r, d, ref)
