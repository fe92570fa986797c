"""Scores reference methods and DP models against the DFT-PBE validation set (validation/).

For each method: energy RMSE per atom after removing one constant offset (every frame has the
same composition, so a method's energy zero is one number), force RMSE (all atoms), stress RMSE
(GPa, all six components), per family and over the set; and the E(c/a) curve at fixed volume
against DFT's with the stress anisotropy along it, and the c/a of its minimum (zero anisotropy;
and a quadratic fit of the energies). Methods: CHGNet 0.3.0 and
SevenNet-0 (reference.py) and any frozen DP model (DeePMD-kit DeepPot).

    python score.py [--methods chgnet sevennet] [--models ../llzo_dp_model.pth ...]

Writes scores.csv, scores.md and e_ca.csv / e_ca.png here, each whole (temp file, rename).
"""
from __future__ import annotations

import argparse
import csv
import io
import os
from pathlib import Path

import numpy as np

from llzo_dp_tools import structures as L

HERE = Path(__file__).resolve().parent
VALIDATION = HERE / "validation"
GPA = 160.21766208


def load_validation() -> dict[str, dict]:
    """family -> deepmd/npy arrays of the labelled frames."""
    out = {}
    for d in sorted(VALIDATION.iterdir()) if VALIDATION.is_dir() else []:
        if (d / "type.raw").is_file():
            out[d.name] = L.read_deepmd_npy(str(d))
    return out


def frames_of(sys_: dict) -> list[L.Structure]:
    syms = [sys_["type_map"][t] for t in sys_["types"]]
    return [L.Structure(b.reshape(3, 3), c.reshape(-1, 3), syms) for c, b in zip(sys_["coord"], sys_["box"])]


def predictor(method: str):
    """(display name, frame -> (energy, forces, virial)) for a reference method or a DP model."""
    from llzo_dp_tools.lattice import ase_atoms, calculator
    from llzo_dp_tools.reference import Reference

    calc, name = calculator(method)
    return name, lambda s: Reference._read(ase_atoms(s, calc))


def conventional_ca(cell: np.ndarray) -> float:
    """c/a of the conventional cell from the body-centred primitive rows (see primitive_tllzo)."""
    a1, a2, a3 = cell
    a = (np.linalg.norm(a2 + a3) + np.linalg.norm(a1 + a3)) / 2
    return float(np.linalg.norm(a1 + a2) / a)


def evaluate(predict, data: dict) -> dict:
    """Per family: arrays of (dft, method) energies, forces, virials, volumes, natoms."""
    out = {}
    for fam, sys_ in data.items():
        frames = frames_of(sys_)
        pred = [predict(s) for s in frames]
        out[fam] = {"e_ref": sys_["energy"], "e": np.array([p[0] for p in pred]),
                    "f_ref": sys_["force"].reshape(len(frames), -1, 3), "f": np.array([p[1] for p in pred]),
                    "v_ref": sys_["virial"].reshape(-1, 3, 3), "v": np.array([np.reshape(p[2], (3, 3)) for p in pred]),
                    "vol": np.array([s.volume for s in frames]), "n": len(frames[0]),
                    "ca": np.array([conventional_ca(s.cell) for s in frames])}
    return out


def metrics(ev: dict) -> dict[str, dict]:
    offset = np.mean(np.concatenate([(r["e"] - r["e_ref"]) / r["n"] for r in ev.values()]))
    rows = {}
    for fam, r in list(ev.items()) + [("all", None)]:
        parts = list(ev.values()) if r is None else [r]
        de = np.concatenate([(p["e"] - p["e_ref"]) / p["n"] - offset for p in parts])
        df = np.concatenate([(p["f"] - p["f_ref"]).ravel() for p in parts])
        ds = np.concatenate([((p["v"] - p["v_ref"]) / p["vol"][:, None, None]).ravel() * GPA for p in parts])
        rows[fam] = {"frames": int(sum(len(p["e"]) for p in parts)), "E_rmse_meV_atom": 1000 * np.sqrt(np.mean(de ** 2)),
                     "F_rmse_meV_A": 1000 * np.sqrt(np.mean(df ** 2)), "stress_rmse_GPa": np.sqrt(np.mean(ds ** 2))}
    return rows


def ca_minimum(ca: np.ndarray, e: np.ndarray) -> float:
    c2, c1, _ = np.polyfit(ca, e, 2)
    return float(-c1 / (2 * c2)) if c2 > 0 else float("nan")


def anisotropy(v: np.ndarray, vol: np.ndarray) -> np.ndarray:
    """sigma_zz - (sigma_xx + sigma_yy)/2 in GPa (ASE's sign, stress = -virial / V) per frame."""
    s = -v / vol[:, None, None] * GPA
    return s[:, 2, 2] - (s[:, 0, 0] + s[:, 1, 1]) / 2


