"""Shipping checks for an LLZO DP model against the reference method it was trained on:

- the 0 K lattice of t-LLZO (192 atoms, symmetry kept): a, c and c/a within 0.1 %;
- E(V) of t-LLZO (96-atom cell, experimental c/a, volume 0.94-1.06 x experiment) and E(c/a) at the
  experimental volume (c/a 0.94-1.00), fractional coordinates kept: within 2 meV/atom, each curve
  taken relative to its own middle point;
- the energy of the Li-disordered cells of the DFT validation set (dft/frames.json) relative to
  each method's own relaxed t-LLZO: within 3 meV/atom.

The reference method's numbers are written once to tests/golden/shipping_<method>.json (the suite's
test_shipped_model.py reads them, so the suite needs no CHGNet or SevenNet); the model's and the
comparison to shipping_checks.json and .md here.

    python shipping_checks.py --reference chgnet --golden     # the reference's numbers (once)
    python shipping_checks.py --model llzo_dp_model.pth --reference sevennet   # the shipped model
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from llzo_dp_tools import lattice
from llzo_dp_tools import structures as L

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent.parent / "tests" / "golden"
A_EXP, C_EXP = L.LATTICES["exp"]
V_SCALES = (0.94, 0.96, 0.98, 1.00, 1.02, 1.04, 1.06)
CA_VALUES = (0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 1.00)
TOL_LATTICE = 0.1e-2      # relative
TOL_CURVE = 2.0e-3        # eV/atom
TOL_DISORDER = 3.0e-3     # eV/atom


def ev_frames() -> list[L.Structure]:
    return [L.primitive_tllzo((A_EXP * s ** (1 / 3), C_EXP * s ** (1 / 3))) for s in V_SCALES]


def ca_frames() -> list[L.Structure]:
    v = A_EXP * A_EXP * C_EXP
    return [L.primitive_tllzo(((v / ca) ** (1 / 3), (v / ca) ** (1 / 3) * ca)) for ca in CA_VALUES]


def disordered_frames() -> list[L.Structure]:
    doc = json.loads((HERE / "dft" / "frames.json").read_text())
    return [L.Structure(d["cell"], d["positions"], d["symbols"], {"name": d["name"]})
            for d in doc if d["family"] == "li_disordered"]


def measure(method: str) -> dict:
    """Every number the checks compare, for one method (reference name or model path)."""
    calc, name = lattice.calculator(method)
    lat = lattice.tllzo_lattice(calc)
    relaxed = lat.pop("structure")
    e_tllzo = float(lattice.energies([relaxed], calc)[0])
    ev = lattice.energies(ev_frames(), calc)
    ca = lattice.energies(ca_frames(), calc)
    dis = lattice.energies(disordered_frames(), calc)
    mid = len(V_SCALES) // 2
    return {"method": name, "lattice": lat,
            "E_V_meV_atom": (1000 * (ev - ev[mid])).tolist(), "V_scales": list(V_SCALES),
            "E_ca_meV_atom": (1000 * (ca - ca[mid])).tolist(), "ca_values": list(CA_VALUES),
            "disordered_minus_tllzo_meV_atom": (1000 * (dis - e_tllzo)).tolist()}


def compare(model: dict, ref: dict) -> list[dict]:
    """One row per check: measured deviation, tolerance, pass."""
    rows = []
    for key in ("a", "c", "c_over_a"):
        d = model["lattice"][key] / ref["lattice"][key] - 1
        rows.append({"check": f"0 K {key} (relative)", "model": model["lattice"][key], "reference": ref["lattice"][key],
                     "deviation": d, "tolerance": TOL_LATTICE, "pass": abs(d) <= TOL_LATTICE})
    for key, tol in (("E_V_meV_atom", TOL_CURVE), ("E_ca_meV_atom", TOL_CURVE),
                     ("disordered_minus_tllzo_meV_atom", TOL_DISORDER)):
        d = float(np.max(np.abs(np.array(model[key]) - np.array(ref[key]))))
        rows.append({"check": f"{key} (max |diff|, meV/atom)", "model": model[key], "reference": ref[key],
                     "deviation": d, "tolerance": 1000 * tol, "pass": d <= 1000 * tol})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", default="sevennet",
                    help="the model's reference method: sevennet (the shipped model's) or chgnet")
    ap.add_argument("--model", type=Path, default=None, help="frozen DP model to check")
    ap.add_argument("--golden", action="store_true", help="(re)compute the reference's numbers")
    ap.add_argument("--out", type=Path, default=HERE, help="where shipping_checks.json/.md go (default: here)")
    args = ap.parse_args()
    golden = GOLDEN / f"shipping_{args.reference}.json"
    if args.golden or not golden.is_file():
        L._atomic_write_text(golden, json.dumps(measure(args.reference), indent=1) + "\n")
        print(f"wrote {golden}")
    if args.model is None:
        return 0
    ref = json.loads(golden.read_text())
    model = measure(str(args.model))
    rows = compare(model, ref)
    args.out.mkdir(parents=True, exist_ok=True)
    L._atomic_write_text(args.out / "shipping_checks.json", json.dumps({"model": model, "reference": ref, "checks": rows},
                                                          indent=1, default=float) + "\n")
    md = [f"# Shipping checks: {model['method']} against {ref['method']}", "",
          "| check | deviation | tolerance | pass |", "|---|---|---|---|"]
    md += [f"| {r['check']} | {r['deviation']:.4g} | {r['tolerance']:.4g} | {'yes' if r['pass'] else 'NO'} |" for r in rows]
    L._atomic_write_text(args.out / "shipping_checks.md", "\n".join(md) + "\n")
    print("\n".join(md))
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
