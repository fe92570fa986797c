"""Convergence of the DFT-PBE labels on one 96-atom t-LLZO frame (crystal_exp_r05 of frames.json):
plane-wave cutoff series at the Gamma point, then the k-point error (2x2x2 Monkhorst-Pack,
Gamma-centred, against Gamma) at the chosen cutoff. Differences are against the highest cutoff:
energy per atom, force RMS (all atoms and per element), stress components, and the stress
anisotropy szz - (sxx + syy)/2 that decides c/a. Writes convergence.json; dft README quotes it.

Forces and the stress anisotropy converge by 500 eV, the isotropic stress does not (GPAW's O setup
is hard: tens of GPa of Pulay stress). The labels are computed at 500 eV and their stress shifted
by the isotropic Pulay correction sigma(900 eV) - sigma(500 eV), measured on PULAY_FRAMES (a
crystal and a 900 K frame); their spread is the correction's error.

    python convergence.py [--workers 2] [--kpoints] [--write-only]

--write-only writes convergence.json from the runs finished so far and computes none.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from llzo_dp_tools import dft
from llzo_dp_tools import structures as L

HERE = Path(__file__).resolve().parent
GPA = 160.21766208
CUTOFFS = (500, 700, 900)
PULAY_FRAMES = ("crystal_exp_r05", "md_900K_0")
CHOSEN = 500  # the validation set's cutoff, with the isotropic Pulay stress of PULAY_FRAMES corrected


def load_frames(names=None) -> list[L.Structure]:
    doc = json.loads((HERE / "frames.json").read_text())
    out = [L.Structure(d["cell"], d["positions"], d["symbols"],
                       {k: v for k, v in d.items() if k not in ("cell", "positions", "symbols")}) for d in doc]
    return out if names is None else [s for s in out if s.info["name"] in names]


def compare(s: L.Structure, r: dft.DftResult, ref: dft.DftResult) -> dict:
    df = r.forces - ref.forces
    sym = np.array(s.symbols)
    ds = (r.stress - ref.stress) * GPA
    aniso = lambda st: (st[2, 2] - (st[0, 0] + st[1, 1]) / 2) * GPA  # noqa: E731
    return {"dE_meV_per_atom": 1000 * (r.energy - ref.energy) / len(s),
            "dF_rms_meV_A": 1000 * float(np.sqrt(np.mean(df ** 2))),
            **{f"dF_rms_{el}_meV_A": 1000 * float(np.sqrt(np.mean(df[sym == el] ** 2))) for el in ("Li", "La", "Zr", "O")},
            "dF_max_meV_A": 1000 * float(np.abs(df).max()),
            "dstress_iso_GPa": float(np.trace(ds) / 3), "dstress_max_GPa": float(np.abs(ds).max()),
            "anisotropy_GPa": aniso(r.stress), "d_anisotropy_GPa": aniso(r.stress) - aniso(ref.stress),
            "pressure_GPa": float(-np.trace(r.stress) * GPA / 3), "wall_s": r.wall_s,
            "scf_iterations": r.scf_iterations}


def run(jobs: list, workers: int, compute: bool) -> list:
    return dft.label_jobs(jobs, workers=workers) if compute else dft.cached(jobs)


def pulay(frames: list[L.Structure], workers: int, compute: bool = True) -> dict:
    """Isotropic sigma(max cutoff) - sigma(CHOSEN) per frame (GPa), and their mean."""
    hi, lo = dft.DftSettings(ecut=max(CUTOFFS)), dft.DftSettings(ecut=CHOSEN)
    res = run([(s, st, "single") for s in frames for st in (lo, hi)], workers, compute)
    per = {}
    for k, s in enumerate(frames):
        r_lo, r_hi = res[2 * k], res[2 * k + 1]
        if r_lo is not None and r_hi is not None:
            d = (r_hi.stress - r_lo.stress) * GPA
            per[s.info["name"]] = {"iso_GPa": float(np.trace(d) / 3), "d_anisotropy_GPa":
                                   float(d[2, 2] - (d[0, 0] + d[1, 1]) / 2), "dF_rms_meV_A":
                                   1000 * float(np.sqrt(np.mean((r_hi.forces - r_lo.forces) ** 2)))}
    iso = [v["iso_GPa"] for v in per.values()]
    return {"ecut": CHOSEN, "reference_cutoff": max(CUTOFFS), "frames": per,
            "correction_GPa": float(np.mean(iso)) if iso else None,
            "spread_GPa": float(np.ptp(iso)) if len(iso) > 1 else None}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kpoints", action="store_true", help="also the 2x2x2 k-mesh at the chosen cutoff")
    ap.add_argument("--write-only", action="store_true", help="write what is finished, compute nothing")
    args = ap.parse_args()
    compute = not args.write_only
    (s,) = load_frames([PULAY_FRAMES[0]])
    res = dict(zip(CUTOFFS, run([(s, dft.DftSettings(ecut=e), "single") for e in CUTOFFS], args.workers, compute)))
    # differences against the highest cutoff finished (max(CUTOFFS) once it is)
    top = max((e for e in CUTOFFS if res[e] is not None), default=None)
    out = {"frame": s.info["name"], "reference_cutoff": top, "kpts": "Gamma",
           "cutoff_series": {e: compare(s, res[e], res[top]) for e in CUTOFFS if res[e] is not None},
           "pulay": pulay(load_frames(PULAY_FRAMES), args.workers, compute)}
    if args.kpoints:
        (g, k) = run([(s, dft.DftSettings(ecut=CHOSEN), "single"),
                      (s, dft.DftSettings(ecut=CHOSEN, kpts=(2, 2, 2)), "single")], args.workers, compute)
        if g is not None and k is not None:
            out["gamma_vs_k222"] = {"ecut": CHOSEN, **compare(s, g, k)}
    L._atomic_write_text(HERE / "convergence.json", json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
