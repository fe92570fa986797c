"""The training stage: `dp --pt train` from the previous model (--init-frz-model) and `dp --pt
freeze`, as a dpdispatcher job on the local shell; the frozen model runs in DeepPot and stays
close to the model it started from after a few steps."""
import json

from checkout import ROOT, TEST_MODEL
from llzo_dp_tools import structures as L
from llzo_dp_tools import training

DATA = ROOT / "tests" / "data" / "test_model" / "data"
TEMPLATE = ROOT / "tests" / "data" / "test_model" / "input.json"


def test_input_replaces_systems_steps_and_seed(tmp_path):
    cfg = training.training_input(TEMPLATE, [DATA / "training" / "prim96"], [], steps=30, seed=7)
    assert cfg["training"]["training_data"]["systems"] == [str((DATA / "training" / "prim96").resolve())]
    assert "validation_data" not in cfg["training"]
    assert cfg["training"]["numb_steps"] == 30 and cfg["training"]["seed"] == 7
    assert cfg["model"] == json.loads(TEMPLATE.read_text())["model"]  # the architecture is kept


def test_fine_tune_from_the_previous_model(tmp_path):
    from deepmd.infer import DeepPot

    systems = sorted(p for p in (DATA / "training").iterdir() if p.is_dir())
    cfg = training.training_input(TEMPLATE, systems, [], steps=20, seed=3)
    model = training.train(tmp_path / "train", cfg, init_model=TEST_MODEL)
    assert model.exists() and (tmp_path / "train" / "lcurve.out").exists()
    s = L.tetragonal_llzo("exp")
    types = [["Li", "La", "Zr", "O"].index(x) for x in s.symbols]
    e_new = DeepPot(str(model)).eval(s.positions.reshape(1, -1), s.cell.reshape(1, -1), types)[0]
    e_old = DeepPot(str(TEST_MODEL)).eval(s.positions.reshape(1, -1), s.cell.reshape(1, -1), types)[0]
    # 20 steps from the old weights: close to the old model (a fresh net would be eVs per atom away)
    diff = abs(float(e_new.ravel()[0] - e_old.ravel()[0])) / len(types)
    assert 0.0 < diff < 0.05
    mtime = model.stat().st_mtime_ns
    assert training.train(tmp_path / "train", cfg, init_model=TEST_MODEL) == model  # done: not rerun
    assert model.stat().st_mtime_ns == mtime
