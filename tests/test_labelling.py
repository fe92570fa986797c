"""The labelling stage: frames the coverage monitor dumped, labelled by a reference method (here
the test model through DeePMD-kit's own ASE calculator), cached by frame, written as deepmd/npy
systems that DeePMD-kit reads back."""
import numpy as np
import pytest

from checkout import TEST_MODEL
from llzo_dp_tools import labelling
from llzo_dp_tools import structures as L


def frames(n, seed):
    base = L.supercell(L.tetragonal_llzo("exp"), 1, 1, 1)
    rng = np.random.default_rng(seed)
    return [L.Structure(base.cell, base.positions + rng.normal(0, 0.05, base.positions.shape), list(base.symbols))
            for _ in range(n)]


def test_labels_match_deeppot_and_are_cached(tmp_path):
    from deepmd.infer import DeepPot

    fs = frames(3, 0)
    method = f"dp:{TEST_MODEL}"
    labels = labelling.label(fs, method, tmp_path / "cache")
    dp = DeepPot(str(TEST_MODEL))
    types = [["Li", "La", "Zr", "O"].index(x) for x in fs[0].symbols]
    for s, (e, f, v) in zip(fs, labels):
        e_ref, f_ref, v_ref = dp.eval(s.positions.reshape(1, -1), s.cell.reshape(1, -1), types)[:3]
        assert e == pytest.approx(float(e_ref.ravel()[0]), abs=1e-8)
        assert np.allclose(f, f_ref.reshape(-1, 3), atol=1e-8)
        assert np.allclose(v.ravel(), v_ref.ravel(), atol=1e-6)
    cached = sorted((tmp_path / "cache").rglob("*.npz"))
    assert len(cached) == 3
    mtimes = [p.stat().st_mtime_ns for p in cached]
    again = labelling.label(fs[:2] + frames(1, 5), method, tmp_path / "cache")  # two cached, one new
    assert len(sorted((tmp_path / "cache").rglob("*.npz"))) == 4
    assert [p.stat().st_mtime_ns for p in cached] == mtimes
    assert again[0][0] == labels[0][0]


def test_systems_round_trip_through_the_cli(tmp_path):
    src = tmp_path / "dumped"
    L.write_deepmd_npy(str(src / "step_000000010.npy"), frames(2, 1))
    L.write_deepmd_npy(str(src / "step_000000020.npy"), frames(1, 2))
    out = tmp_path / "labelled"
    assert labelling.main([str(src / "step_000000010.npy"), str(src / "step_000000020.npy"),
                           "--method", f"dp:{TEST_MODEL}", "--cache", str(tmp_path / "cache"), "-o", str(out)]) == 0
    systems = sorted(out.glob("sys_*"))
    assert len(systems) == 1  # same atoms, one system of 3 frames
    d = L.read_deepmd_npy(str(systems[0]))
    assert d["energy"].shape == (3,) and d["force"].shape == (3, 192 * 3) and d["virial"].shape == (3, 9)
    import dpdata
    assert dpdata.LabeledSystem(str(systems[0]), fmt="deepmd/npy").get_nframes() == 3