def ca_zero_anisotropy(ca: np.ndarray, an: np.ndarray) -> float:
    """c/a where the anisotropy changes sign (linear between the two points around it; ca sorted):
    the minimum of E(c/a) at fixed volume and fractional coordinates, read from the stress (the
    derivative along the path) rather than from energy differences, which carry the plane-wave
    basis' cell-to-cell noise."""
    for k in range(len(ca) - 1):
        if an[k] <= 0 < an[k + 1] or an[k] >= 0 > an[k + 1]:
            return float(ca[k] - an[k] * (ca[k + 1] - ca[k]) / (an[k + 1] - an[k]))
    return float("nan")


def plot_ca(curves: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.6))
    for name, c in curves.items():
        style = "o-" if name == "DFT-PBE" else ".--"
        ax.plot(c["ca"], 1000 * (c["e"] - c["e"].min()), style, label=name)
        bx.plot(c["ca"], c["aniso"], style, label=name)
    ax.set_xlabel("c/a (fixed volume, fractional coordinates kept)")
    ax.set_ylabel("E - min (meV/atom)")
    bx.axhline(0, color="k", lw=0.5)
    bx.set_xlabel("c/a")
    bx.set_ylabel("σzz − (σxx+σyy)/2 (GPa)")
    bx.legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_name("." + path.name + ".tmp.png")
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)


def ca_curve(r: dict, ref: bool) -> dict:
    o = np.argsort(r["ca"])
    e, v = (r["e_ref"], r["v_ref"]) if ref else (r["e"], r["v"])
    return {"ca": r["ca"][o], "e": e[o] / r["n"], "aniso": anisotropy(v[o], r["vol"][o])}


def write_ca(curves: dict[str, dict]) -> list[str]:
    """e_ca.csv and e_ca.png; the markdown table of each curve's c/a at its minimum."""
    rows = io.StringIO()
    cw = csv.writer(rows)
    cw.writerow(["curve", "c_over_a", "E_minus_min_meV_atom", "anisotropy_GPa"])
    md = ["", "c/a of the minimum at the experimental volume (fractional coordinates kept):", "",
          "| curve | points | c/a at zero stress anisotropy | c/a at the E minimum (quadratic fit) |", "|---|---|---|---|"]
    for name, c in curves.items():
        for x, y, z in zip(c["ca"], 1000 * (c["e"] - c["e"].min()), c["aniso"]):
            cw.writerow([name, f"{x:.4f}", f"{y:.3f}", f"{z:.3f}"])
        md.append(f"| {name} | {len(c['ca'])} | {ca_zero_anisotropy(c['ca'], c['aniso']):.4f} | "
                  f"{ca_minimum(c['ca'], c['e']):.4f} |")
    L._atomic_write_text(HERE / "e_ca.csv", rows.getvalue())
    plot_ca(curves, HERE / "e_ca.png")
    return md


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", nargs="*", default=["chgnet", "sevennet"])
    ap.add_argument("--models", nargs="*", type=Path, default=[HERE.parent / "llzo_dp_model.pth"])
    args = ap.parse_args()
    data = load_validation()
    if not data:
        raise SystemExit(f"no labelled frames under {VALIDATION}: run label_validation_set.py first")
    predictors = [predictor(m) for m in args.methods + [str(p) for p in args.models]]
    table, curves = io.StringIO(), {}
    w = csv.writer(table)
    w.writerow(["method", "family", "frames", "E_rmse_meV_atom", "F_rmse_meV_A", "stress_rmse_GPa"])
    md = ["| method | family | frames | E RMSE (meV/atom) | F RMSE (meV/Å) | stress RMSE (GPa) |", "|---|---|---|---|---|---|"]
    for name, predict in predictors:
        ev = evaluate(predict, data)
        for fam, m in metrics(ev).items():
            w.writerow([name, fam, m["frames"], f"{m['E_rmse_meV_atom']:.2f}", f"{m['F_rmse_meV_A']:.1f}",
                        f"{m['stress_rmse_GPa']:.3f}"])
            md.append(f"| {name} | {fam} | {m['frames']} | {m['E_rmse_meV_atom']:.2f} | {m['F_rmse_meV_A']:.0f} | {m['stress_rmse_GPa']:.2f} |")
        if "c_over_a" in ev:
            curves.setdefault("DFT-PBE", ca_curve(ev["c_over_a"], ref=True))
            curves[name] = ca_curve(ev["c_over_a"], ref=False)
    if curves:
        md += write_ca(curves)
    L._atomic_write_text(HERE / "scores.csv", table.getvalue())
    L._atomic_write_text(HERE / "scores.md", "\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
