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


def test_fine_tune_input_starts_small_and_weighs_energy():
    cfg = training.training_input(TEMPLATE, [DATA / "training" / "prim96"], [], steps=30, seed=7, fine_tune=True)
    plain = training.training_input(TEMPLATE, [DATA / "training" / "prim96"], [], steps=30, seed=7)
    assert cfg["learning_rate"]["start_lr"] == 1e-4 and cfg["learning_rate"]["stop_lr"] <= 1e-4
    assert cfg["loss"]["start_pref_e"] == 0.1 and cfg["loss"]["start_pref_f"] == 100.0
    assert cfg["loss"]["limit_pref_e"] == plain["loss"]["limit_pref_e"]  # the limits stay the template's
    assert cfg["model"] == plain["model"]


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


def run_job_command(workdir, init_model):
    """Runs the job's shell command with a stand-in `dp` that logs its arguments and, when
    training, leaves a checkpoint (as a run killed after its first save would)."""
    import os
    import subprocess

    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "dp"
    fake.write_text('#!/bin/sh\necho "$@" >> calls.txt\n'
                    'case "$2" in train) touch model.ckpt-10.pt; ln -sf model.ckpt-10.pt model.ckpt.pt ;;\n'
                    'change-bias) touch .biased.pt ;;\n'
                    'freeze) touch .model.tmp.pth ;; esac\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    subprocess.run(["bash", "-c", training.command(init_model)], cwd=workdir, env=env, check=True)
    return (workdir / "calls.txt").read_text().splitlines()


def test_a_rerun_job_continues_from_its_checkpoint(tmp_path):
    """First run: from the previous model; the same job run again in the directory it left
    (a killed job that dpdispatcher resubmits): from the newest checkpoint, not from the start."""
    first = run_job_command(tmp_path, TEST_MODEL)
    assert first[0].startswith("--pt train input.json") and f"--init-frz-model {TEST_MODEL.resolve()}" in first[0]
    assert "--restart" not in first[0] and first[1].startswith("--pt change-bias model.ckpt.pt -f systems.txt")
    assert first[2].startswith("--pt freeze -c .biased.pt")
    (tmp_path / "model.pth").unlink()
    again = run_job_command(tmp_path, TEST_MODEL)[len(first):]
    assert "--restart model.ckpt.pt" in again[0] and "--init-frz-model" not in again[0]
    assert (tmp_path / "model.pth").exists()
    cfg = training.training_input(TEMPLATE, [DATA / "training" / "prim96"], [], steps=30, seed=7)
    assert cfg["training"]["save_ckpt"] == "model.ckpt"  # the name the command looks for


def test_a_fine_tune_leaves_no_energy_offset(tmp_path):
    """Labels shifted by +0.1 eV/atom (the same composition everywhere): 20 steps of fine-tuning
    cannot learn the shift, the least-squares bias refit before freezing does, so the frozen
    model's mean energy error on its training frames is zero, not -0.1 eV/atom."""
    import shutil

    import numpy as np
    from deepmd.infer import DeepPot

    from llzo_dp_tools import heldout

    shifted = []
    for src in sorted(p for p in (DATA / "training").iterdir() if p.is_dir()):
        dst = tmp_path / "data" / src.name
        shutil.copytree(src, dst)
        n = len((dst / "type.raw").read_text().split())
        for e in dst.glob("set.*/energy.npy"):
            np.save(e, np.load(e) + 0.1 * n)
        shifted.append(dst)
    cfg = training.training_input(TEMPLATE, shifted, [], steps=20, seed=5)
    model = training.train(tmp_path / "train", cfg, init_model=TEST_MODEL)
    dp, old = DeepPot(str(model)), DeepPot(str(TEST_MODEL))
    new_err = np.concatenate([heldout.errors(dp, s)[0] for s in shifted])
    old_err = np.concatenate([heldout.errors(old, s)[0] for s in shifted])
    assert abs(old_err.mean() + 0.1) < 0.02  # the starting model is 0.1 eV/atom below the labels
    assert abs(new_err.mean()) < 1e-3
    assert (tmp_path / "train" / "bias.log").exists()
