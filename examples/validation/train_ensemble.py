#!/usr/bin/env python3
"""Three more LLZO models for the 4-model deviation of the uncertainty validation: the shipped
model's architecture and training set, other seeds (network initialisation and batch order),
and a SHORT schedule (--steps, default 3000; lr 1e-3 -> 1e-5) (minutes to an hour on one CPU thread each).
Model 1 of the ensemble is the shipped model itself.

    python examples/validation/train_ensemble.py [--steps 3000] [--seeds 101 202 303]

Each member: ensemble/seed<S>/input.json, checkpoints there (resumed if present), frozen to
ensemble/seed<S>/model.pth (temp file + rename). One CPU thread each, run one after another.
"""

import argparse
import glob
import json
import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRAIN_DIR = HERE.parents[1] / "models" / "llzo" / "train"
ENV = dict(os.environ, OMP_NUM_THREADS="1", DP_INTRA_OP_PARALLELISM_THREADS="1", DP_INTER_OP_PARALLELISM_THREADS="1")


def member_input(seed, steps, work):
    cfg = json.loads((TRAIN_DIR / "input_hybrid.json").read_text())
    cfg["_comment"] = f"4-model deviation member, seed {seed}, {steps} steps (short schedule): see train_ensemble.py"
    for d in cfg["model"]["descriptor"]["list"]:
        d["seed"] = seed
    cfg["model"]["fitting_net"]["seed"] = seed
    cfg["learning_rate"] = {"type": "exp", "start_lr": 1e-3, "stop_lr": 1e-5, "decay_steps": 200}
    for part in ("training_data", "validation_data"):
        cfg["training"][part]["systems"] = [os.path.relpath(TRAIN_DIR / s, work) for s in cfg["training"][part]["systems"]]
    cfg["training"].update({"numb_steps": steps, "seed": seed, "disp_file": "lcurve.out", "disp_freq": 500,
                            "save_freq": 500, "save_ckpt": "model.ckpt", "max_ckpt_keep": 1})
    return cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    a = ap.parse_args()
    for seed in a.seeds:
        work = HERE / "ensemble" / f"seed{seed}"
        if (work / "model.pth").exists():
            print(f"seed {seed}: done")
            continue
        work.mkdir(parents=True, exist_ok=True)
        (work / "input.json").write_text(json.dumps(member_input(seed, a.steps, work), indent=2) + "\n")
        ck = sorted(glob.glob(str(work / "model.ckpt-*.pt")), key=lambda p: int(p.rsplit("-", 1)[1][:-3]))
        cmd = ["dp", "--pt", "train", "input.json"] + (["--restart", ck[-1]] if ck else [])
        print(f"seed {seed}: {'resuming from ' + ck[-1] if ck else 'training'} ({a.steps} steps)", flush=True)
        with open(work / "train.log", "a") as log:
            subprocess.run(cmd, cwd=work, env=ENV, check=True, stdout=log, stderr=subprocess.STDOUT)
        ck = sorted(glob.glob(str(work / "model.ckpt-*.pt")), key=lambda p: int(p.rsplit("-", 1)[1][:-3]))
        with open(work / "train.log", "a") as log:
            subprocess.run(["dp", "--pt", "freeze", "-c", ck[-1], "-o", ".model.tmp.pth"], cwd=work, env=ENV, check=True,
                           stdout=log, stderr=subprocess.STDOUT)
        os.replace(work / ".model.tmp.pth", work / "model.pth")
        for f in work.glob("model.ckpt*.pt"):  # the frozen model is what the validation needs
            f.unlink()
        for f in ("out.json", "input_v2_compat.json", "checkpoint"):
            (work / f).unlink(missing_ok=True)
        print(f"seed {seed}: wrote {work / 'model.pth'}", flush=True)


if __name__ == "__main__":
    main()
