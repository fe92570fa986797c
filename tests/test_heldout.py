"""The held-out score the active-learning loop gives each iteration's model: RMSE of energy per
atom and of force components per system, family and overall, against a per-frame evaluation
through DeePMD-kit's ASE calculator (an independent path), with the signed mean energy error
beside the RMSE, and zero on the model's own labels."""
import json

import numpy as np

from checkout import ROOT, TEST_MODEL
from llzo_dp_tools import heldout, labelling

DATA = ROOT / "tests" / "data" / "test_model" / "data"


def per_frame_errors(system):
    from ase import Atoms
    from deepmd.calculator import DP

    calc = DP(model=str(TEST_MODEL))
    de, df = [], []
    for s, e, f in zip(labelling.read_frames(system), *stored_labels(system)):
        atoms = Atoms(symbols=s.symbols, positions=s.positions, cell=s.cell, pbc=True)
        atoms.calc = calc
        de.append((atoms.get_potential_energy() - e) / len(atoms))
        df.append((atoms.get_forces() - f).ravel())
    return np.array(de), np.concatenate(df)


def stored_labels(system):
    from llzo_dp_tools import structures as L

    d = L.read_deepmd_npy(str(system))
    n = len(d["types"])
    return d["energy"], d["force"].reshape(len(d["energy"]), n, 3)


def test_scores_match_a_per_frame_evaluation(tmp_path):
    systems = sorted(p for p in (DATA / "validation").iterdir() if p.is_dir())
    got = heldout.score(TEST_MODEL, systems)
    all_e, all_f = [], []
    for s in systems:
        de, df = per_frame_errors(s)
        row = got["systems"][s.name]
        assert row["frames"] == len(de)
        assert np.isclose(row["rmse_e"], 1000 * np.sqrt(np.mean(de ** 2)), rtol=1e-8)
        assert np.isclose(row["mean_e"], 1000 * np.mean(de), rtol=1e-8, atol=1e-9)
        assert np.isclose(row["rmse_f"], 1000 * np.sqrt(np.mean(df ** 2)), rtol=1e-8)
        all_e.append(de)
        all_f.append(df)
    assert np.isclose(got["all"]["rmse_f"], 1000 * np.sqrt(np.mean(np.concatenate(all_f) ** 2)), rtol=1e-8)
    assert got["all"]["rmse_f"] > 1.0  # the labels are not the model's own: a real error
    # no done/ records beside these systems: each is its own family
    assert set(got["families"]) == {s.name for s in systems}
    json.dumps(got)  # written as heldout.json


def test_a_model_scores_zero_on_its_own_labels(tmp_path):
    frames = labelling.read_frames(DATA / "validation" / "prim96")
    labels = labelling.label(frames, f"dp:{TEST_MODEL}", tmp_path / "cache")
    systems = labelling.write_systems(frames, labels, tmp_path / "own" / "test")
    got = heldout.score(TEST_MODEL, systems)
    assert got["all"]["rmse_e"] < 1e-6 and got["all"]["rmse_f"] < 1e-6


def test_families_come_from_the_dataset_records(tmp_path):
    (tmp_path / "done").mkdir()
    (tmp_path / "test" / "md_900K").mkdir(parents=True)
    (tmp_path / "done" / "md_900K.json").write_text(json.dumps({"name": "md_900K", "family": "hot"}))
    assert heldout.family_of(tmp_path / "test" / "md_900K") == "hot"
    assert heldout.family_of(tmp_path / "test" / "other") == "other"
