#!/usr/bin/env python3
"""Golden values for the regression suite (tests/test_regression.py): DeePMD-kit's own Python
DeepPot evaluates the shipped LLZO model on displaced t-LLZO supercells (1x1x1 and 2x1x1).

    python tests/golden/make_golden.py      # after the shipped model changes; commit the output

Writes tests/golden/tllzo_<n>.data (the frames) and tests/golden/shipped_model.json (energy,
forces, pressure tensor, and the model's sha256 so a stale file is caught)."""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
from llzo_dp_tools.lammps import NKTV2P_METAL, perturbed, tllzo, write_data

MODEL = ROOT / "models" / "llzo" / "llzo_dp_model.pth"
CASES = {"1x1x1": dict(cells=(1, 1, 1), seed=101), "2x1x1": dict(cells=(2, 1, 1), seed=102)}


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def main():
    from deepmd import __version__ as dp_version
    from deepmd.infer import DeepPot

    dp = DeepPot(str(MODEL))
    out = dict(model="models/llzo/llzo_dp_model.pth", model_sha256=sha256(MODEL), deepmd_kit=dp_version,
               units="metal: eV, eV/Å, bar (pressure without kinetic part, order xx yy zz xy xz yz)", cases={})
    for name, c in CASES.items():
        cell, pos, types = perturbed(*tllzo(*c["cells"]), seed=c["seed"], sigma=0.05)
        data = HERE / f"tllzo_{name}.data"
        write_data(data, cell, pos, types)
        e, f, v = dp.eval(pos.reshape(1, -1), cell.reshape(1, 9), (np.asarray(types) - 1).tolist())
        vol = abs(np.linalg.det(cell))
        v = v.reshape(9)
        press = v[[0, 4, 8, 3, 6, 7]] / vol * NKTV2P_METAL
        out["cases"][name] = dict(data=data.name, natoms=len(pos), energy=float(e.item()),
                                  forces=f.reshape(-1, 3).tolist(), pressure=press.tolist())
        print(f"{name}: {len(pos)} atoms, E = {e.item():.10f} eV, max |F| = {np.abs(f).max():.4f} eV/Å")
    tmp = HERE / ".shipped_model.json.tmp"
    tmp.write_text(json.dumps(out, indent=1) + "\n")
    os.replace(tmp, HERE / "shipped_model.json")


if __name__ == "__main__":
    main()
