#!/usr/bin/env python3
"""Why are the simple compounds off? Two checks on a model (default: the shipped one), with
DeePMD-kit's DeepPot on data/:

1. per-type energy-bias refit: least squares of the four per-type shifts that best remove the
   per-atom energy errors of all training frames; per system, mean and RMSE before and after
   (a constant per-composition offset would vanish here);
2. for bcc Li, ZrO2 and Li2O: correlation of the per-atom energy error with the volume per atom,
   and the RMSE left after removing the linear trend (a wrong E(V) slope shows up here).

    python examples/model/compound_errors.py [--model llzo_dp_model.pth]
"""

import argparse
import glob
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pipeline"))
import llzo_structures as L  # noqa: E402


def frames(dp, part):
    out = []
    for d in sorted(glob.glob(os.path.join(HERE, "data", part, "*"))):
        x = L.read_deepmd_npy(d)
        t = x["types"]
        pe = dp.eval(x["coord"], x["box"], t.tolist())[0].reshape(-1)
        vol = np.abs(np.linalg.det(x["box"].reshape(-1, 3, 3)))
        for k, e in enumerate(x["energy"]):
            out.append(dict(system=os.path.basename(d), count=np.bincount(t, minlength=4), ref=e, pred=pe[k],
                            n=len(t), vol=vol[k]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(HERE, "llzo_dp_model.pth"))
    a = ap.parse_args()
    from deepmd.infer import DeepPot

    dp = DeepPot(a.model)
    sets = {p: frames(dp, p) for p in ("training", "test")}
    tr = sets["training"]
    A = np.array([f["count"] / f["n"] for f in tr])
    y = np.array([(f["ref"] - f["pred"]) / f["n"] for f in tr])
    shift, *_ = np.linalg.lstsq(A, y, rcond=None)
    print(f"model {a.model}\nper-type energy shifts (eV; Li La Zr O): {np.round(shift, 4)}")
    for part, fr in sets.items():
        print(part)
        for name in sorted({f["system"] for f in fr}):
            rr = [f for f in fr if f["system"] == name]
            e0 = np.array([(f["pred"] - f["ref"]) / f["n"] for f in rr]) * 1e3
            e1 = np.array([(f["pred"] + f["count"] @ shift - f["ref"]) / f["n"] for f in rr]) * 1e3
            print(f"  {name:22s} mean {e0.mean():7.2f} rmse {np.sqrt((e0 ** 2).mean()):6.2f} meV/atom"
                  f" -> after the shift: mean {e1.mean():7.2f} rmse {np.sqrt((e1 ** 2).mean()):6.2f}")
    print("energy error against volume (training frames)")
    for name in ("crys_Li", "crys_ZrO2", "crys_Li2O"):
        rr = [f for f in tr if f["system"] == name]
        v = np.array([f["vol"] / f["n"] for f in rr])
        e = np.array([(f["pred"] - f["ref"]) / f["n"] for f in rr]) * 1e3
        res = e - np.polyval(np.polyfit(v, e, 1), v)
        print(f"  {name}: corr {np.corrcoef(v, e)[0, 1]:.2f}; rmse {np.sqrt((e ** 2).mean()):.1f} -> "
              f"{np.sqrt((res ** 2).mean()):.1f} meV/atom without the linear trend")


if __name__ == "__main__":
    main()
